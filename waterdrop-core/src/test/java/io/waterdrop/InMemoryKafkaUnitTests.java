package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Partitioner;
import org.apache.kafka.clients.producer.ProducerInterceptor;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.awaitility.Awaitility.await;

/** The in-memory client users' unit tests run against: realistic reports, transactions honoured. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
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

	@Test
	void concurrentSendersToOnePartitionAreStoredInOffsetOrder() throws Exception {
		Producer producer = producer(null);
		int senders = 4;
		int perSender = 2_000;
		Map<String, Long> offsets = new ConcurrentHashMap<>();
		ExecutorService executor = Executors.newFixedThreadPool(senders);
		try {
			List<Future<?>> sent = new ArrayList<>();
			for (int sender = 0; sender < senders; sender++) {
				int id = sender;
				sent.add(executor.submit(() -> {
					for (int i = 0; i < perSender; i++) {
						String payload = id + "-" + i;
						producer.produceAsync(Message.of("payments", payload),
								(report, failure) -> offsets.put(payload, report.offset()));
					}
				}));
			}
			for (Future<?> each : sent) {
				each.get();
			}
		}
		finally {
			executor.shutdownNow();
		}
		// The callbacks run on the polling thread, after the sends returned.
		await().atMost(Duration.ofSeconds(30)).until(() -> offsets.size() == senders * perSender);

		List<String> stored = this.kafka.payloads("payments");
		assertThat(stored).hasSize(senders * perSender);
		for (int i = 0; i < stored.size(); i++) {
			assertThat(offsets.get(stored.get(i))).as("offset of the message stored %d-th", i).isEqualTo(i);
		}
	}

	@Test
	void aConfiguredPartitionerChoosesThePartitionFromTheKeysBytesAndTheTopicsPartitions() {
		Producer producer = new Producer(ProducerConfig.builder()
			.clientFactory(this.kafka)
			.kafka("partitioner.class", LastPartition.class.getName())
			.kafka("last-partition.offset", "1")
			.build());
		this.producers.add(producer);

		DeliveryReport keyed = producer.produceSync(Message.builder("orders").key("k").payload("x").build());
		DeliveryReport unkeyed = producer.produceSync(Message.of("orders", "y"));
		DeliveryReport explicit = producer.produceSync(Message.builder("orders").payload("z").partition(0).build());

		assertThat(keyed.partition()).as("3 partitions, offset 1 from the last").isEqualTo(1);
		assertThat(unkeyed.partition()).isEqualTo(1);
		assertThat(explicit.partition()).as("an explicit partition wins, as in Kafka").isZero();
		assertThat(LastPartition.keys).containsExactly("k", null);
	}

	@Test
	void partitionerIgnoreKeysSpreadsKeyedMessagesLikeUnkeyedOnes() {
		Producer producer = new Producer(ProducerConfig.builder()
			.clientFactory(this.kafka)
			.kafka("partitioner.ignore.keys", "true")
			.build());
		this.producers.add(producer);

		List<DeliveryReport> reports = producer.produceManySync(List.of(
				Message.builder("orders").key("same").payload("1").build(),
				Message.builder("orders").key("same").payload("2").build(),
				Message.builder("orders").key("same").payload("3").build()));

		assertThat(reports).extracting(DeliveryReport::partition).containsExactly(0, 1, 2);
	}

	@Test
	void interceptorsSeeEverySendAndItsOutcomeAndAreClosedWithTheClient() {
		Producer producer = new Producer(ProducerConfig.builder()
			.clientFactory(this.kafka)
			.kafka("interceptor.classes", List.of(TaggingInterceptor.class, FailingInterceptor.class))
			.kafka("partitioner.class", LastPartition.class)
			.kafka("last-partition.offset", "-5")
			.build());

		producer.produceSync(Message.builder("orders").payload("tagged").partition(0).build());
		assertThatExceptionOfType(DeliveryFailedException.class)
			.isThrownBy(() -> producer.produceSync(Message.of("orders", "to partition 7 of 3")))
			.withRootCauseInstanceOf(org.apache.kafka.common.errors.TimeoutException.class)
			.withStackTraceContaining("Partition 7 of topic orders with partition count 3 is not present in "
					+ "InMemoryKafka; give the topic more with topic(name, partitions)");
		producer.close();

		assertThat(this.kafka.records("orders")).singleElement()
			.satisfies((record) -> assertThat(record.headers().lastHeader("intercepted").value())
				.as("a failing interceptor after it is skipped, as Kafka's client does").isEqualTo(new byte[] { 1 }));
		assertThat(TaggingInterceptor.events).containsExactly("configured", "ack orders-0@0",
				"ack orders-7@-1 TimeoutException", "closed");
	}

	@Test
	void aPartitionerClassThatCannotBeLoadedFailsTheClientAsKafkaWould() {
		assertThatExceptionOfType(ConfigException.class)
			.isThrownBy(() -> this.kafka.apply(Map.of("partitioner.class", "com.example.Missing")))
			.withMessageContaining("com.example.Missing");
		// Checked as the client makes it: wrapped as Kafka's constructor wraps it, which the starter's analysis reads.
		assertThatExceptionOfType(KafkaException.class)
			.isThrownBy(() -> this.kafka.apply(Map.of("interceptor.classes", String.class.getName())))
			.withMessage("Failed to construct kafka producer")
			.withStackTraceContaining("java.lang.String");
	}

	@Test
	void interceptorsHearOfASendTheClientRefuses() {
		org.apache.kafka.clients.producer.Producer<byte[], byte[]> client = this.kafka
			.apply(Map.of("interceptor.classes", TaggingInterceptor.class.getName()));
		client.close();

		assertThatIllegalStateException().isThrownBy(() -> client.send(new ProducerRecord<>("orders", new byte[1])));
		assertThat(TaggingInterceptor.events).containsExactly("configured", "closed", "ack orders--1@-1 "
				+ "IllegalStateException");
	}

	/** As Kafka's client: a send of the transaction failed, so its commit is refused and nothing of it kept. */
	@Test
	void aTransactionWithAFailedSendIsNotCommitted() {
		Producer producer = new Producer(ProducerConfig.builder()
			.clientFactory(this.kafka)
			.maxWaitTimeout(Duration.ofSeconds(30))
			.kafka("transactional.id", "in-memory-failed")
			.kafka("partitioner.class", LastPartition.class.getName())
			.kafka("last-partition.offset", "-5")
			.build());
		this.producers.add(producer);

		assertThatExceptionOfType(TransactionFailedException.class)
			.isThrownBy(() -> producer.transaction((transaction) -> {
				transaction.produceAsync(Message.builder("orders").payload("kept?").partition(0).build());
				transaction.produceAsync(Message.of("orders", "to partition 7 of 3"));
				assertThatExceptionOfType(WaterDropException.class).as("refused after the failed send, as by Kafka")
					.isThrownBy(() -> transaction.produceAsync(Message.builder("orders").payload("no").partition(1)
						.build()))
					.withStackTraceContaining("at least one previous transactional or idempotent request has failed");
				return null;
			}));

		assertThat(this.kafka.records()).isEmpty();
		producer.transaction((transaction) -> transaction
			.produceSync(Message.builder("payments").payload("next one commits").partition(0).build()));
		assertThat(this.kafka.payloads("payments")).containsExactly("next one commits");
	}

	/** Puts every message on the partition {@code last-partition.offset} before the last. */
	public static final class LastPartition implements Partitioner {

		static final List<String> keys = new CopyOnWriteArrayList<>();

		private int offset;

		@Override
		public void configure(Map<String, ?> configs) {
			this.offset = Integer.parseInt((String) configs.get("last-partition.offset"));
			keys.clear();
		}

		@Override
		public int partition(String topic, Object key, byte[] keyBytes, Object value, byte[] valueBytes,
				Cluster cluster) {
			keys.add((keyBytes != null) ? new String(keyBytes, StandardCharsets.UTF_8) : null);
			return cluster.partitionCountForTopic(topic) - 1 - this.offset;
		}

		@Override
		public void close() {
		}

	}

	/** Tags what it sees with a header and notes each acknowledgement. */
	public static final class TaggingInterceptor implements ProducerInterceptor<byte[], byte[]> {

		static final List<String> events = new CopyOnWriteArrayList<>();

		@Override
		public void configure(Map<String, ?> configs) {
			events.clear();
			events.add("configured");
		}

		@Override
		public ProducerRecord<byte[], byte[]> onSend(ProducerRecord<byte[], byte[]> record) {
			record.headers().add("intercepted", new byte[] { 1 });
			return record;
		}

		@Override
		public void onAcknowledgement(RecordMetadata metadata, Exception exception) {
			events.add("ack " + metadata.topic() + "-" + metadata.partition() + "@" + metadata.offset()
					+ ((exception != null) ? " " + exception.getClass().getSimpleName() : ""));
		}

		@Override
		public void close() {
			events.add("closed");
		}

	}

	/** Throws from every method: Kafka's client logs it and goes on. */
	public static final class FailingInterceptor implements ProducerInterceptor<byte[], byte[]> {

		@Override
		public void configure(Map<String, ?> configs) {
		}

		@Override
		public ProducerRecord<byte[], byte[]> onSend(ProducerRecord<byte[], byte[]> record) {
			throw new IllegalStateException("onSend refused");
		}

		@Override
		public void onAcknowledgement(RecordMetadata metadata, Exception exception) {
			throw new IllegalStateException("onAcknowledgement refused");
		}

		@Override
		public void close() {
			throw new IllegalStateException("close refused");
		}

	}

	private Producer producer(String transactionalId) {
		ProducerConfig.Builder config = ProducerConfig.builder()
			.maxWaitTimeout(Duration.ofSeconds(30))
			.clientFactory(this.kafka);
		if (transactionalId != null) {
			config.kafka("transactional.id", transactionalId);
		}
		Producer producer = new Producer(config.build());
		this.producers.add(producer);
		return producer;
	}

}
