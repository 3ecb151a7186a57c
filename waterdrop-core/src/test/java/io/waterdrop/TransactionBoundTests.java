package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.TransactionFailureTests.StrictTransactions;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

/**
 * Transactions begun with {@link Producer#beginTransaction()} and ended by a later call, and
 * {@link TransactionJoiner}s: what transaction managers such as Spring's build on. The rules of
 * {@code transaction(block)} hold for them too.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class TransactionBoundTests {

	private final InMemoryKafka kafka = new InMemoryKafka();

	private final List<Producer> producers = new CopyOnWriteArrayList<>();

	@AfterEach
	void close() {
		this.producers.forEach(Producer::closeForcefully);
	}

	@Test
	void whatTheThreadProducesJoinsTheBoundTransactionAndCountsOnlyAfterItsCommit() {
		Producer producer = transactional(this.kafka, null);
		List<String> events = transactionEvents(producer);

		BoundTransaction transaction = producer.beginTransaction();
		assertThat(producer.inTransaction()).isTrue();
		producer.produceSync(Message.of("orders", "1"));
		producer.produceAsync(Message.of("orders", "2")).await();
		producer.produceManySync(List.of(Message.of("orders", "3")));
		String fromBlock = producer.transaction((nested) -> {
			nested.produceAsync(Message.of("orders", "4"));
			return "joined";
		});
		assertThat(fromBlock).isEqualTo("joined");
		assertThat(this.kafka.records()).isEmpty();

		transaction.commit();

		assertThat(transaction.isOpen()).isFalse();
		assertThat(producer.inTransaction()).isFalse();
		assertThat(this.kafka.payloads("orders")).containsExactly("1", "2", "3", "4");
		assertThat(events).containsExactly("transaction.started", "transaction.committed", "transaction.finished");
	}

	/**
	 * Another thread commits the bound transaction while the owner's send into it is under way: the commit
	 * waits for the send, so the message is committed with the transaction rather than refused by Kafka's commit
	 * (which appends a record before it checks the transaction's state) and committed all the same.
	 */
	@Test
	void aCommitFromAnotherThreadWaitsForTheOwnersSendUnderWay() throws Exception {
		CountDownLatch inSend = new CountDownLatch(1);
		CountDownLatch releaseSend = new CountDownLatch(1);
		CommitHeldKafka client = new CommitHeldKafka(true) {

			@Override
			void beforeSend(ProducerRecord<byte[], byte[]> record) {
				inSend.countDown();
				TestProducers.awaitLatch(releaseSend);
			}

		};
		client.releaseCommit.countDown();
		Producer producer = transactional((properties) -> client, null);
		ExecutorService owner = Executors.newSingleThreadExecutor();
		ExecutorService other = Executors.newSingleThreadExecutor();
		try {
			BoundTransaction transaction = owner.submit(producer::beginTransaction).get(30, TimeUnit.SECONDS);
			Future<DeliveryHandle> sending = owner.submit(() -> producer.produceAsync(Message.of("orders", "1")));
			TestProducers.awaitLatch(inSend);
			AtomicReference<Thread> committer = new AtomicReference<>();
			Future<?> commit = other.submit(() -> {
				committer.set(Thread.currentThread());
				transaction.commit();
			});
			// It waits (parked) for the send, or it is in Kafka's commit already.
			await().atMost(Duration.ofSeconds(30))
				.until(() -> client.inCommit.getCount() == 0
						|| (committer.get() != null && committer.get().getState() == Thread.State.WAITING));
			assertThat(client.inCommit.getCount()).as("the commit began while a send into it was under way").isOne();

			releaseSend.countDown();

			commit.get(30, TimeUnit.SECONDS);
			assertThat(sending.get(30, TimeUnit.SECONDS).await().topic()).isEqualTo("orders");
			assertThat(client.history()).hasSize(1);
			assertThat(client.commitCount()).isOne();
		}
		finally {
			owner.shutdownNow();
			other.shutdownNow();
		}
	}

	/**
	 * The reviewer's case: another thread is committing the bound transaction a flush in batches joined when
	 * the second batch is sent. Nothing more may go into it (Kafka would append a record before refusing it,
	 * then commit it with the transaction, and the next flush would send it again): the rest is refused unsent
	 * and put back.
	 */
	@Test
	void aJoinedFlushSendsNothingIntoATransactionAnotherThreadIsCommitting() throws Exception {
		CommitHeldKafka client = new CommitHeldKafka(false);
		Producer producer = flushingInPairs(client);
		AtomicReference<BoundTransaction> transaction = new AtomicReference<>();
		AtomicReference<Future<?>> commit = new AtomicReference<>();
		ExecutorService threads = Executors.newFixedThreadPool(2);
		try {
			producer.monitor().subscribe(ProducerEvent.MessagesProduced.class, (event) -> {
				if (commit.get() == null) { // after the first batch: another thread's commit begins
					commit.set(threads.submit(() -> transaction.get().commit()));
					TestProducers.awaitLatch(client.inCommit);
					client.completeNext(); // acknowledged: the second batch gets their slots
					client.completeNext();
				}
			});
			Future<Throwable> flush = threads.submit(() -> {
				transaction.set(producer.beginTransaction());
				for (int i = 1; i <= 4; i++) {
					producer.buffer(Message.of("orders", String.valueOf(i)));
				}
				return catchThrowable(producer::flushAsync);
			});

			assertThat(flush.get(30, TimeUnit.SECONDS)).isInstanceOf(BatchPartlySentException.class)
				.hasStackTraceContaining("ended on another thread");
			client.releaseCommit.countDown();
			commit.get().get(30, TimeUnit.SECONDS);

			assertThat(client.history()).extracting((record) -> new String(record.value(), StandardCharsets.UTF_8))
				.as("the first batch, committed")
				.containsExactly("1", "2");
			assertThat(producer.bufferSize()).as("the second batch, put back").isEqualTo(2);
		}
		finally {
			threads.shutdownNow();
		}
	}

	/**
	 * What the owner produces once another thread has begun to commit its bound transaction waits for that
	 * commit and runs in a transaction of its own, instead of being refused by Kafka's commit and committed
	 * with it all the same.
	 */
	@Test
	void whatTheOwnerProducesWhileAnotherThreadCommitsRunsAfterTheCommitInATransactionOfItsOwn() throws Exception {
		CommitHeldKafka client = new CommitHeldKafka(false);
		Producer producer = transactional((properties) -> client, null);
		ExecutorService owner = Executors.newSingleThreadExecutor();
		ExecutorService other = Executors.newSingleThreadExecutor();
		try {
			BoundTransaction transaction = owner.submit(producer::beginTransaction).get(30, TimeUnit.SECONDS);
			Thread ownerThread = owner.submit(Thread::currentThread).get(30, TimeUnit.SECONDS);
			Future<?> commit = other.submit(transaction::commit);
			TestProducers.awaitLatch(client.inCommit);

			Future<Throwable> produced = owner
				.submit(() -> catchThrowable(() -> producer.produceAsync(Message.of("orders", "1")).await()));
			// It waits (parked) for the turn, or it was refused.
			await().atMost(Duration.ofSeconds(30))
				.until(() -> produced.isDone() || ownerThread.getState() == Thread.State.TIMED_WAITING);
			client.releaseCommit.countDown();

			commit.get(30, TimeUnit.SECONDS);
			assertThat(produced.get(30, TimeUnit.SECONDS)).as("refused").isNull();
			assertThat(client.history()).hasSize(1);
			assertThat(client.commitCount()).as("the bound transaction's commit, then the message's own").isEqualTo(2);
		}
		finally {
			owner.shutdownNow();
			other.shutdownNow();
		}
	}

	/** Offsets marked in a joined block once another thread has begun to commit the transaction are refused. */
	@Test
	void offsetsMarkedAfterAnotherThreadBeganToCommitTheTransactionAreRefused() throws Exception {
		CommitHeldKafka client = new CommitHeldKafka(true);
		AtomicReference<BoundTransaction> outer = new AtomicReference<>();
		Producer producer = transactional((properties) -> client, (self) -> {
			outer.set(self.beginTransaction());
			return true;
		});
		ExecutorService other = Executors.newSingleThreadExecutor();
		try {
			AtomicReference<Future<?>> commit = new AtomicReference<>();
			Throwable refused = catchThrowable(() -> producer.transaction((joined) -> {
				commit.set(other.submit(() -> outer.get().commit()));
				TestProducers.awaitLatch(client.inCommit);
				joined.markAsConsumed(Map.of(new TopicPartition("in", 0), new OffsetAndMetadata(7)),
						new ConsumerGroupMetadata("group"));
				return null;
			}));
			client.releaseCommit.countDown();
			commit.get().get(30, TimeUnit.SECONDS);

			assertThat(refused).isInstanceOf(IllegalStateException.class)
				.hasMessageContaining("ended on another thread");
			assertThat(client.consumerGroupOffsetsHistory()).isEmpty();
		}
		finally {
			other.shutdownNow();
		}
	}

	/**
	 * The bound transaction a flush in batches joined is committed on another thread, and another begins there,
	 * between two batches: the rest is refused and put back, not sent into that other transaction.
	 */
	@Test
	void aJoinedFlushWhoseTransactionEndsBetweenBatchesSendsNoMoreAndPutsTheRestBack() throws Exception {
		MockProducer<byte[], byte[]> client = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		Producer producer = flushingInPairs(client);
		AtomicReference<BoundTransaction> flushes = new AtomicReference<>();
		AtomicReference<BoundTransaction> another = new AtomicReference<>();
		ExecutorService otherThread = Executors.newSingleThreadExecutor();
		try {
			producer.monitor().subscribe(ProducerEvent.MessagesProduced.class, (event) -> {
				if (another.get() == null) { // after the first batch: commit it and begin another, elsewhere
					CompletableFuture.runAsync(() -> {
						flushes.get().commit();
						another.set(producer.beginTransaction());
					}, otherThread).join();
				}
			});
			CompletableFuture<List<DeliveryReport>> flush = CompletableFuture.supplyAsync(() -> {
				flushes.set(producer.beginTransaction());
				for (int i = 1; i <= 4; i++) {
					producer.buffer(Message.of("orders", String.valueOf(i)));
				}
				return producer.flushSync();
			});

			assertThat(flush).failsWithin(Duration.ofSeconds(30))
				.withThrowableOfType(java.util.concurrent.ExecutionException.class)
				.withCauseInstanceOf(BatchPartlySentException.class)
				.withStackTraceContaining("ended on another thread");
			assertThat(client.history()).as("the first batch, committed").hasSize(2);
			assertThat(producer.bufferSize()).as("the second batch, put back").isEqualTo(2);
			CompletableFuture.runAsync(() -> another.get().abort(), otherThread).get(30, TimeUnit.SECONDS);
		}
		finally {
			otherThread.shutdownNow();
		}
	}

	@Test
	void abortDropsWhatWasProducedAndTheProducerGoesOn() {
		Producer producer = transactional(this.kafka, null);
		List<String> events = transactionEvents(producer);

		BoundTransaction transaction = producer.beginTransaction();
		producer.produceSync(Message.of("orders", "dropped"));
		transaction.abort();
		producer.produceSync(Message.of("orders", "kept"));

		assertThat(this.kafka.payloads("orders")).containsExactly("kept");
		assertThat(events).containsExactly("transaction.started", "transaction.aborted", "transaction.finished",
				"transaction.started", "transaction.committed", "transaction.finished");
	}

	@Test
	void otherThreadsWaitUntilTheBoundTransactionEnds() throws Exception {
		Producer producer = transactional(this.kafka, null);
		BoundTransaction transaction = producer.beginTransaction();
		producer.produceSync(Message.of("orders", "first"));

		CompletableFuture<DeliveryReport> other = CompletableFuture
			.supplyAsync(() -> producer.produceSync(Message.of("orders", "second")));
		CompletableFuture<Object> otherBlock = CompletableFuture
			.supplyAsync(() -> producer.transaction((nested) -> nested.produceSync(Message.of("orders", "third"))));
		// Neither can begin its transaction while this thread holds the producer's.
		assertThat(this.kafka.records()).isEmpty();
		assertThat(other).isNotDone();

		transaction.commit();
		other.get(30, TimeUnit.SECONDS);
		otherBlock.get(30, TimeUnit.SECONDS);
		assertThat(this.kafka.payloads("orders")).startsWith("first").containsExactlyInAnyOrder("first", "second",
				"third");
	}

	/**
	 * Spring calls {@code afterCompletion} on a JTA transaction manager's own thread when it rolls back on a
	 * timeout: the end must work there, and give the producer back to the other threads.
	 */
	@Test
	void anotherThreadMayEndItAndTheOwnersLaterWorkRunsOnItsOwn() throws Exception {
		Producer producer = transactional(this.kafka, null);
		ExecutorService other = Executors.newSingleThreadExecutor();
		try {
			BoundTransaction transaction = producer.beginTransaction();
			producer.produceSync(Message.of("orders", "committed elsewhere"));
			assertThat(transaction.isOwnedByCurrentThread()).isTrue();
			assertThat(other.submit(transaction::isOwnedByCurrentThread).get(30, TimeUnit.SECONDS)).isFalse();
			// Setting it aside is the owner's alone: it is about the owner's work.
			assertThat(other.submit(() -> catchThrowable(transaction::suspend)).get(30, TimeUnit.SECONDS))
				.isInstanceOf(IllegalStateException.class)
				.hasMessageContaining("only the thread that began it");

			other.submit(transaction::commit).get(30, TimeUnit.SECONDS);

			assertThat(transaction.isOpen()).isFalse();
			assertThat(producer.inTransaction()).isFalse();
			assertThat(this.kafka.payloads("orders")).containsExactly("committed elsewhere");
			other.submit(() -> producer.produceSync(Message.of("orders", "other thread"))).get(30, TimeUnit.SECONDS);
			producer.produceSync(Message.of("orders", "owner, on its own"));
			assertThat(this.kafka.payloads("orders")).containsExactly("committed elsewhere", "other thread",
					"owner, on its own");
			assertThatExceptionOfType(IllegalStateException.class).isThrownBy(transaction::abort)
				.withMessageContaining("it has ended already");

			BoundTransaction aborted = producer.beginTransaction();
			producer.produceAsync(Message.of("orders", "aborted elsewhere"));
			other.submit(aborted::abort).get(30, TimeUnit.SECONDS);
			producer.produceSync(Message.of("orders", "after the abort"));
			assertThat(this.kafka.payloads("orders")).endsWith("owner, on its own", "after the abort")
				.doesNotContain("aborted elsewhere");
		}
		finally {
			other.shutdownNow();
		}
	}

	/**
	 * The owner and another thread ending it at once: one end goes through, the other is refused, and the
	 * producer's turn is given up once (a second release would let two transactions run at the same time).
	 */
	@Test
	@Timeout(value = 120, unit = TimeUnit.SECONDS)
	void twoThreadsEndingItAtOnceEndItOnceAndGiveTheTurnUpOnce() throws Exception {
		Producer producer = transactional(this.kafka, null);
		ExecutorService other = Executors.newFixedThreadPool(2);
		try {
			for (int round = 0; round < 200; round++) {
				BoundTransaction transaction = producer.beginTransaction();
				CyclicBarrier start = new CyclicBarrier(2);
				Future<Throwable> fromOther = other.submit(() -> {
					start.await();
					return catchThrowable(transaction::abort);
				});
				start.await(30, TimeUnit.SECONDS);
				Throwable fromOwner = catchThrowable(transaction::commit);
				Throwable otherOutcome = fromOther.get(30, TimeUnit.SECONDS);

				assertThat(Arrays.asList(fromOwner, otherOutcome)).as("round %d", round)
					.filteredOn(Objects::nonNull)
					.singleElement()
					.satisfies((refused) -> assertThat(refused).isInstanceOf(IllegalStateException.class)
						.hasMessageContaining("it has ended already"));
			}
			BoundTransaction held = producer.beginTransaction();
			CountDownLatch secondBegun = new CountDownLatch(1);
			AtomicReference<Thread> waiter = new AtomicReference<>();
			Future<?> second = other.submit(() -> {
				waiter.set(Thread.currentThread());
				producer.beginTransaction().commit();
				secondBegun.countDown();
			});
			// It waits for the turn (parked), unless the turn was given up twice and it began at once.
			await().atMost(Duration.ofSeconds(30))
				.until(() -> secondBegun.getCount() == 0
						|| (waiter.get() != null && waiter.get().getState() == Thread.State.TIMED_WAITING));
			assertThat(secondBegun.getCount()).as("a second transaction began while one was open").isOne();
			held.commit();
			second.get(30, TimeUnit.SECONDS);
		}
		finally {
			other.shutdownNow();
		}
	}

	@Test
	void aPollingThreadMayNotEndIt() {
		Producer producer = transactional(this.kafka, null);
		BoundTransaction transaction = producer.beginTransaction();
		AtomicReference<Throwable> refused = new AtomicReference<>();
		Producer plain = track(new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("plain"))
			.clientFactory(new InMemoryKafka())
			.build()));

		plain.produceAsync(Message.of("events", "x"),
				(report, failure) -> refused.set(catchThrowable(transaction::commit)));
		await().atMost(Duration.ofSeconds(30)).until(() -> refused.get() != null);

		assertThat(refused.get()).isInstanceOf(IllegalCallerException.class);
		assertThat(transaction.isOpen()).isTrue();
		transaction.abort();
	}

	/**
	 * Two transactions that each hold what the other waits for (a database row lock and the producer) must
	 * not wait for ever: the one waiting for the producer gives up after max-wait-timeout, nothing begun.
	 */
	@Test
	void waitingForAnotherThreadsTransactionEndsAfterMaxWaitTimeout() throws Exception {
		Producer producer = track(new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("tx-wait"))
			.kafka("transactional.id", TestProducers.uniqueId("tx-wait"))
			.maxWaitTimeout(Duration.ofMillis(200))
			.clientFactory(this.kafka)
			.build()));
		ExecutorService other = Executors.newSingleThreadExecutor();
		try {
			BoundTransaction held = producer.beginTransaction();

			assertThat(other.submit(() -> catchThrowable(() -> producer.produceSync(Message.of("orders", "waited"))))
				.get(30, TimeUnit.SECONDS)).isInstanceOf(TransactionWaitTimeoutException.class)
				.hasMessageContaining("did not end within PT0.2S");
			assertThat(other.submit(() -> catchThrowable(producer::beginTransaction)).get(30, TimeUnit.SECONDS))
				.isInstanceOf(TransactionWaitTimeoutException.class);

			held.commit();
			// The turn is free now; the report's own wait must not hang on the 200 ms meant for the turn.
			other.submit(() -> producer.produceSync(Message.of("orders", "after"), Duration.ofSeconds(30)))
				.get(30, TimeUnit.SECONDS);
			assertThat(this.kafka.payloads("orders")).containsExactly("after");
		}
		finally {
			other.shutdownNow();
		}
	}

	@Test
	void anInterruptEndsTheWaitForTheTurn() throws Exception {
		Producer producer = transactional(this.kafka, null);
		BoundTransaction held = producer.beginTransaction();
		AtomicReference<Throwable> refused = new AtomicReference<>();
		AtomicReference<Boolean> flagKept = new AtomicReference<>();
		Thread waiter = new Thread(() -> {
			refused.set(catchThrowable(() -> producer.produceSync(Message.of("orders", "never"))));
			flagKept.set(Thread.currentThread().isInterrupted());
		});
		waiter.start();
		await().atMost(Duration.ofSeconds(30)).until(() -> waiter.getState() == Thread.State.TIMED_WAITING);

		waiter.interrupt();
		waiter.join(30_000);

		assertThat(refused.get()).isInstanceOf(WaterDropException.class)
			.hasMessageContaining("Interrupted while waiting");
		assertThat(flagKept.get()).isTrue();
		held.abort();
		assertThat(this.kafka.payloads("orders")).isEmpty();
	}

	@Test
	void nonTransactionalProducerRefusesToBegin() {
		Producer producer = track(new Producer(ProducerConfig.builder().id("plain").clientFactory(this.kafka).build()));

		assertThatExceptionOfType(IllegalStateException.class).isThrownBy(producer::beginTransaction)
			.withMessageContaining("'plain' is not transactional");
		assertThat(producer.inTransaction()).isFalse();
	}

	@Test
	void refusedCommitAbortsEndsTheTransactionAndThrowsTransactionFailed() {
		MockProducer<byte[], byte[]> mock = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		mock.commitTransactionException = new KafkaException("commit refused");
		Producer producer = transactional((properties) -> mock, null);
		List<String> events = transactionEvents(producer);

		BoundTransaction transaction = producer.beginTransaction();
		producer.produceSync(Message.of("orders", "1"));
		assertThatExceptionOfType(TransactionFailedException.class).isThrownBy(transaction::commit)
			.withMessageContaining("could not be committed and was rolled back");

		assertThat(transaction.isOpen()).isFalse();
		assertThat(producer.inTransaction()).isFalse();
		assertThat(mock.transactionAborted()).isTrue();
		assertThat(events).containsExactly("transaction.started", "transaction.aborted", "transaction.finished");
		// The lock was released: another thread gets its turn.
		mock.commitTransactionException = null;
		assertThat(CompletableFuture.supplyAsync(() -> producer.produceSync(Message.of("orders", "2")))
			.join()
			.topic()).isEqualTo("orders");
	}

	@Test
	void commitTimeoutsAreRetriedAsForABlock() {
		List<StrictTransactions> clients = new CopyOnWriteArrayList<>();
		Producer producer = transactional((properties) -> {
			StrictTransactions client = new StrictTransactions(clients.isEmpty() ? Integer.MAX_VALUE : 0);
			clients.add(client);
			return client;
		}, null);
		List<ProducerEvent.Reloaded> reloads = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Reloaded.class, reloads::add);

		BoundTransaction transaction = producer.beginTransaction();
		producer.produceSync(Message.of("orders", "1"));
		assertThatExceptionOfType(TransactionFailedException.class).isThrownBy(transaction::commit)
			.withMessageContaining("outcome is unknown")
			.withCauseInstanceOf(TimeoutException.class);

		assertThat(clients.get(0).commitCalls).hasValue(ProducerConfig.DEFAULT_MAX_ATTEMPTS_ON_TRANSACTION_COMMAND);
		assertThat(reloads).hasSize(1);
		BoundTransaction next = producer.beginTransaction();
		producer.produceSync(Message.of("orders", "2"));
		next.commit();
		assertThat(clients).hasSize(2);
		assertThat(clients.get(1).transactionCommitted()).isTrue();
	}

	@Test
	void fencedBoundTransactionIsNotRebuiltByDefault() {
		List<MockProducer<byte[], byte[]>> clients = new CopyOnWriteArrayList<>();
		Producer producer = transactional((properties) -> {
			MockProducer<byte[], byte[]> client = new MockProducer<>(true, null, new ByteArraySerializer(),
					new ByteArraySerializer());
			clients.add(client);
			return client;
		}, null);
		List<ProducerEvent.Reloaded> reloads = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Reloaded.class, reloads::add);

		BoundTransaction transaction = producer.beginTransaction();
		clients.get(0).fenceProducer();
		assertThatExceptionOfType(DeliveryFailedException.class)
			.isThrownBy(() -> producer.produceSync(Message.of("orders", "1")))
			.withRootCauseInstanceOf(ProducerFencedException.class);
		transaction.abort();

		assertThat(reloads).isEmpty();
		assertThat(clients).hasSize(1);
		assertThatThrownBy(producer::beginTransaction).isInstanceOf(ProducerFencedException.class);
		assertThat(producer.inTransaction()).isFalse();
	}

	@Test
	void joinerBeginsATransactionThatProduceAndTransactionBlocksJoin() {
		AtomicReference<BoundTransaction> outer = new AtomicReference<>();
		AtomicInteger asked = new AtomicInteger();
		Producer producer = transactional(this.kafka, (self) -> {
			asked.incrementAndGet();
			outer.set(self.beginTransaction());
			return true;
		});
		List<String> events = transactionEvents(producer);

		producer.produceSync(Message.of("orders", "1"));
		producer.produceManyAsync(List.of(Message.of("orders", "2")));
		producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "3")));
		producer.buffer(Message.of("orders", "4"));
		producer.flushSync();

		// Asked once: afterwards the thread has a transaction open, which everything joins.
		assertThat(asked).hasValue(1);
		assertThat(this.kafka.records()).isEmpty();
		outer.get().commit();
		assertThat(this.kafka.payloads("orders")).containsExactly("1", "2", "3", "4");
		assertThat(events).containsExactly("transaction.started", "transaction.committed", "transaction.finished");
	}

	/** What an inner scope that suspends the outer transaction (Spring's REQUIRES_NEW) produces must not join it. */
	@Test
	void aSuspendedTransactionRefusesTheThreadsWorkUntilItResumes() {
		AtomicInteger asked = new AtomicInteger();
		Producer producer = transactional(this.kafka, (self) -> asked.incrementAndGet() < 0);
		BoundTransaction transaction = producer.beginTransaction();
		producer.produceSync(Message.of("orders", "before"));

		transaction.suspend();

		assertThat(transaction.isSuspended()).isTrue();
		assertThat(producer.inTransaction()).isTrue();
		assertThatExceptionOfType(IllegalStateException.class)
			.isThrownBy(() -> producer.produceSync(Message.of("orders", "inner")))
			.withMessageContaining("has a suspended transaction open on this thread");
		assertThatExceptionOfType(IllegalStateException.class)
			.isThrownBy(() -> producer.produceAsync(Message.of("orders", "inner")));
		assertThatExceptionOfType(IllegalStateException.class)
			.isThrownBy(() -> producer.produceManySync(List.of(Message.of("orders", "inner"))));
		assertThatExceptionOfType(IllegalStateException.class)
			.isThrownBy(() -> producer.transaction((nested) -> nested.produceSync(Message.of("orders", "inner"))));
		producer.buffer(Message.of("orders", "buffered"));
		assertThatExceptionOfType(IllegalStateException.class).isThrownBy(producer::flushSync);
		assertThatExceptionOfType(IllegalStateException.class).isThrownBy(producer::beginTransaction)
			.withMessageContaining("has a suspended transaction open on this thread already");
		assertThatExceptionOfType(IllegalStateException.class)
			.isThrownBy(() -> transaction.markAsConsumed(
					Map.of(new org.apache.kafka.common.TopicPartition("in", 0),
							new org.apache.kafka.clients.consumer.OffsetAndMetadata(7)),
					new org.apache.kafka.clients.consumer.ConsumerGroupMetadata("group")))
			.withMessageContaining("it is suspended on this thread");
		assertThat(asked).hasValue(0); // refused, not handed to the joiner for a transaction of its own

		transaction.resume();
		producer.produceSync(Message.of("orders", "after"));
		producer.flushSync(); // the buffered message was kept
		transaction.commit();

		assertThat(this.kafka.payloads("orders")).containsExactly("before", "after", "buffered");
		assertThat(this.kafka.consumedOffsets()).isEmpty();
		assertThat(producer.inFlight()).isZero();
	}

	/**
	 * A closed producer refuses a transaction at once, also while another thread still holds one open: it does
	 * not wait its turn for the transaction lock to learn that it is closed.
	 */
	@Test
	void aClosedProducerRefusesATransactionWithoutWaitingForAnotherThreadsToEnd() throws Exception {
		Producer producer = transactional(this.kafka, null);
		producer.connect();
		java.util.concurrent.CountDownLatch begun = new java.util.concurrent.CountDownLatch(1);
		java.util.concurrent.CountDownLatch end = new java.util.concurrent.CountDownLatch(1);
		// Threads of its own: the common pool may have one thread only, which the open transaction holds.
		java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newCachedThreadPool();
		CompletableFuture<Void> other = CompletableFuture.runAsync(() -> {
			BoundTransaction open = producer.beginTransaction();
			begun.countDown();
			try {
				end.await();
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
			catchThrowable(open::abort); // ends it, whatever the closed client answers
		}, threads);
		try {
			assertThat(begun.await(30, TimeUnit.SECONDS)).isTrue();
			producer.close(Duration.ZERO);

			CompletableFuture<Throwable> refusal = CompletableFuture.supplyAsync(() -> catchThrowable(
					() -> producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "x")))),
					threads);
			assertThat(refusal.get(30, TimeUnit.SECONDS)).isInstanceOf(ProducerClosedException.class);
			assertThat(catchThrowable(producer::beginTransaction)).isInstanceOf(ProducerClosedException.class);
		}
		finally {
			end.countDown();
			threads.shutdown();
		}
		other.get(30, TimeUnit.SECONDS);
	}

	@Test
	void aTransactionEndedWhileSuspendedLeavesTheNextOneJoinable() {
		Producer producer = transactional(this.kafka, null);
		BoundTransaction first = producer.beginTransaction();
		first.suspend();
		first.abort();
		assertThat(first.isSuspended()).isFalse(); // ended: neither open nor suspended

		BoundTransaction second = producer.beginTransaction();
		producer.produceSync(Message.of("orders", "joined"));
		second.commit();

		assertThat(second.isSuspended()).isFalse();
		assertThat(this.kafka.payloads("orders")).containsExactly("joined");
	}

	@Test
	void joinerDecliningLeavesTheProducerToItsOwnTransactions() {
		AtomicInteger asked = new AtomicInteger();
		Producer producer = transactional(this.kafka, (self) -> {
			asked.incrementAndGet();
			return false;
		});

		producer.produceSync(Message.of("orders", "1"));
		producer.transaction((transaction) -> {
			transaction.produceSync(Message.of("orders", "2"));
			// A transaction is open on this thread: the joiner is not asked again.
			return transaction.produceSync(Message.of("orders", "3"));
		});

		assertThat(asked).hasValue(2);
		assertThat(this.kafka.payloads("orders")).containsExactly("1", "2", "3");
	}

	@Test
	void joinerIsNeverAskedByANonTransactionalProducer() {
		AtomicInteger asked = new AtomicInteger();
		Producer producer = track(new Producer(ProducerConfig.builder()
			.id("plain-joined")
			.transactionJoiner((self) -> asked.incrementAndGet() > 0)
			.clientFactory(this.kafka)
			.build()));

		producer.produceSync(Message.of("orders", "1"));

		assertThat(asked).hasValue(0);
		assertThat(this.kafka.payloads("orders")).containsExactly("1");
	}

	@Test
	void joinerThatFailsRefusesTheMessage() {
		Producer producer = transactional(this.kafka, (self) -> {
			throw new IllegalStateException("no outer transaction manager (simulated)");
		});

		assertThatExceptionOfType(IllegalStateException.class)
			.isThrownBy(() -> producer.produceSync(Message.of("orders", "1")))
			.withMessageContaining("simulated");
		assertThat(this.kafka.records()).isEmpty();
		assertThat(producer.inTransaction()).isFalse();
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.inFlight() == 0);
	}

	/**
	 * Ending the transaction from inside a send into it (a Kafka interceptor or partitioner on the owner's
	 * thread) would wait for that very send: it is refused, and the transaction goes on to be ended after.
	 */
	@Test
	void aTransactionEndedFromInsideASendIntoItIsRefusedNotDeadlocked() {
		AtomicReference<BoundTransaction> open = new AtomicReference<>();
		AtomicReference<Throwable> fromSend = new AtomicReference<>();
		MockProducer<byte[], byte[]> client = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer()) {
			@Override
			public synchronized java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata> send(
					ProducerRecord<byte[], byte[]> record, org.apache.kafka.clients.producer.Callback callback) {
				fromSend.set(catchThrowable(() -> open.get().commit()));
				return super.send(record, callback);
			}
		};
		Producer producer = flushingInPairs(client);
		open.set(producer.beginTransaction());

		producer.produceAsync(Message.of("orders", "1"));

		assertThat(fromSend.get()).isInstanceOf(IllegalStateException.class)
			.hasMessageContaining("cannot end from inside a send into it");
		open.get().commit();
		assertThat(client.transactionCommitted()).isTrue();
		assertThat(client.history()).hasSize(1);
	}

	// --- helpers	// --- helpers

	private Producer transactional(Function<Map<String, Object>, org.apache.kafka.clients.producer.Producer<byte[], byte[]>> client,
			TransactionJoiner joiner) {
		return track(new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("tx-bound"))
			.kafka("transactional.id", TestProducers.uniqueId("tx-bound"))
			.maxWaitTimeout(Duration.ofSeconds(30))
			.reloadBackoff(Duration.ZERO)
			.nonReloadableErrors(Set.of(ProducerFencedException.class,
					org.apache.kafka.common.errors.InvalidProducerEpochException.class))
			.transactionJoiner(joiner)
			.clientFactory(client)
			.build()));
	}

	/** A transactional producer on {@code client} whose flushes send in batches of two. */
	private Producer flushingInPairs(org.apache.kafka.clients.producer.Producer<byte[], byte[]> client) {
		return track(new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("tx-bound"))
			.kafka("transactional.id", TestProducers.uniqueId("tx-bound"))
			.maxWaitTimeout(Duration.ofSeconds(30))
			.maxInFlight(2)
			.clientFactory((properties) -> client)
			.build()));
	}

	private Producer track(Producer producer) {
		this.producers.add(producer);
		return producer;
	}

	/**
	 * Kafka's client as far as a commit that races a send goes: the commit is held at its start until
	 * {@link #releaseCommit}, and meanwhile a send appends its record and only then refuses it, as
	 * {@code KafkaProducer.doSend} does (its {@code maybeAddPartition} finds the transaction committing).
	 */
	static class CommitHeldKafka extends MockProducer<byte[], byte[]> {

		final CountDownLatch inCommit = new CountDownLatch(1);

		final CountDownLatch releaseCommit = new CountDownLatch(1);

		private volatile boolean committing;

		CommitHeldKafka(boolean autoComplete) {
			super(autoComplete, null, new ByteArraySerializer(), new ByteArraySerializer());
		}

		@Override // not synchronized, as MockProducer's is: a commit may begin while a send waits in here
		public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
			beforeSend(record);
			Future<RecordMetadata> appended = super.send(record, callback);
			if (this.committing) {
				throw new IllegalStateException("Cannot add partition " + record.topic()
						+ "-0 to transaction while in state COMMITTING_TRANSACTION (simulated)");
			}
			return appended;
		}

		/** Runs as a send begins, before the record is appended. */
		void beforeSend(ProducerRecord<byte[], byte[]> record) {
		}

		@Override
		public void commitTransaction() {
			this.committing = true;
			this.inCommit.countDown();
			TestProducers.awaitLatch(this.releaseCommit);
			try {
				super.commitTransaction();
			}
			finally {
				this.committing = false;
			}
		}

	}

	private static List<String> transactionEvents(Producer producer) {
		List<String> names = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe((event) -> {
			if (event.name().startsWith("transaction.")) {
				names.add(event.name());
			}
		});
		return names;
	}

}
