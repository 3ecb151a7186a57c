package io.waterdrop.docs;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.core.ProducerFactory;
import tools.jackson.databind.json.JsonMapper;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.TransactionalPool;
import io.waterdrop.autoconfigure.WaterDropEventListener;
import io.waterdrop.autoconfigure.WaterDropKafkaClientFactoryCustomizer;
import io.waterdrop.autoconfigure.WaterDropProducerCustomizer;
import io.waterdrop.autoconfigure.WaterDropProducers;
import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;
import io.waterdrop.autoconfigure.inmemory.AutoConfigureWaterDropInMemory;
import io.waterdrop.docs.GettingStartedSnippets.OrderEvents;
import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.Event;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;

/** The Java code of docs/configuration.md, compiled; see {@link GettingStartedSnippets}. */
final class ConfigurationSnippets {

	private ConfigurationSnippets() {
	}

	static class Injection {

		@Autowired @Qualifier("orders") Producer orders;       // one producer by name
		@Autowired WaterDropProducers producers;               // all of them: producers.get("audit"), asMap()

	}

	static class PoolInjection {

		@Autowired @Qualifier("transfers") TransactionalPool transfers;   // the pool; its members are transfers-0..3

	}

	static class Tenants {

		private final WaterDropRuntimeProducers producers;

		Tenants(WaterDropRuntimeProducers producers) {
			this.producers = producers;
		}

		Producer open(String tenant) {
			return this.producers.create("tenant-" + tenant, "tenant", Map.of("kafka.linger.ms", 20));
		}

		void send(String tenant, String event) {
			this.producers.get("tenant-" + tenant).produceAsync(Message.of("tenant-events", event));
		}

		void close(String tenant) {
			this.producers.remove("tenant-" + tenant); // closes it: its meters and health entry go too
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class Extensions {

		private static final Logger log = LoggerFactory.getLogger(Extensions.class);

		@Bean
		WaterDropProducerCustomizer jsonPayloads(JsonMapper mapper) {
			return (producerName, builder) -> builder.payloadSerializer(new MyJsonSerializer(mapper));
		}

		@Bean
		WaterDropEventListener slowCallbacks() {
			return new WaterDropEventListener() {

				@Override
				public void onEvent(Event event) {
					if (event instanceof ProducerEvent.SlowCallback slow) {
						log.warn("{} took {} on {}", slow.producerId(), slow.duration(), slow.pollingThread());
					}
				}

				@Override
				public boolean appliesTo(String producerName) {
					return !producerName.equals("audit");
				}

			};
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class MoreExtensions {

		private static final Logger log = LoggerFactory.getLogger(MoreExtensions.class);

		@Bean
		WaterDropKafkaClientFactoryCustomizer clientCreatedLog() {
			return (producerName, factory) -> factory.addListener(new ProducerFactory.Listener<>() {

				@Override
				public void producerAdded(String id, org.apache.kafka.clients.producer.Producer<byte[], byte[]> client) {
					log.info("Kafka client of WaterDrop producer {} created", producerName);
				}

			});
		}

		@Bean
		WaterDropEventListener deadLetterForwarder(@Qualifier("deadLetters") Producer deadLetters) {
			return (event) -> {
				if (event instanceof ProducerEvent.ErrorOccurred error && error.type() == ErrorType.DELIVERY
						&& !error.producerId().equals("deadLetters")) {
					deadLetters.produceAsync(error.message().toBuilder().topic("dead-letters").build());
				}
			};
		}

	}

	static class JsonOrders {

		private final Producer orders;

		JsonOrders(@Qualifier("orders") Producer orders) {
			this.orders = orders;
		}

		public record OrderPlaced(String orderId, int quantity) {
		}

		void orderPlaced(OrderPlaced event) {
			this.orders.produceAsync(Message.builder("orders").key(event.orderId()).payload(event).build());
		}

	}

	/** A test of an application's: not run here (the build runs classes named like tests at the top level). */
	@SpringBootTest
	@AutoConfigureWaterDropInMemory
	class OrderEventsTests {

		@Autowired
		OrderEvents orderEvents;

		@Autowired
		InMemoryKafka kafka;

		@BeforeEach
		void forgetWhatOtherTestsProduced() { // they may share this cached context, and so this InMemoryKafka
			this.kafka.clear();
		}

		@Test
		void placingAnOrderPublishesIt() {
			this.orderEvents.orderPlaced("order-1", "{\"id\":1}");
			assertThat(this.kafka.payloads("orders")).containsExactly("{\"id\":1}");
		}

	}

	/** Writes any payload as JSON. */
	static class MyJsonSerializer implements Serializer<Object> {

		private final JsonMapper mapper;

		MyJsonSerializer(JsonMapper mapper) {
			this.mapper = mapper;
		}

		@Override
		public byte[] serialize(String topic, Object data) {
			return (data != null) ? this.mapper.writeValueAsString(data).getBytes(StandardCharsets.UTF_8) : null;
		}

	}

}
