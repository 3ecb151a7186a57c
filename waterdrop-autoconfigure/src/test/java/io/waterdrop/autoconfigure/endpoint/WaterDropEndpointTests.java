package io.waterdrop.autoconfigure.endpoint;

import java.security.Principal;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.clients.producer.RoundRobinPartitioner;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.boot.actuate.endpoint.SanitizingFunction;
import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.Order;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.TestBroker;
import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropProducerCustomizer;
import io.waterdrop.autoconfigure.endpoint.WaterDropEndpoint.PollerDescriptor;
import io.waterdrop.autoconfigure.endpoint.WaterDropEndpoint.ProducerDescriptor;
import io.waterdrop.autoconfigure.endpoint.WaterDropEndpoint.WaterDropDescriptor;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Conditions of {@link WaterDropEndpointAutoConfiguration} and what {@link WaterDropEndpoint} shows, secrets
 * sanitized.
 */
@Timeout(60)
class WaterDropEndpointTests {

	static final String JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required "
			+ "username=\"alice\" password=\"alice-secret\";";

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class, WaterDropLifecycleAutoConfiguration.class,
				WaterDropEndpointAutoConfiguration.class))
		.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers(),
				"spring.kafka.properties.sasl.jaas.config=" + JAAS, "waterdrop.pollers.critical.poll-timeout=2s",
				"waterdrop.producers.orders.polling.poller=critical",
				"waterdrop.producers.orders.polling.fd.max-time=200ms",
				"waterdrop.producers.orders.kafka.acks=all",
				"waterdrop.producers.orders.kafka.ssl.key.password=key-secret",
				"waterdrop.producers.orders.kafka.basic.auth.user.info=bob:bob-secret",
				"waterdrop.producers.orders.kafka.sasl.oauthbearer.token.endpoint.url=https://carol:carol-secret@idp",
				"waterdrop.producers.orders.kafka.sasl.oauthbearer.assertion.private.key.passphrase=dave-secret",
				"waterdrop.producers.legacy.polling.mode=thread");

	private final ApplicationContextRunner exposed = this.runner
		.withPropertyValues("management.endpoints.web.exposure.include=waterdrop",
				"management.endpoint.waterdrop.show-values=always");

	@Test
	void isNotDefinedUnlessExposed() {
		this.runner.run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(WaterDropEndpoint.class));
	}

	@Test
	void isDefinedWhenExposed() {
		this.exposed.run((context) -> assertThat(context).hasSingleBean(WaterDropEndpoint.class)
			.hasBean("waterdropEndpoint"));
	}

	@Test
	void isNotDefinedWithoutAccess() {
		this.exposed.withPropertyValues("management.endpoint.waterdrop.access=NONE")
			.run((context) -> assertThat(context).doesNotHaveBean(WaterDropEndpoint.class));
	}

	@Test
	void backsOffWithoutActuator() {
		this.exposed.withClassLoader(new FilteredClassLoader(Endpoint.class))
			.run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(WaterDropEndpoint.class));
	}

	@Test
	void describesPollersAndProducers() {
		this.exposed.run((context) -> {
			Producer producer = context.getBean("orders", Producer.class);
			producer.produceSync(Message.of("orders", "one"));
			producer.produceAsync(Message.of("orders", "two")).await();
			// A report counts out of inFlight once its callbacks ran, just after its handle completed.
			await().atMost(Duration.ofSeconds(30)).until(() -> producer.inFlight() == 0);
			WaterDropDescriptor waterdrop = context.getBean(WaterDropEndpoint.class).waterdrop();

			assertThat(waterdrop.pollers()).containsOnlyKeys("global", "critical");
			PollerDescriptor critical = waterdrop.pollers().get("critical");
			assertThat(critical.threadName()).matches("waterdrop\\.poller#\\d+-critical");
			assertThat(critical.running()).isTrue();
			assertThat(critical.producers()).containsExactly("orders");
			assertThat(critical.pollTimeout()).isEqualTo("2s");
			assertThat(critical.wakeups()).containsOnlyKeys("signal", "timeout");
			assertThat(critical.wakeups().get("signal")).isPositive();
			assertThat(critical.drains()).isPositive();
			assertThat(critical.loopErrors()).isZero();

			assertThat(waterdrop.producers()).containsOnlyKeys("orders", "legacy");
			ProducerDescriptor orders = waterdrop.producers().get("orders");
			assertThat(orders.status()).isEqualTo("CONNECTED");
			assertThat(orders.polling()).containsExactly(Map.entry("mode", "fd"), Map.entry("poller", "critical"),
					Map.entry("maxTime", "200ms"), Map.entry("slowCallbackThreshold", "50ms"));
			assertThat(orders.inFlight()).isZero();
			assertThat(orders.maxInFlight()).isEqualTo(100_000);
			assertThat(orders.pendingReports()).isZero();
			// Whether a dispatch took over the 50 ms threshold depends on the machine: the endpoint shows the count.
			assertThat(orders.counters()).containsExactly(Map.entry("producedSync", 1L),
					Map.entry("producedAsync", 1L), Map.entry("acknowledged", 2L), Map.entry("failed", 0L),
					Map.entry("purged", 0L), Map.entry("slowCallbacks", producer.stats().slowCallbacks()));
			assertThat(orders.kafka()).containsEntry("acks", "all")
				.containsEntry("client.id", "orders")
				.containsEntry("key.serializer", ByteArraySerializer.class.getName())
				.containsEntry("value.serializer", ByteArraySerializer.class.getName())
				.containsEntry("bootstrap.servers", List.of(TestBroker.bootstrapServers()));

			ProducerDescriptor legacy = waterdrop.producers().get("legacy");
			assertThat(legacy.polling()).containsExactly(Map.entry("mode", "thread"),
					Map.entry("poller", "waterdrop.dispatch-legacy"), Map.entry("pollTimeout", "1s"),
					Map.entry("slowCallbackThreshold", "50ms"));
		});
	}

	@Test
	void showsNoValueOfAKafkaSettingByDefault() {
		this.runner.withPropertyValues("management.endpoints.web.exposure.include=waterdrop").run((context) -> {
			assertThat(context).hasSingleBean(WaterDropEndpointWebExtension.class);
			ProducerDescriptor orders = context.getBean(WaterDropEndpoint.class).waterdrop().producers().get("orders");
			assertThat(orders.kafka()).containsKeys("acks", "bootstrap.servers", "client.id", "sasl.jaas.config")
				.allSatisfy((key, value) -> assertThat(value).as(key).isEqualTo("******"));
			assertThat(orders.status()).isEqualTo("CONNECTED");
			ProducerDescriptor overHttp = context.getBean(WaterDropEndpointWebExtension.class)
				.waterdrop(new User(null))
				.producers()
				.get("orders");
			assertThat(overHttp.kafka()).allSatisfy((key, value) -> assertThat(value).as(key).isEqualTo("******"));
		});
	}

	@Test
	void showsValuesWhenAuthorizedToAuthenticatedUsersInTheConfiguredRoles() {
		this.runner
			.withPropertyValues("management.endpoints.web.exposure.include=waterdrop",
					"management.endpoint.waterdrop.show-values=when-authorized",
					"management.endpoint.waterdrop.roles=kafka-admin")
			.run((context) -> {
				WaterDropEndpointWebExtension extension = context.getBean(WaterDropEndpointWebExtension.class);
				assertThat(acks(extension.waterdrop(new User(null)))).isEqualTo("******");
				assertThat(acks(extension.waterdrop(new User("bob")))).isEqualTo("******");
				assertThat(acks(extension.waterdrop(new User("alice", "kafka-admin")))).isEqualTo("all");
				// Secrets stay sanitized for authorized users too.
				assertThat(extension.waterdrop(new User("alice", "kafka-admin")).producers().get("orders").kafka())
					.containsEntry("ssl.key.password", "******");
				// Not over HTTP (JMX), when-authorized shows them, as Boot's env and configprops endpoints do.
				assertThat(acks(context.getBean(WaterDropEndpoint.class).waterdrop())).isEqualTo("all");
			});
	}

	private static Object acks(WaterDropDescriptor descriptor) {
		return descriptor.producers().get("orders").kafka().get("acks");
	}

	/** A security context of a user with the given name (none: not authenticated) and roles. */
	private record User(String name, Set<String> roles) implements SecurityContext {

		User(String name, String... roles) {
			this(name, Set.of(roles));
		}

		@Override
		public Principal getPrincipal() {
			return (this.name != null) ? () -> this.name : null;
		}

		@Override
		public boolean isUserInRole(String role) {
			return this.roles.contains(role);
		}

	}

	@Test
	void sanitizesSecretsInKafkaSettings() {
		this.exposed.run((context) -> {
			Map<String, Object> kafka = context.getBean(WaterDropEndpoint.class).waterdrop().producers().get("orders")
				.kafka();
			assertThat(kafka).containsEntry("sasl.jaas.config", "******")
				.containsEntry("ssl.key.password", "******")
				.containsEntry("basic.auth.user.info", "******")
				.containsEntry("sasl.oauthbearer.token.endpoint.url", "******")
				.containsEntry("sasl.oauthbearer.assertion.private.key.passphrase", "******");
			assertThat(kafka.toString()).doesNotContain("secret");
		});
	}

	@Test
	void appliesTheApplicationsSanitizingFunctionsButNeverRevealsASecret() {
		this.exposed.withUserConfiguration(SanitizingFunctions.class).run((context) -> {
			Map<String, Object> kafka = context.getBean(WaterDropEndpoint.class).waterdrop().producers().get("orders")
				.kafka();
			assertThat(kafka).containsEntry("acks", "hidden by the application")
				.containsEntry("sasl.jaas.config", "******")
				.containsEntry("ssl.key.password", "******");
		});
	}

	@Test
	void showsOnlyTheTypeOfValuesThatAreNotPlainData() {
		this.exposed.withBean(WaterDropProducerCustomizer.class, () -> (name, builder) -> builder
			.kafka("partitioner.class", RoundRobinPartitioner.class)
			.kafka("custom.object", new Object() {

				@Override
				public String toString() {
					return "do-not-show";
				}

			}))
			.run((context) -> {
				Map<String, Object> kafka = context.getBean(WaterDropEndpoint.class).waterdrop().producers()
					.get("legacy")
					.kafka();
				assertThat(kafka).containsEntry("partitioner.class", RoundRobinPartitioner.class.getName());
				assertThat(kafka.get("custom.object")).asString().startsWith("(").doesNotContain("do-not-show");
			});
	}

	@Configuration(proxyBeanMethods = false)
	static class SanitizingFunctions {

		@Bean
		@Order(1)
		SanitizingFunction hideAcks() {
			return (data) -> data.getKey().equals("acks") ? data.withValue("hidden by the application") : data;
		}

		@Bean
		@Order(2)
		SanitizingFunction revealEverything() {
			return (data) -> data.withValue("revealed");
		}

	}

}
