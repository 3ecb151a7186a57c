package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.testing.KafkaTestBroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A {@link TransactionalPool} against a real broker: N transactions open at the same time (proven by a
 * latch every block reaches before any may finish), invisible to {@code read_committed} consumers until
 * each commits, and consumer offsets sent with a pooled transaction.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class TransactionalPoolIntegrationTests {

	private static final Duration GUARD = Duration.ofSeconds(30);

	private static Admin admin;

	private final ExecutorService executor = Executors.newCachedThreadPool();

	private TransactionalPool pool;

	@BeforeAll
	static void createAdmin() {
		admin = Admin.create(KafkaTestBroker.clientProperties());
	}

	@AfterAll
	static void closeAdmin() {
		admin.close(Duration.ofSeconds(5));
	}

	@AfterEach
	void closePool() {
		this.executor.shutdownNow();
		if (this.pool != null) {
			this.pool.close(Duration.ofSeconds(10));
		}
	}

	@Test
	void poolSizeTransactionsAreOpenAtOnceAndVisibleToReadCommittedOnlyAfterTheirCommits() throws Exception {
		int size = 3;
		String topic = KafkaTestBroker.uniqueTopic("pool-concurrent");
		KafkaTestBroker.createTopic(topic, 1);
		TopicPartition partition = new TopicPartition(topic, 0);
		this.pool = TransactionalPool.of(TestProducers.config("pool").kafka(ProducerConfig.TRANSACTIONAL_ID_CONFIG,
				transactionalId()), size, GUARD);
		this.pool.connect();
		CountDownLatch allInside = new CountDownLatch(size);
		CountDownLatch release = new CountDownLatch(1);
		List<Future<DeliveryReport>> blocks = new ArrayList<>();
		for (int i = 0; i < size; i++) {
			String payload = "message-" + i;
			blocks.add(this.executor.submit(() -> this.pool.transaction((transaction) -> {
				// Written to the log (acknowledged), but part of a transaction still open.
				DeliveryReport report = transaction.produceSync(Message.of(topic, payload));
				allInside.countDown();
				awaitLatch(release);
				return report;
			})));
		}

		// Every block is inside its transaction at the same time: N transactions overlap, each on its own
		// member (a member runs one transaction at a time).
		awaitLatch(allInside);
		assertThat(this.pool.available()).isZero();
		// All N records are in the log, none is committed: the last stable offset is still 0.
		assertThat(endOffset(partition, IsolationLevel.READ_UNCOMMITTED)).isEqualTo(size);
		assertThat(endOffset(partition, IsolationLevel.READ_COMMITTED)).isZero();

		release.countDown();
		for (Future<DeliveryReport> block : blocks) {
			assertThat(block.get(GUARD.toSeconds(), TimeUnit.SECONDS).topic()).isEqualTo(topic);
		}
		assertThat(readCommitted(topic, size)).containsExactlyInAnyOrder("message-0", "message-1", "message-2");
		assertThat(this.pool.available()).isEqualTo(size);
		assertThat(this.pool.stats().waits()).isEqualTo(size);
	}

	@Test
	void aPooledTransactionCommitsConsumerOffsetsWithItsMessages() throws Exception {
		String input = KafkaTestBroker.uniqueTopic("pool-input");
		String output = KafkaTestBroker.uniqueTopic("pool-output");
		KafkaTestBroker.createTopic(input, 1);
		KafkaTestBroker.createTopic(output, 1);
		TopicPartition partition = new TopicPartition(input, 0);
		String group = "pool-group-" + UUID.randomUUID();
		try (Producer source = new Producer(TestProducers.config("pool-source").build())) {
			source.produceManySync(List.of(Message.of(input, "a"), Message.of(input, "b")));
		}
		this.pool = TransactionalPool.of(TestProducers.config("pool-ctp").kafka(ProducerConfig.TRANSACTIONAL_ID_CONFIG,
				transactionalId()), 2, GUARD);

		try (KafkaConsumer<byte[], byte[]> consumer = consumer(group)) {
			consumer.assign(List.of(partition));
			consumer.seekToBeginning(List.of(partition));
			List<ConsumerRecord<byte[], byte[]>> records = pollAtLeast(consumer, 2);
			this.pool.transaction((transaction) -> {
				for (ConsumerRecord<byte[], byte[]> record : records) {
					transaction.produceAsync(Message.of(output, text(record.value()).toUpperCase()));
				}
				transaction.markAsConsumed(Map.of(partition, new OffsetAndMetadata(2)), consumer.groupMetadata());
				return null;
			});
		}
		await().atMost(GUARD).untilAsserted(() -> assertThat(committedOffset(group, partition)).isEqualTo(2L));
		assertThat(readCommitted(output, 2)).containsExactly("A", "B");
	}

	private static String transactionalId() {
		return "pool-" + UUID.randomUUID().toString().substring(0, 8);
	}

	private static long endOffset(TopicPartition partition, IsolationLevel isolation) throws Exception {
		return admin.listOffsets(Map.of(partition, OffsetSpec.latest()), new ListOffsetsOptions(isolation))
			.partitionResult(partition)
			.get(GUARD.toSeconds(), TimeUnit.SECONDS)
			.offset();
	}

	private static KafkaConsumer<byte[], byte[]> consumer(String group) {
		Map<String, Object> properties = new HashMap<>(KafkaTestBroker.clientProperties());
		if (group != null) {
			properties.put(ConsumerConfig.GROUP_ID_CONFIG, group);
		}
		properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
		properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
		properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
		return new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer());
	}

	/** What a read_committed consumer reads from the beginning up to the last stable offset: exactly count. */
	private static List<String> readCommitted(String topic, int count) {
		try (KafkaConsumer<byte[], byte[]> consumer = consumer(null)) {
			TopicPartition partition = new TopicPartition(topic, 0);
			consumer.assign(List.of(partition));
			consumer.seekToBeginning(List.of(partition));
			List<ConsumerRecord<byte[], byte[]>> records = pollAtLeast(consumer, count);
			long end = consumer.endOffsets(List.of(partition)).get(partition);
			while (consumer.position(partition) < end) {
				consumer.poll(Duration.ofMillis(100)).forEach(records::add);
			}
			assertThat(records).hasSize(count);
			return records.stream().map((record) -> text(record.value())).toList();
		}
	}

	private static List<ConsumerRecord<byte[], byte[]>> pollAtLeast(KafkaConsumer<byte[], byte[]> consumer,
			int count) {
		List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
		long deadline = System.nanoTime() + GUARD.toNanos();
		while (records.size() < count) {
			if (System.nanoTime() > deadline) {
				throw new AssertionError("Expected " + count + " record(s) but read " + records.size());
			}
			consumer.poll(Duration.ofMillis(100)).forEach(records::add);
		}
		return records;
	}

	private static Long committedOffset(String group, TopicPartition partition) throws Exception {
		OffsetAndMetadata offset = admin.listConsumerGroupOffsets(group)
			.partitionsToOffsetAndMetadata()
			.get(10, TimeUnit.SECONDS)
			.get(partition);
		return (offset != null) ? offset.offset() : null;
	}

	private static String text(byte[] bytes) {
		return new String(bytes, StandardCharsets.UTF_8);
	}

	private static void awaitLatch(CountDownLatch latch) {
		try {
			if (!latch.await(GUARD.toSeconds(), TimeUnit.SECONDS)) {
				throw new AssertionError("latch not released within " + GUARD);
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new AssertionError(ex);
		}
	}

}
