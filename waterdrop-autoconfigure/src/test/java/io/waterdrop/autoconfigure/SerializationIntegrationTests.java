package io.waterdrop.autoconfigure;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.core.JsonGenerator;
import tools.jackson.databind.JacksonModule;
import tools.jackson.databind.SerializationContext;
import tools.jackson.databind.ValueSerializer;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.module.SimpleModule;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jackson.autoconfigure.JacksonAutoConfiguration;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.support.serializer.JacksonJsonDeserializer;
import org.springframework.kafka.support.serializer.JacksonJsonSerializer;

import io.waterdrop.InvalidConfigurationException;
import io.waterdrop.InvalidMessageException;
import io.waterdrop.InvalidMessageException.Violation;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Serialization as configured, against the in-JVM broker: JSON out of the box on the application's
 * {@code JsonMapper} with spring-kafka's type headers (read back by spring-kafka's JSON deserializer), the
 * key and value serializers of {@code spring.kafka.producer.*}, {@code waterdrop.kafka.*} and per producer,
 * customizers' serializers, and refusals of what cannot be serialized.
 */
@Timeout(120)
class SerializationIntegrationTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(JacksonAutoConfiguration.class, KafkaAutoConfiguration.class,
				WaterDropAutoConfiguration.class, WaterDropLifecycleAutoConfiguration.class))
		.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers());

	public record Order(String orderId, int quantity, Instant placedAt) {
	}

	public record Sku(int number) {
	}

	public record Line(Sku sku, int quantity) {
	}

	/** Jackson cannot write it: its getter fails, as a lazily loaded entity's might. */
	public static final class Unloaded {

		public String getValue() {
			throw new IllegalStateException("value not loaded");
		}

	}

	@Test
	void recordsAndPojosAreWrittenAsJsonWithTheBootMapperAndReadBackBySpringKafka() {
		String topic = TopicReader.uniqueTopic("json-orders");
		Order order = new Order("o-1", 3, Instant.parse("2025-01-02T03:04:05Z"));
		this.runner.withPropertyValues("spring.jackson.property-naming-strategy=SNAKE_CASE").run((context) -> {
			Producer producer = context.getBean(Producer.class);
			producer.produceSync(Message.builder(topic).key("o-1").payload(order).build());
			producer.produceSync(Message.of(topic, "plain text stays plain"));

			JsonMapper mapper = context.getBean(JsonMapper.class);
			JacksonJsonDeserializer<Object> json = new JacksonJsonDeserializer<>(mapper).trustedPackages("*");
			List<ConsumerRecord<byte[], Object>> records = TopicReader.read(topic, 1, Map.of(), json);
			// spring-kafka's deserializer finds the type in the __TypeId__ header: an Order comes back.
			assertThat(records.get(0).value()).isEqualTo(order);
			assertThat(new String(records.get(0).key(), StandardCharsets.UTF_8)).isEqualTo("o-1");

			List<ConsumerRecord<byte[], byte[]>> raw = TopicReader.read(topic, 2);
			assertThat(text(raw.get(0).value())).contains("\"order_id\":\"o-1\"");
			assertThat(text(raw.get(0).headers().lastHeader("__TypeId__").value())).isEqualTo(Order.class.getName());
			assertThat(text(raw.get(1).value())).isEqualTo("plain text stays plain");
			assertThat(raw.get(1).headers().toArray()).isEmpty();
		});
	}

	@Test
	void aStringSerializerGivenAnotherEncodingWritesThatEncoding() {
		String topic = TopicReader.uniqueTopic("utf-16");
		this.runner
			.withPropertyValues(
					"spring.kafka.producer.value-serializer=org.apache.kafka.common.serialization.StringSerializer",
					"spring.kafka.producer.properties.value.serializer.encoding=UTF-16")
			.run((context) -> {
				context.getBean(Producer.class).produceSync(Message.of(topic, "café"));

				assertThat(TopicReader.read(topic, 1).get(0).value())
					.isEqualTo("café".getBytes(StandardCharsets.UTF_16));
			});
	}

	@Test
	void theApplicationsJacksonModulesApply() {
		String topic = TopicReader.uniqueTopic("json-lines");
		this.runner.withUserConfiguration(SkuModule.class).run((context) -> {
			context.getBean(Producer.class).produceSync(Message.of(topic, new Line(new Sku(7), 2)));

			assertThat(text(TopicReader.read(topic, 1).get(0).value())).isEqualTo("{\"sku\":\"SKU-7\",\"quantity\":2}");
		});
	}

	@Test
	void valueSerializerOfBootIsHonouredAndJacksonJsonSerializerUsesTheBootMapper() {
		String topic = TopicReader.uniqueTopic("json-strict");
		this.runner
			.withPropertyValues("spring.jackson.property-naming-strategy=SNAKE_CASE",
					"spring.kafka.producer.value-serializer=org.springframework.kafka.support.serializer.JacksonJsonSerializer",
					"spring.kafka.producer.properties.spring.json.add.type.headers=false")
			.run((context) -> {
				Producer producer = context.getBean(Producer.class);
				producer.produceSync(Message.of(topic, new Order("o-2", 1, Instant.EPOCH)));
				producer.produceSync(Message.of(topic, "a string, as JSON"));

				List<ConsumerRecord<byte[], byte[]>> raw = TopicReader.read(topic, 2);
				assertThat(text(raw.get(0).value())).startsWith("{\"order_id\":\"o-2\"");
				assertThat(raw.get(0).headers().lastHeader("__TypeId__")).isNull();
				assertThat(text(raw.get(1).value())).isEqualTo("\"a string, as JSON\"");
			});
	}

	@Test
	void serializersOfBootWaterDropAndEachProducerLayerLaterWins() {
		String topic = TopicReader.uniqueTopic("layers");
		this.runner
			.withPropertyValues(
					"spring.kafka.producer.key-serializer=org.apache.kafka.common.serialization.IntegerSerializer",
					"waterdrop.kafka.value.serializer=org.apache.kafka.common.serialization.LongSerializer",
					"waterdrop.producers.orders.kafka.linger.ms=0",
					"waterdrop.producers.audit.kafka.value.serializer=" + Shouting.class.getName(),
					"waterdrop.producers.audit.kafka.shouting.suffix=!")
			.run((context) -> {
				context.getBean("orders", Producer.class).produceSync(Message.builder(topic).key(7).payload(42L).build());
				context.getBean("audit", Producer.class).produceSync(Message.builder(topic).key(8).payload("hey").build());

				List<ConsumerRecord<byte[], byte[]>> raw = TopicReader.read(topic, 2);
				assertThat(ByteBuffer.wrap(raw.get(0).key()).getInt()).isEqualTo(7);
				assertThat(ByteBuffer.wrap(raw.get(0).value()).getLong()).isEqualTo(42L);
				assertThat(ByteBuffer.wrap(raw.get(1).key()).getInt()).isEqualTo(8);
				// Created by the context and configured with the producer's Kafka settings, as Kafka would.
				assertThat(text(raw.get(1).value())).isEqualTo("HEY!");
			});
	}

	@Test
	void aCustomizersSerializerWinsOverTheSettings() {
		String topic = TopicReader.uniqueTopic("customized");
		this.runner.withUserConfiguration(ReversingCustomizer.class)
			.withPropertyValues("waterdrop.kafka.value.serializer=org.apache.kafka.common.serialization.LongSerializer")
			.run((context) -> {
				context.getBean(Producer.class).produceSync(Message.of(topic, "abc"));

				assertThat(text(TopicReader.read(topic, 1).get(0).value())).isEqualTo("cba");
			});
	}

	@Test
	void serializersGivenInCodeAreConfiguredWithTheProducersSettingsAsDefaultKafkaProducerFactoryDoes() {
		String topic = TopicReader.uniqueTopic("customized-json");
		this.runner.withUserConfiguration(JsonCustomizer.class)
			.withPropertyValues(
					"spring.kafka.producer.properties.spring.json.type.mapping=order:" + Order.class.getName())
			.run((context) -> {
				Order order = new Order("o-4", 2, Instant.EPOCH);
				context.getBean(Producer.class)
					.produceSync(Message.builder(topic).key(new Sku(4)).payload(order).build());

				ConsumerRecord<byte[], byte[]> raw = TopicReader.read(topic, 1).get(0);
				// configure(settings, true): the key's type in the key's own header, not the payload's.
				assertThat(text(raw.headers().lastHeader("__Key_TypeId__").value())).isEqualTo(Sku.class.getName());
				// spring.json.type.mapping reached the payload's serializer.
				assertThat(text(raw.headers().lastHeader("__TypeId__").value())).isEqualTo("order");
			});
	}

	@Test
	void aSerializerGivenInCodeThatRefusesTheSettingsFailsStartUpNamingIt() {
		this.runner.withUserConfiguration(ConfiguredJsonCustomizer.class)
			.withPropertyValues("spring.kafka.producer.properties.spring.json.add.type.headers=false")
			.run((context) -> assertThat(context).getFailure()
				.rootCause()
				.isInstanceOf(InvalidConfigurationException.class)
				.hasMessageContaining("waterdrop.producers.waterdropProducer.kafka.value.serializer")
				.hasMessageContaining("JacksonJsonSerializer refused the producer's Kafka settings")
				.hasMessageContaining("not both")
				.hasMessageContaining("set in code"));
	}

	@Test
	void serializersConfiguredFullyInCodeAreLeftAsTheyAreOnRequest() {
		String topic = TopicReader.uniqueTopic("configured-in-code");
		this.runner.withUserConfiguration(ConfiguredJsonCustomizer.class)
			.withPropertyValues("spring.kafka.producer.properties.spring.json.add.type.headers=true",
					"waterdrop.configure-serializers=false")
			.run((context) -> {
				context.getBean(Producer.class).produceSync(Message.of(topic, new Sku(5)));

				// Its own setting (no type headers), not the producer's.
				assertThat(TopicReader.read(topic, 1).get(0).headers().toArray()).isEmpty();
			});
	}

	@Test
	void whatCannotBeSerializedIsRefusedClearlyAndNothingIsQueued() {
		String topic = TopicReader.uniqueTopic("refused");
		this.runner.run((context) -> {
			Producer producer = context.getBean(Producer.class);

			assertThatExceptionOfType(InvalidMessageException.class)
				.isThrownBy(() -> producer.produceAsync(Message.of(topic, new Unloaded())))
				.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.NOT_SERIALIZABLE))
				.withMessageContaining("has a payload that cannot be serialized")
				.withMessageContaining("value not loaded");
			assertThat(producer.inFlight()).isZero();
			assertThat(producer.stats().producedAsync()).isZero();

			producer.produceSync(Message.of(topic, "the first record of the topic"));
			assertThat(text(TopicReader.read(topic, 1).get(0).value())).isEqualTo("the first record of the topic");
		});
	}

	@Test
	void withoutJacksonOtherTypesAreRefusedByName() {
		this.runner.withClassLoader(new FilteredClassLoader("tools.jackson")).run((context) -> {
				Producer producer = context.getBean(Producer.class);
				assertThatExceptionOfType(InvalidMessageException.class)
					.isThrownBy(() -> producer.produceAsync(Message.of("orders", new Order("o-3", 1, Instant.EPOCH))))
					.withMessageContaining("writes String and byte[] only, not " + Order.class.getName());
			});
	}

	private static String text(byte[] bytes) {
		return new String(bytes, StandardCharsets.UTF_8);
	}

	/** A Kafka serializer named by class: upper-cases strings and appends the {@code shouting.suffix} setting. */
	public static final class Shouting implements Serializer<Object> {

		private String suffix = "";

		@Override
		public void configure(Map<String, ?> configs, boolean isKey) {
			Object suffix = configs.get("shouting.suffix");
			this.suffix = (suffix != null) ? suffix.toString() : "";
		}

		@Override
		public byte[] serialize(String topic, Object data) {
			return (data.toString().toUpperCase() + this.suffix).getBytes(StandardCharsets.UTF_8);
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class SkuModule {

		@Bean
		JacksonModule skuModule() {
			return new SimpleModule().addSerializer(Sku.class, new ValueSerializer<Sku>() {

				@Override
				public void serialize(Sku value, JsonGenerator generator, SerializationContext context) {
					generator.writeString("SKU-" + value.number());
				}

			});
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class JsonCustomizer {

		@Bean
		WaterDropProducerCustomizer json() {
			return (name, builder) -> builder.keySerializer(new JacksonJsonSerializer<>())
				.payloadSerializer(new JacksonJsonSerializer<>());
		}

	}

	/** Configured with setters, which spring-kafka's JSON serializer will not mix with its settings. */
	@Configuration(proxyBeanMethods = false)
	static class ConfiguredJsonCustomizer {

		@Bean
		WaterDropProducerCustomizer configuredJson() {
			JacksonJsonSerializer<Object> json = new JacksonJsonSerializer<>();
			json.setAddTypeInfo(false);
			return (name, builder) -> builder.payloadSerializer(json);
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class ReversingCustomizer {

		@Bean
		WaterDropProducerCustomizer reversing() {
			StringSerializer strings = new StringSerializer();
			return (name, builder) -> builder.payloadSerializer((Serializer<Object>) (topic, data) -> strings
				.serialize(topic, new StringBuilder(data.toString()).reverse().toString()));
		}

	}

}
