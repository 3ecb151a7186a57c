package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.testing.KafkaTestBroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Transactions against a real broker, checked the way users see them: through a {@code read_committed}
 * consumer and the group offsets the broker stores.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TransactionIntegrationTests {

	private static final Duration CONSUME_TIMEOUT = Duration.ofSeconds(20);

	private static Admin admin;

	private final TestProducers producers = new TestProducers();

	@BeforeAll
	static void createAdmin() {
		admin = Admin.create(KafkaTestBroker.clientProperties());
	}

	@AfterAll
	static void closeAdmin() {
		admin.close(Duration.ofSeconds(5));
	}

	@AfterEach
	void closeProducers() {
		this.producers.closeAll();
	}

	@Test
	void committedMessagesAreVisibleToReadCommittedConsumersAndTheBlockValueIsReturned() {
		String topic = topic("tx-commit", 1);
		Producer producer = transactional(transactionalId());
		List<String> events = transactionEvents(producer);

		String result = producer.transaction((transaction) -> {
			DeliveryHandle first = transaction.produceAsync(Message.of(topic, "a"));
			transaction.produceSync(Message.of(topic, "b"));
			// The producer itself joins the transaction open on this thread.
			producer.produceManySync(List.of(Message.of(topic, "c"), Message.of(topic, "d")));
			first.await();
			return "value";
		});

		assertThat(result).isEqualTo("value");
		assertThat(readCommitted(topic, 4)).containsExactly("a", "b", "c", "d");
		assertThat(events).containsExactly("transaction.started", "transaction.committed", "transaction.finished");
	}

	@Test
	void abortedMessagesAreNeverVisibleToReadCommittedConsumers() {
		String topic = topic("tx-abort", 1);
		Producer producer = transactional(transactionalId());
		List<String> events = transactionEvents(producer);
		IllegalStateException failure = new IllegalStateException("block failed");

		assertThatThrownBy(() -> producer.transaction((transaction) -> {
			transaction.produceSync(Message.of(topic, "aborted-by-exception"));
			throw failure;
		})).isSameAs(failure);
		Object quietly = producer.transaction((transaction) -> {
			transaction.produceSync(Message.of(topic, "aborted-quietly"));
			transaction.abort();
			return "never returned";
		});
		Object signalled = producer.transaction((transaction) -> {
			transaction.produceSync(Message.of(topic, "aborted-by-signal"));
			throw new AbortTransaction();
		});
		producer.transaction((transaction) -> transaction.produceSync(Message.of(topic, "committed")));

		assertThat(quietly).isNull();
		assertThat(signalled).isNull();
		// The aborted records are in the log (a read_uncommitted consumer sees them) ...
		assertThat(payloads(KafkaTestBroker.consume(topic, 4, CONSUME_TIMEOUT))).containsExactly(
				"aborted-by-exception", "aborted-quietly", "aborted-by-signal", "committed");
		// ... but read_committed skips them; reading up to the last commit proves the aborts were decided.
		assertThat(readCommitted(topic, 1)).containsExactly("committed");
		assertThat(events).containsExactly("transaction.started", "transaction.aborted", "transaction.finished",
				"transaction.started", "transaction.aborted", "transaction.finished", "transaction.started",
				"transaction.aborted", "transaction.finished", "transaction.started", "transaction.committed",
				"transaction.finished");
	}

	@Test
	void produceOutsideATransactionOnATransactionalProducerGetsATransactionOfItsOwn() {
		String topic = topic("tx-wrapped", 1);
		Producer producer = transactional(transactionalId());
		List<String> events = transactionEvents(producer);

		producer.produceManySync(List.of(Message.of(topic, "many-sync-1"), Message.of(topic, "many-sync-2")));
		List<DeliveryHandle> handles = producer
			.produceManyAsync(List.of(Message.of(topic, "many-async-1"), Message.of(topic, "many-async-2")));
		DeliveryHandle single = producer.produceAsync(Message.of(topic, "async"));
		producer.produceSync(Message.of(topic, "sync"));

		handles.forEach(DeliveryHandle::await);
		assertThat(single.await().offset()).isGreaterThanOrEqualTo(0);
		// Each call was committed on its own: four transactions, every message visible to read_committed.
		assertThat(events.stream().filter("transaction.committed"::equals)).hasSize(4);
		assertThat(events.stream().filter("transaction.started"::equals)).hasSize(4);
		assertThat(readCommitted(topic, 6)).containsExactly("many-sync-1", "many-sync-2", "many-async-1",
				"many-async-2", "async", "sync");
	}

	@Test
	void concurrentTransactionsOnTwoProducersAreAllCommitted() throws Exception {
		String topic = topic("tx-concurrent", 3);
		List<Producer> both = List.of(transactional(transactionalId()), transactional(transactionalId()));
		int threadsPerProducer = 3;
		int transactionsPerThread = 4;
		ExecutorService pool = Executors.newFixedThreadPool(both.size() * threadsPerProducer);
		try {
			List<Future<?>> work = new ArrayList<>();
			Set<String> expected = new java.util.HashSet<>();
			for (int p = 0; p < both.size(); p++) {
				Producer producer = both.get(p);
				for (int t = 0; t < threadsPerProducer; t++) {
					String prefix = "p" + p + "-t" + t;
					for (int i = 0; i < transactionsPerThread; i++) {
						expected.add(prefix + "-" + i + "-a");
						expected.add(prefix + "-" + i + "-b");
					}
					work.add(pool.submit(() -> {
						for (int i = 0; i < transactionsPerThread; i++) {
							String id = prefix + "-" + i;
							producer.transaction((transaction) -> transaction.produceManyAsync(
									List.of(Message.builder(topic).key(id).payload(id + "-a").build(),
											Message.builder(topic).key(id).payload(id + "-b").build())));
						}
					}));
				}
			}
			for (Future<?> future : work) {
				future.get(40, TimeUnit.SECONDS);
			}

			assertThat(readCommitted(topic, expected.size())).containsExactlyInAnyOrderElementsOf(expected);
		}
		finally {
			pool.shutdownNow();
		}
	}

	@Test
	void transactionsOnOneProducerFromSeveralThreadsRunOneAfterAnother() throws Exception {
		String topic = topic("tx-serial", 1);
		Producer producer = transactional(transactionalId());
		producer.connect();
		List<String> events = transactionEvents(producer);
		AtomicInteger open = new AtomicInteger();
		AtomicInteger mostOpen = new AtomicInteger();
		int threads = 4;
		int transactionsPerThread = 3;
		ExecutorService pool = Executors.newFixedThreadPool(threads);
		try {
			CountDownLatch start = new CountDownLatch(1);
			List<Future<?>> work = new ArrayList<>();
			for (int t = 0; t < threads; t++) {
				String prefix = "t" + t;
				work.add(pool.submit(() -> {
					start.await();
					for (int i = 0; i < transactionsPerThread; i++) {
						String payload = prefix + "-" + i;
						producer.transaction((transaction) -> {
							mostOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
							transaction.produceSync(Message.of(topic, payload + "-a"));
							// Gives another thread time to slip in, were it not kept out.
							sleep(5);
							transaction.produceSync(Message.of(topic, payload + "-b"));
							open.decrementAndGet();
							return null;
						});
					}
					return null;
				}));
			}
			start.countDown();
			for (Future<?> future : work) {
				future.get(40, TimeUnit.SECONDS);
			}
		}
		finally {
			pool.shutdownNow();
		}

		assertThat(mostOpen.get()).isEqualTo(1);
		List<String> expected = new ArrayList<>();
		for (int i = 0; i < threads * transactionsPerThread; i++) {
			expected.addAll(List.of("transaction.started", "transaction.committed", "transaction.finished"));
		}
		assertThat(events).containsExactlyElementsOf(expected);
		// One partition, no interleaving: each transaction's two messages are next to each other.
		List<String> read = readCommitted(topic, threads * transactionsPerThread * 2);
		for (int i = 0; i < read.size(); i += 2) {
			assertThat(read.get(i)).endsWith("-a");
			assertThat(read.get(i + 1)).isEqualTo(read.get(i).replace("-a", "-b"));
		}
	}

	@Test
	void produceFromAnotherThreadWaitsUntilTheOpenTransactionEnds() throws Exception {
		String topic = topic("tx-wait", 1);
		Producer producer = transactional(transactionalId());
		List<String> events = transactionEvents(producer);
		CountDownLatch opened = new CountDownLatch(1);
		CountDownLatch finish = new CountDownLatch(1);
		CompletableFuture<Object> transaction = CompletableFuture.supplyAsync(() -> producer.transaction((tx) -> {
			tx.produceSync(Message.of(topic, "in-transaction"));
			opened.countDown();
			TestProducers.awaitLatch(finish);
			return null;
		}));
		assertThat(opened.await(20, TimeUnit.SECONDS)).isTrue();

		CompletableFuture<DeliveryHandle> outside = CompletableFuture
			.supplyAsync(() -> producer.produceAsync(Message.of(topic, "outside")));
		Thread.sleep(300);
		assertThat(outside).isNotDone();
		finish.countDown();
		transaction.get(20, TimeUnit.SECONDS);
		outside.get(20, TimeUnit.SECONDS).await();

		assertThat(readCommitted(topic, 2)).containsExactly("in-transaction", "outside");
		assertThat(events).containsExactly("transaction.started", "transaction.committed", "transaction.finished",
				"transaction.started", "transaction.committed", "transaction.finished");
	}

	@Test
	void markAsConsumedCommitsTheGroupOffsetsOnlyWithTheTransaction() throws Exception {
		String input = topic("tx-input", 1);
		String output = topic("tx-output", 1);
		String group = "tx-group-" + UUID.randomUUID();
		TopicPartition partition = new TopicPartition(input, 0);
		Producer plain = this.producers.create(TestProducers.config("tx-source"));
		plain.produceManySync(List.of(Message.of(input, "1"), Message.of(input, "2"), Message.of(input, "3")));
		Producer producer = transactional(transactionalId());
		List<ProducerEvent.TransactionMarkedAsConsumed> marked = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.TransactionMarkedAsConsumed.class, marked::add);

		try (KafkaConsumer<byte[], byte[]> consumer = consumer(group)) {
			consumer.assign(List.of(partition));
			consumer.seekToBeginning(List.of(partition));
			List<ConsumerRecord<byte[], byte[]>> records = pollAtLeast(consumer, 3);
			assertThat(payloads(records)).containsExactly("1", "2", "3");

			// Consumed up to offset 1, transformed, then rolled back: the group's offset must not move.
			producer.transaction((transaction) -> {
				transaction.produceSync(Message.of(output, "transformed-1-aborted"));
				transaction.markAsConsumed(Map.of(partition, new OffsetAndMetadata(1)), consumer.groupMetadata());
				transaction.abort();
				return null;
			});
			producer.transaction((transaction) -> {
				for (ConsumerRecord<byte[], byte[]> record : records) {
					transaction.produceSync(Message.of(output, "transformed-" + text(record.value())));
				}
				transaction.markAsConsumed(Map.of(partition, new OffsetAndMetadata(3)), consumer.groupMetadata());
				// Sent, not yet committed: nobody sees the offset.
				assertThat(committedOffset(group, partition)).isNull();
				return null;
			});
		}

		await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(committedOffset(group, partition)).isEqualTo(3L));
		assertThat(readCommitted(output, 3)).containsExactly("transformed-1", "transformed-2", "transformed-3");
		assertThat(marked).hasSize(2);
		assertThat(marked.get(1).consumerGroup()).isEqualTo(group);
		assertThat(marked.get(1).offsets()).containsEntry(partition, new OffsetAndMetadata(3));
	}

	@Test
	void markAsConsumedInAnAbortedTransactionLeavesTheGroupOffsetsAlone() throws Exception {
		String input = topic("tx-input-aborted", 1);
		String output = topic("tx-output-aborted", 1);
		String group = "tx-group-" + UUID.randomUUID();
		TopicPartition partition = new TopicPartition(input, 0);
		Producer producer = transactional(transactionalId());

		try (KafkaConsumer<byte[], byte[]> consumer = consumer(group)) {
			consumer.assign(List.of(partition));
			producer.transaction((transaction) -> {
				transaction.produceSync(Message.of(output, "aborted"));
				transaction.markAsConsumed(Map.of(partition, new OffsetAndMetadata(7)), consumer.groupMetadata());
				throw new AbortTransaction();
			});
		}
		// A later commit on the same producer: once it is readable, the abort before it has been written out.
		producer.transaction((transaction) -> transaction.produceSync(Message.of(output, "committed")));

		assertThat(readCommitted(output, 1)).containsExactly("committed");
		assertThat(committedOffset(group, partition)).isNull();
	}

	/**
	 * A second instance with the same {@code transactional.id} fences the first. The first is not rebuilt
	 * (rebuilding would fence the second in turn, so the two would keep fencing each other): it fails with the
	 * fencing error from then on, and the second instance keeps working.
	 */
	@Test
	void fencedProducerStaysFencedAndTheNewerInstanceKeepsWorking() {
		String topic = topic("tx-fenced", 1);
		String transactionalId = transactionalId();
		Producer first = transactional(transactionalId);
		List<String> events = transactionEvents(first);
		List<ProducerEvent.Reloaded> reloads = new CopyOnWriteArrayList<>();
		first.monitor().subscribe(ProducerEvent.Reloaded.class, reloads::add);
		first.transaction((transaction) -> transaction.produceSync(Message.of(topic, "before")));

		// Same transactional.id: initialising its transactions fences the first producer.
		Producer second = transactional(transactionalId);
		second.connect();

		assertThatThrownBy(() -> first.transaction((transaction) -> transaction.produceSync(Message.of(topic, "fenced"))))
			.isInstanceOfAny(TransactionFailedException.class, DeliveryFailedException.class)
			// The broker refuses the send for its old epoch; the abort that follows learns of the fencing.
			.satisfies((failure) -> assertThat(causes(failure)).anyMatch((cause) -> cause instanceof ProducerFencedException
					|| cause instanceof InvalidProducerEpochException));
		assertThat(reloads).isEmpty();
		assertThatThrownBy(() -> first.transaction((transaction) -> transaction.produceSync(Message.of(topic, "zombie"))))
			.satisfies((failure) -> assertThat(causes(failure)).anyMatch(ProducerFencedException.class::isInstance));

		second.transaction((transaction) -> transaction.produceSync(Message.of(topic, "newer")));

		assertThat(readCommitted(topic, 2)).containsExactly("before", "newer");
		assertThat(reloads).isEmpty();
		assertThat(events).containsExactly("transaction.started", "transaction.committed", "transaction.finished",
				"transaction.started", "transaction.aborted", "transaction.finished");
	}

	/** With fencing taken out of non-reloadable-errors the old behaviour is back: rebuilt, and it fences back. */
	@Test
	void fencedProducerAllowedToReloadRebuildsAndWorksAgain() {
		String topic = topic("tx-fenced-reload", 1);
		String transactionalId = transactionalId();
		Producer first = this.producers.create(TestProducers.config("tx")
			.kafka(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId)
			.nonReloadableErrors(java.util.Set.of()));
		List<ProducerEvent.Reloaded> reloads = new CopyOnWriteArrayList<>();
		first.monitor().subscribe(ProducerEvent.Reloaded.class, reloads::add);
		first.transaction((transaction) -> transaction.produceSync(Message.of(topic, "before")));
		transactional(transactionalId).connect();

		assertThatThrownBy(() -> first.transaction((transaction) -> transaction.produceSync(Message.of(topic, "fenced"))))
			.isInstanceOfAny(TransactionFailedException.class, DeliveryFailedException.class);
		assertThat(reloads).hasSize(1);
		first.transaction((transaction) -> transaction.produceSync(Message.of(topic, "after")));

		assertThat(readCommitted(topic, 2)).containsExactly("before", "after");
	}

	// --- helpers

	private Producer transactional(String transactionalId) {
		return this.producers.create(TestProducers.config("tx").kafka(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId));
	}

	/** Unique across JVMs sharing an external broker too. */
	private static String transactionalId() {
		return TestProducers.uniqueId("tx-" + UUID.randomUUID().toString().substring(0, 8));
	}

	private static String topic(String prefix, int partitions) {
		String topic = KafkaTestBroker.uniqueTopic(prefix);
		KafkaTestBroker.createTopic(topic, partitions);
		return topic;
	}

	/** Names of the producer's transaction.* events, in the order published. */
	private static List<String> transactionEvents(Producer producer) {
		List<String> names = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe((event) -> {
			if (event.name().startsWith("transaction.") && !event.name().equals("transaction.marked_as_consumed")) {
				names.add(event.name());
			}
		});
		return names;
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

	/**
	 * Payloads a {@code read_committed} consumer reads from the beginning: exactly {@code count}, and nothing
	 * more up to the last stable offset.
	 */
	private static List<String> readCommitted(String topic, int count) {
		try (KafkaConsumer<byte[], byte[]> consumer = consumer(null)) {
			List<TopicPartition> partitions = consumer.partitionsFor(topic, CONSUME_TIMEOUT)
				.stream()
				.map((info) -> new TopicPartition(topic, info.partition()))
				.toList();
			consumer.assign(partitions);
			consumer.seekToBeginning(partitions);
			List<ConsumerRecord<byte[], byte[]>> records = pollAtLeast(consumer, count);
			// read_committed end offsets are the last stable offsets: nothing decided is left unread.
			Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
			for (TopicPartition partition : partitions) {
				while (consumer.position(partition) < ends.get(partition)) {
					consumer.poll(Duration.ofMillis(100)).forEach(records::add);
				}
			}
			assertThat(records).as("records read_committed from %s", topic).hasSize(count);
			return payloads(records);
		}
	}

	private static List<ConsumerRecord<byte[], byte[]>> pollAtLeast(KafkaConsumer<byte[], byte[]> consumer,
			int count) {
		List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
		long deadline = System.nanoTime() + CONSUME_TIMEOUT.toNanos();
		while (records.size() < count) {
			if (System.nanoTime() > deadline) {
				throw new AssertionError("Expected " + count + " record(s) but read " + payloads(records));
			}
			consumer.poll(Duration.ofMillis(100)).forEach(records::add);
		}
		return records;
	}

	/** The group's committed offset for a partition, as an AdminClient sees it; {@code null} if none. */
	private static Long committedOffset(String group, TopicPartition partition) {
		try {
			Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group)
				.partitionsToOffsetAndMetadata()
				.get(10, TimeUnit.SECONDS);
			OffsetAndMetadata offset = offsets.get(partition);
			return (offset != null) ? offset.offset() : null;
		}
		catch (Exception ex) {
			throw new AssertionError("Could not list the offsets of group " + group, ex);
		}
	}

	private static List<String> payloads(List<ConsumerRecord<byte[], byte[]>> records) {
		return records.stream().map((record) -> text(record.value())).collect(Collectors.toList());
	}

	private static String text(byte[] bytes) {
		return (bytes != null) ? new String(bytes, StandardCharsets.UTF_8) : null;
	}

	private static List<Throwable> causes(Throwable error) {
		List<Throwable> chain = new ArrayList<>();
		for (Throwable current = error; current != null && !chain.contains(current); current = current.getCause()) {
			chain.add(current);
			chain.addAll(List.of(current.getSuppressed()));
		}
		return chain;
	}

	private static void sleep(long millis) {
		try {
			Thread.sleep(millis);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
