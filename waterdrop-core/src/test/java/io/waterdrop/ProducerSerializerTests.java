package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.InvalidMessageException.Violation;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Serializers a producer is configured with: they get the record's own headers, {@link Serializers#defaultsOr}
 * keeps strings and bytes as by default, and a serializer's failure refuses the message before anything is
 * queued.
 */
@Timeout(30)
class ProducerSerializerTests {

	private final InMemoryKafka kafka = new InMemoryKafka();

	private final List<Producer> producers = new CopyOnWriteArrayList<>();

	record Order(String id, int quantity) {
	}

	/** Writes {@code Order}s as "id:quantity" and says so in a header, as JSON serializers write type headers. */
	static final class OrderSerializer implements Serializer<Object> {

		final List<Object> seen = new CopyOnWriteArrayList<>();

		@Override
		public byte[] serialize(String topic, Object data) {
			throw new AssertionError("the producer must hand over the record's headers");
		}

		@Override
		public byte[] serialize(String topic, Headers headers, Object data) {
			this.seen.add(data);
			if (!(data instanceof Order order)) {
				throw new SerializationException("not an order: " + data.getClass().getName(),
						new IllegalArgumentException("root reason"));
			}
			headers.add("__TypeId__", Order.class.getName().getBytes(StandardCharsets.UTF_8));
			return (order.id() + ":" + order.quantity()).getBytes(StandardCharsets.UTF_8);
		}

	}

	@AfterEach
	void close() {
		this.producers.forEach((producer) -> producer.close(Duration.ofSeconds(10)));
	}

	@Test
	void configuredSerializerGetsTheRecordsHeadersToAddTo() {
		OrderSerializer serializer = new OrderSerializer();
		Producer producer = producer(ProducerConfig.builder().payloadSerializer(serializer));

		producer.produceSync(Message.builder("orders").key("k").payload(new Order("o-1", 2)).header("h", "v").build());

		ProducerRecord<byte[], byte[]> record = this.kafka.records("orders").get(0);
		assertThat(new String(record.value(), StandardCharsets.UTF_8)).isEqualTo("o-1:2");
		assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo("k");
		assertThat(record.headers().lastHeader("h").value()).isEqualTo("v".getBytes(StandardCharsets.UTF_8));
		assertThat(new String(record.headers().lastHeader("__TypeId__").value(), StandardCharsets.UTF_8))
			.isEqualTo(Order.class.getName());
	}

	@Test
	void defaultsOrWritesStringsAndBytesItselfAndHandsTheRestOver() {
		OrderSerializer others = new OrderSerializer();
		Producer producer = producer(ProducerConfig.builder()
			.keySerializer(Serializers.defaultsOr(others))
			.payloadSerializer(Serializers.defaultsOr(others)));

		producer.produceSync(Message.of("orders", "plain text"));
		producer.produceSync(Message.of("orders", new byte[] { 1, 2 }));
		producer.produceSync(Message.builder("orders").key(new Order("key", 1)).payload(new Order("o-2", 3)).build());

		List<ProducerRecord<byte[], byte[]>> records = this.kafka.records("orders");
		assertThat(new String(records.get(0).value(), StandardCharsets.UTF_8)).isEqualTo("plain text");
		assertThat(records.get(0).headers().toArray()).isEmpty();
		assertThat(records.get(1).value()).containsExactly(1, 2);
		assertThat(new String(records.get(2).value(), StandardCharsets.UTF_8)).isEqualTo("o-2:3");
		assertThat(new String(records.get(2).key(), StandardCharsets.UTF_8)).isEqualTo("key:1");
		assertThat(records.get(2).headers().headers("__TypeId__")).hasSize(2);
		assertThat(others.seen).containsExactly(new Order("key", 1), new Order("o-2", 3));
	}

	@Test
	void serializerFailureRefusesTheMessageBeforeAnythingIsQueued() {
		Producer producer = producer(ProducerConfig.builder().payloadSerializer(Serializers.defaultsOr(new OrderSerializer())));

		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> producer.produceAsync(Message.of("orders", List.of("not", "an", "order"))))
			.satisfies((ex) -> {
				assertThat(ex.violation()).isEqualTo(Violation.NOT_SERIALIZABLE);
				assertThat(ex.refused().topic()).isEqualTo("orders");
			})
			.withMessageContaining("has a payload that cannot be serialized: not an order")
			.withMessageContaining("IllegalArgumentException: root reason")
			.withCauseInstanceOf(SerializationException.class);
		assertThat(producer.inFlight()).isZero();
		assertThat(this.kafka.records()).isEmpty();
		assertThat(producer.stats().producedAsync()).isZero();
	}

	@Test
	void defaultSerializerStillRefusesOtherTypesByName() {
		Producer producer = producer(ProducerConfig.builder());

		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> producer.produceSync(Message.of("orders", new Order("o-3", 1))))
			.withMessageContaining("writes String and byte[] only, not " + Order.class.getName());
		assertThat(this.kafka.records()).isEmpty();
	}

	private Producer producer(ProducerConfig.Builder builder) {
		Producer producer = new Producer(builder.id(TestProducers.uniqueId("serialized")).clientFactory(this.kafka).build());
		this.producers.add(producer);
		return producer;
	}

}
