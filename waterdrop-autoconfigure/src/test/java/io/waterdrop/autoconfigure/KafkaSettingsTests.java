package io.waterdrop.autoconfigure;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.kafka.autoconfigure.DefaultKafkaProducerFactoryCustomizer;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.kafka.autoconfigure.KafkaConnectionDetails;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.Order;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.ProducerFactory;

import io.waterdrop.DeliveryReport;
import io.waterdrop.Message;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which Kafka settings a producer's client gets, and how the client is made and released.
 */
@Timeout(60)
class KafkaSettingsTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class, WaterDropLifecycleAutoConfiguration.class));

	@Test
	void bootsProducerPropertiesComeFirstWithoutItsClientId() {
		this.runner
			.withPropertyValues("spring.kafka.bootstrap-servers=localhost:9001", "spring.kafka.client-id=boot",
					"spring.kafka.producer.acks=1", "spring.kafka.producer.properties.batch.size=111",
					"spring.kafka.producer.properties.linger.ms=1", "waterdrop.kafka.linger.ms=2",
					"waterdrop.kafka.compression.type=lz4", "waterdrop.producers.orders.kafka.linger.ms=3",
					"waterdrop.producers.audit.kafka.acks=all")
			.run((context) -> {
				Map<String, Object> orders = kafka(context, "orders");
				assertThat(orders).containsEntry("acks", "1")
					.containsEntry("batch.size", "111")
					.containsEntry("compression.type", "lz4")
					.containsEntry("linger.ms", "3")
					.doesNotContainKey("client.id");
				Map<String, Object> audit = kafka(context, "audit");
				assertThat(audit).containsEntry("acks", "all").containsEntry("linger.ms", "2");
			});
	}

	@Test
	void connectionDetailsWinOverBootsProperties() {
		this.runner.withUserConfiguration(FixedConnectionDetails.class)
			.withPropertyValues("spring.kafka.bootstrap-servers=localhost:9001",
					"spring.kafka.producer.properties.security.protocol=SSL")
			.run((context) -> assertThat(kafka(context, "waterdropProducer"))
				.containsEntry("bootstrap.servers", List.of("localhost:9002"))
				.containsEntry("security.protocol", "PLAINTEXT"));
	}

	@Test
	void waterdropKafkaWinsOverConnectionDetailsAndTheProducersOwnWinsOverAll() {
		this.runner.withUserConfiguration(FixedConnectionDetails.class)
			.withPropertyValues("waterdrop.kafka.bootstrap.servers=localhost:9003",
					"waterdrop.producers.orders.kafka.bootstrap.servers=localhost:9004",
					"waterdrop.producers.audit.kafka.acks=all")
			.run((context) -> {
				assertThat(kafka(context, "orders")).containsEntry("bootstrap.servers", "localhost:9004");
				assertThat(kafka(context, "audit")).containsEntry("bootstrap.servers", "localhost:9003");
			});
	}

	/**
	 * A list written indexed, or as a YAML list, binds as keys {@code bootstrap.servers.0}, {@code .1}, which Kafka
	 * ignores: a Kafka setting's are one comma-separated value, as Kafka takes lists. Other keys stay as bound.
	 */
	@Test
	void aListWrittenIndexedUnderAKafkaMapIsOneCommaSeparatedValue() {
		this.runner
			.withPropertyValues("spring.kafka.bootstrap-servers=localhost:9001",
					"waterdrop.kafka.ssl.cipher.suites[0]=TLS_AES_128_GCM_SHA256",
					"waterdrop.kafka.ssl.cipher.suites[1]=TLS_AES_256_GCM_SHA384",
					"waterdrop.kafka.custom.list[0]=a",
					"waterdrop.producers.orders.kafka.bootstrap.servers[1]=localhost:9006",
					"waterdrop.producers.orders.kafka.bootstrap.servers[0]=localhost:9005",
					"waterdrop.producers.orders.kafka.bootstrap.servers[10]=localhost:9007")
			.run((context) -> {
				assertThat(kafka(context, "orders"))
					.containsEntry("bootstrap.servers", "localhost:9005,localhost:9006,localhost:9007")
					.containsEntry("ssl.cipher.suites", "TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384")
					.containsEntry("custom.list.0", "a")
					.doesNotContainKeys("bootstrap.servers.0", "ssl.cipher.suites.0");
			});
	}

	/**
	 * A list written in a profile's file (or any source of higher precedence) replaces a lower source's as a
	 * whole, as Boot's lists do: a shorter one is not filled up with the lower list's remaining elements (a local
	 * run sending to production), and the plain form of one source and the indexed form of another override each
	 * other likewise. So in entries named with capitals or, in brackets, with a dot, and in templates.
	 */
	@Test
	void aListOfASourceOfHigherPrecedenceReplacesALowerSourcesListAsAWhole() {
		this.runner.withInitializer((context) -> {
			ConfigFiles.add(context, "application-local.yml",
					Map.of("waterdrop.producers.orders.kafka.bootstrap.servers[0]", "localhost:9092",
							"waterdrop.kafka.ssl.cipher.suites", "TLS_AES_128_GCM_SHA256",
							"waterdrop.producers.orderEvents.kafka.bootstrap.servers[0]", "localhost:9093",
							"waterdrop.producers[audit.eu].kafka.bootstrap.servers[0]", "localhost:9094",
							"waterdrop.templates.tenant.kafka.bootstrap.servers[0]", "localhost:9095"));
			ConfigFiles.add(context, "application.yml",
					Map.of("waterdrop.producers.orders.kafka.bootstrap.servers[0]", "prod-a:9092",
							"waterdrop.producers.orders.kafka.bootstrap.servers[1]", "prod-b:9092",
							"waterdrop.producers.orders.kafka.bootstrap.servers[2]", "prod-c:9092",
							"waterdrop.kafka.ssl.cipher.suites[0]", "TLS_AES_256_GCM_SHA384",
							"waterdrop.kafka.ssl.cipher.suites[1]", "TLS_CHACHA20_POLY1305_SHA256",
							"waterdrop.producers.orderEvents.kafka.bootstrap.servers", "prod-a:9092,prod-b:9092",
							"waterdrop.producers[audit.eu].kafka.bootstrap.servers[0]", "prod-a:9092",
							"waterdrop.producers[audit.eu].kafka.bootstrap.servers[1]", "prod-b:9092",
							"waterdrop.templates.tenant.kafka.bootstrap.servers[0]", "prod-a:9092",
							"waterdrop.templates.tenant.kafka.bootstrap.servers[1]", "prod-b:9092"));
		}).run((context) -> {
			assertThat(context).hasNotFailed();
			assertThat(kafka(context, "orders")).containsEntry("bootstrap.servers", "localhost:9092")
				.containsEntry("ssl.cipher.suites", "TLS_AES_128_GCM_SHA256");
			assertThat(kafka(context, "orderEvents")).containsEntry("bootstrap.servers", "localhost:9093");
			assertThat(kafka(context, "audit.eu")).containsEntry("bootstrap.servers", "localhost:9094");
			assertThat(context.getBean(WaterDropProperties.class).getTemplates().get("tenant").getKafka())
				.containsOnly(Map.entry("bootstrap.servers", "localhost:9095"));
		});
	}

	@Test
	void userDefinedConnectionDetailsAreHonoured() {
		this.runner.withUserConfiguration(BrokerConnectionDetails.class)
			.withPropertyValues("spring.kafka.bootstrap-servers=localhost:9001")
			.run((context) -> {
				io.waterdrop.Producer producer = context.getBean(io.waterdrop.Producer.class);
				DeliveryReport report = producer.produceSync(Message.of("events", "via connection details"));
				assertThat(report.offset()).isNotNegative();
			});
	}

	@Test
	void clientsComeFromAFactoryWithBootsCustomizersAppliedInOrder() {
		Threads.Snapshot before = Threads.snapshot();
		this.runner.withUserConfiguration(FactoryCustomizers.class)
			.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers(),
					"waterdrop.producers.orders.kafka.acks=all")
			.run((context) -> {
				FactoryCustomizers customizers = context.getBean(FactoryCustomizers.class);
				// Boot's own factory (no client id) is customized too; ours is named after the producer.
				assertThat(customizers.calls).containsSubsequence("first:orders", "second:orders");
				assertThat(customizers.configs).anySatisfy((config) -> assertThat(config)
					.containsEntry("client.id", "orders")
					.containsEntry("acks", "all"));
				// The second customizer set a String serializer for Boot's template; WaterDrop still sends bytes.
				io.waterdrop.Producer orders = context.getBean("orders", io.waterdrop.Producer.class);
				assertThat(orders.produceSync(Message.of("orders", new byte[] { 1, 2, 3 })).offset()).isNotNegative();
				assertThat(customizers.added).containsExactly("waterdrop.orders");
				assertThat(Threads.kafkaNetworkThread("orders")).isTrue();
				context.close();
				assertThat(customizers.removed).containsExactly("waterdrop.orders");
				assertThat(before.newKafkaNetworkThread("orders")).isFalse();
			});
	}

	@Test
	void clientIdMayBeSetPerProducer() {
		Threads.Snapshot before = Threads.snapshot();
		this.runner
			.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers(),
					"waterdrop.producers.orders.kafka.client.id=orders-eu")
			.run((context) -> {
				assertThat(Threads.kafkaNetworkThread("orders-eu")).isTrue();
				context.close();
				assertThat(before.newKafkaNetworkThread("orders-eu")).isFalse();
			});
	}

	@Test
	void withoutBootsKafkaAutoConfigurationOnlyWaterDropsLayersApply() {
		new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(WaterDropAutoConfiguration.class, WaterDropLifecycleAutoConfiguration.class))
			.withPropertyValues("spring.kafka.producer.acks=1", "waterdrop.kafka.bootstrap.servers=localhost:9003")
			.run((context) -> assertThat(kafka(context, "waterdropProducer"))
				.containsExactly(Map.entry("bootstrap.servers", "localhost:9003")));
	}

	@Test
	void transactionalIdMakesATransactionalProducer() {
		this.runner
			.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers(),
					"waterdrop.producers.payments.kafka.transactional.id=payments-tx")
			.run((context) -> {
				io.waterdrop.Producer payments = context.getBean("payments", io.waterdrop.Producer.class);
				assertThat(payments.transactional()).isTrue();
				DeliveryReport report = payments
					.transaction((transaction) -> transaction.produceSync(Message.of("events", "in a transaction")));
				assertThat(report.offset()).isNotNegative();
			});
	}

	private static Map<String, Object> kafka(org.springframework.context.ApplicationContext context, String name) {
		return context.getBean(name, io.waterdrop.Producer.class).config().kafka();
	}

	@Configuration(proxyBeanMethods = false)
	static class FixedConnectionDetails {

		@Bean
		KafkaConnectionDetails kafkaConnectionDetails() {
			return new KafkaConnectionDetails() {

				@Override
				public List<String> getBootstrapServers() {
					return List.of("localhost:9002");
				}

				@Override
				public String getSecurityProtocol() {
					return "PLAINTEXT";
				}

			};
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class BrokerConnectionDetails {

		@Bean
		KafkaConnectionDetails kafkaConnectionDetails() {
			return () -> List.of(TestBroker.bootstrapServers());
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class FactoryCustomizers {

		final List<String> calls = new CopyOnWriteArrayList<>();

		final List<Map<String, Object>> configs = new CopyOnWriteArrayList<>();

		final List<String> added = new CopyOnWriteArrayList<>();

		final List<String> removed = new CopyOnWriteArrayList<>();

		@Bean
		@Order(2)
		@SuppressWarnings("unchecked")
		DefaultKafkaProducerFactoryCustomizer second() {
			return (factory) -> {
				this.calls.add("second:" + factory.getConfigurationProperties().get("client.id"));
				((DefaultKafkaProducerFactory<Object, String>) factory).setValueSerializer(new StringSerializer());
			};
		}

		@Bean
		@Order(1)
		@SuppressWarnings("unchecked")
		DefaultKafkaProducerFactoryCustomizer first() {
			return (factory) -> {
				this.calls.add("first:" + factory.getConfigurationProperties().get("client.id"));
				this.configs.add(factory.getConfigurationProperties());
				((DefaultKafkaProducerFactory<Object, Object>) factory).addListener(new ProducerFactory.Listener<>() {

					@Override
					public void producerAdded(String id, Producer<Object, Object> producer) {
						FactoryCustomizers.this.added.add(id);
					}

					@Override
					public void producerRemoved(String id, Producer<Object, Object> producer) {
						FactoryCustomizers.this.removed.add(id);
					}

				});
			};
		}

	}

}
