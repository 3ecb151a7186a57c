package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/** The in-memory client users' unit tests run against: realistic reports, transactions honoured. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class InMemoryKafkaUnitTests {

	private final InMemoryKafka kafka = new InMemoryKafka().topic("orders", 3);

	private final List<Producer> producers = new CopyOnWriteArrayList<>();

	@AfterEach
	void close() {
		this.producers.forEach(Producer::close);
	}

	@Test
	void reportsCountOffsetsPerPartitionFromZeroAndCarryTheLabel() {
		Producer producer = producer(null);
		Object label = new Object();
		Instant timestamp = Instant.parse("2024-05-01T12:00:00Z");

		DeliveryReport first = producer.produceSync(
				Message.builder("orders").payload("a").partition(2).label(label).timestamp(timestamp).build());
		DeliveryReport second = producer.produceSync(Message.builder("orders").payload("b").partition(2).build());
		DeliveryReport other = producer.produceSync(Message.builder("orders").payload("c").partition(0).build());
		DeliveryReport otherTopic = producer.produceSync(Message.of("payments", "d"));

		assertThat(first).isEqualTo(new DeliveryReport("orders", 2, 0, timestamp, label));
		assertThat(second.partition()).isEqualTo(2);
		assertThat(second.offset()).isEqualTo(1);
		assertThat(other.partition()).isZero();
		assertThat(other.offset()).isZero();
		assertThat(otherTopic.partition()).as("one partition unless configured").isZero();
		assertThat(otherTopic.offset()).isZero();
		assertThat(second.timestamp()).isBetween(Instant.now().minusSeconds(60), Instant.now());
	}

	@Test
	void keyedMessagesLandOnTheMurmur2PartitionLikeKafkasDefaultPartitioner() {
		Producer producer = producer(null);

		for (int i = 0; i < 20; i++) {
			String key = "customer-" + i;
			DeliveryReport report = producer.produceSync(Message.builder("orders").key(key).payload("x").build());
			assertThat(report.partition()).as(key)
				.isEqualTo(BuiltInPartitioner.partitionForKey(key.getBytes(StandardCharsets.UTF_8), 3));
			// A partition key is resolved by WaterDrop against the same partition count: same partition.
			DeliveryReport byPartitionKey = producer
				.produceSync(Message.builder("orders").partitionKey(key).payload("y").build());
			assertThat(byPartitionKey.partition()).as(key).isEqualTo(report.partition());
		}
	}

	@Test
	void unkeyedMessagesAreSpreadOverThePartitions() {
		Producer producer = producer(null);

		List<DeliveryReport> reports = producer.produceManySync(List.of(Message.of("orders", "1"),
				Message.of("orders", "2"), Message.of("orders", "3"), Message.of("orders", "4")));

		assertThat(reports).extracting(DeliveryReport::partition).containsExactly(0, 1, 2, 0);
		assertThat(reports).extracting(DeliveryReport::offset).containsExactly(0L, 0L, 0L, 1L);
	}

	@Test
	void aTopicWithoutPartitionsIsRefusedWhenSetUp() {
		assertThatIllegalArgumentException().isThrownBy(() -> new InMemoryKafka().topic("orders", 0))
			.withMessage("A topic has at least one partition, but topic 'orders' was given 0");
		assertThatIllegalArgumentException().isThrownBy(() -> new InMemoryKafka(-1))
			.withMessage("A topic has at least one partition, but the default partition count was given -1");
	}

	@Test
	void recordsKeepKeyHeadersPayloadAndTombstones() {
		Producer producer = producer(null);

		producer.produceSync(Message.builder("orders").key("k").payload("v").header("trace", "t-1").build());
		producer.produceSync(Message.tombstone("orders", "k"));
		producer.produceSync(Message.of("payments", "p"));

		List<ProducerRecord<byte[], byte[]>> orders = this.kafka.records("orders");
		assertThat(orders).hasSize(2);
		assertThat(new String(orders.get(0).key(), StandardCharsets.UTF_8)).isEqualTo("k");
		assertThat(orders.get(0).headers().lastHeader("trace").value()).isEqualTo("t-1".getBytes(StandardCharsets.UTF_8));
		assertThat(orders.get(1).value()).isNull();
		assertThat(this.kafka.payloads("orders")).containsExactly("v", null);
		assertThat(this.kafka.records()).hasSize(3);

		this.kafka.clear();
		assertThat(this.kafka.records()).isEmpty();
		assertThat(producer.produceSync(Message.of("payments", "again")).offset()).as("offsets restart").isZero();
	}

	@Test
	void abortedTransactionsAreDroppedAndCommittedOnesKept() {
		Producer producer = producer("in-memory-tx");

		producer.transaction((transaction) -> transaction.produceSync(Message.of("payments", "committed-1")));
		producer.transaction((transaction) -> {
			transaction.produceSync(Message.of("payments", "aborted"));
			throw new AbortTransaction();
		});
		DeliveryReport afterAbort = producer
			.transaction((transaction) -> transaction.produceSync(Message.of("payments", "committed-2")));

		assertThat(this.kafka.payloads("payments")).containsExactly("committed-1", "committed-2");
		// Like Kafka, the aborted record used an offset of its own.
		assertThat(afterAbort.offset()).isEqualTo(2);
	}

	@Test
	void messagesOfAnOpenTransactionAreNotVisibleUntilTheCommit() {
		Producer producer = producer("in-memory-open");

		producer.transaction((transaction) -> {
			transaction.produceSync(Message.of("payments", "pending"));
			assertThat(this.kafka.records()).isEmpty();
			return null;
		});

		assertThat(this.kafka.payloads("payments")).containsExactly("pending");
	}

	@Test
	void consumedOffsetsCountOnlyAfterTheCommit() {
		Producer producer = producer("in-memory-offsets");
		TopicPartition input = new TopicPartition("input", 0);
		ConsumerGroupMetadata group = new ConsumerGroupMetadata("transformers");

		producer.transaction((transaction) -> {
			transaction.markAsConsumed(Map.of(input, new OffsetAndMetadata(3)), group);
			transaction.abort();
			return null;
		});
		assertThat(this.kafka.consumedOffsets()).isEmpty();

		producer.transaction((transaction) -> {
			transaction.produceSync(Message.of("output", "transformed"));
			transaction.markAsConsumed(Map.of(input, new OffsetAndMetadata(5)), group);
			assertThat(this.kafka.consumedOffsets()).as("not before the commit").isEmpty();
			return null;
		});

		assertThat(this.kafka.consumedOffsets()).containsExactly(Map.entry(input, new OffsetAndMetadata(5)));
	}

	@Test
	void producersSharingOneInMemoryKafkaShareItsLog() {
		Producer first = producer(null);
		Producer second = producer(null);

		first.produceSync(Message.of("payments", "1"));
		DeliveryReport report = second.produceSync(Message.of("payments", "2"));

		assertThat(report.offset()).isEqualTo(1);
		assertThat(this.kafka.payloads("payments")).containsExactly("1", "2");
	}

	private Producer producer(String transactionalId) {
		ProducerConfig.Builder config = ProducerConfig.builder()
			.maxWaitTimeout(Duration.ofSeconds(10))
			.clientFactory(this.kafka);
		if (transactionalId != null) {
			config.kafka("transactional.id", transactionalId);
		}
		Producer producer = new Producer(config.build());
		this.producers.add(producer);
		return producer;
	}

}
