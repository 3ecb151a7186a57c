package io.waterdrop;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.waterdrop.instrumentation.ProducerEvent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

/**
 * Transactions when Kafka's transaction manager fails: timed-out commits, rebuilds that fail, capped
 * rebuilds, blocks that throw checked exceptions. The clients follow {@code TransactionManager}'s rules: after
 * a timed-out commit only a retry of the commit is accepted ({@code handleCachedTransactionRequestResult}).
 */
@Timeout(60)
class TransactionFailureTests {

	private final List<Producer> producers = new CopyOnWriteArrayList<>();

	private final List<StrictTransactions> clients = new CopyOnWriteArrayList<>();

	@AfterEach
	void closeAll() {
		this.producers.forEach(Producer::closeForcefully);
	}

	private Producer producer(Function<ProducerConfig.Builder, ProducerConfig.Builder> settings,
			Function<Integer, StrictTransactions> clientNumbered) {
		AtomicInteger created = new AtomicInteger();
		Producer producer = new Producer(settings.apply(ProducerConfig.builder()
			.id(TestProducers.uniqueId("tx-failure"))
			.kafka("transactional.id", TestProducers.uniqueId("tx-failure"))
			.maxWaitTimeout(Duration.ofSeconds(30))
			.reloadBackoff(Duration.ZERO)
			.clientFactory((properties) -> {
				StrictTransactions client = clientNumbered.apply(created.getAndIncrement());
				this.clients.add(client);
				return client;
			})).build());
		this.producers.add(producer);
		return producer;
	}

	@Test
	void commitThatTimesOutIsRetriedAsTheSameCallAndSucceeds() {
		Producer producer = producer((settings) -> settings, (n) -> new StrictTransactions(2));

		DeliveryReport report = producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "1")));
		assertThat(report.topic()).isEqualTo("orders");

		StrictTransactions client = this.clients.get(0);
		assertThat(client.commitCalls).hasValue(3);
		assertThat(client.transactionCommitted()).isTrue();
		assertThat(this.clients).hasSize(1);
	}

	/**
	 * Also with reloading after fatal errors off: the old client accepts nothing but the timed-out commit, and a
	 * new one's initialisation settles it. Its outcome unknown, neither committed nor aborted is published.
	 */
	@ParameterizedTest(name = "reload-on-transaction-fatal-error: {0}")
	@ValueSource(booleans = { true, false })
	void commitStillTimingOutIsReportedAsUnknownAndTheProducerIsRebuiltAndWorks(boolean reloadOnFatalError) {
		Producer producer = producer((settings) -> settings.reloadOnTransactionFatalError(reloadOnFatalError),
				(n) -> (n == 0) ? new StrictTransactions(Integer.MAX_VALUE) : new StrictTransactions(0));
		List<ProducerEvent.Reloaded> reloads = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Reloaded.class, reloads::add);
		List<Class<?>> ends = recordTransactionEnds(producer);

		assertThatExceptionOfType(TransactionOutcomeUnknownException.class)
			.isThrownBy(() -> producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "1"))))
			.withMessageContaining("outcome is unknown")
			.withCauseInstanceOf(TimeoutException.class);
		assertThat(this.clients.get(0).commitCalls).hasValue(ProducerConfig.DEFAULT_MAX_ATTEMPTS_ON_TRANSACTION_COMMAND);
		assertThat(this.clients.get(0).closed()).isTrue();
		assertThat(reloads).hasSize(1);
		assertThat(ends).containsExactly(ProducerEvent.TransactionFinished.class);

		// Not wedged: the next transaction runs on the rebuilt client.
		producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "2")));
		assertThat(this.clients).hasSize(2);
		assertThat(this.clients.get(1).transactionCommitted()).isTrue();
	}

	/**
	 * A transaction whose thread is interrupted (its task cancelled) before the commit: the commit still waits
	 * for Kafka each attempt, and when it times out the client is still rebuilt (Kafka's initTransactions would
	 * fail at once on the interrupted thread, leaving a client that accepts only the timed-out commit). The
	 * interrupt is kept for the caller.
	 */
	@Test
	void aCommitTimingOutOnAnInterruptedThreadStillRebuildsTheClientAndKeepsTheInterrupt() {
		Producer producer = producer((settings) -> settings,
				(n) -> (n == 0) ? new StrictTransactions(Integer.MAX_VALUE) : new StrictTransactions(0));
		List<ProducerEvent.Reloaded> reloads = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Reloaded.class, reloads::add);
		try {
			assertThatExceptionOfType(TransactionOutcomeUnknownException.class)
				.isThrownBy(() -> producer.transaction((transaction) -> {
					transaction.produceSync(Message.of("orders", "1"));
					Thread.currentThread().interrupt();
					return null;
				}))
				.satisfies((ex) -> assertThat(ex.getSuppressed()).as("the rebuild's failure").isEmpty());
			assertThat(Thread.interrupted()).as("the interrupt is kept").isTrue();
		}
		finally {
			Thread.interrupted();
		}
		assertThat(this.clients.get(0).commitCalls)
			.hasValue(ProducerConfig.DEFAULT_MAX_ATTEMPTS_ON_TRANSACTION_COMMAND);
		assertThat(reloads).hasSize(1);
		assertThat(this.clients.get(0).closed()).isTrue();
		producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "2")));
		assertThat(this.clients).hasSize(2);
		assertThat(this.clients.get(1).transactionCommitted()).isTrue();
	}

	/** A flush whose commit may have succeeded does not put its messages back: sent again they could duplicate. */
	@Test
	void aFlushWhoseCommitOutcomeIsUnknownKeepsNothingInTheBuffer() {
		Producer producer = producer((settings) -> settings,
				(n) -> (n == 0) ? new StrictTransactions(Integer.MAX_VALUE) : new StrictTransactions(0));
		producer.bufferMany(List.of(Message.of("orders", "1"), Message.of("orders", "2")));

		assertThatExceptionOfType(TransactionOutcomeUnknownException.class).isThrownBy(producer::flushSync);

		assertThat(producer.bufferSize()).isZero();
		producer.buffer(Message.of("orders", "3"));
		assertThat(producer.flushSync()).extracting((report) -> report.offset()).hasSize(1);
	}

	/** A close that forces the client shut under a commit cannot know whether the broker took the commit. */
	@Test
	void aCommitCutShortByTheProducersCloseIsReportedAsUnknown() throws Exception {
		Producer producer = committingUntilClosed(false);
		CompletableFuture<Object> transaction = CompletableFuture.supplyAsync(
				() -> producer.transaction((open) -> open.produceSync(Message.of("orders", "1"))));
		assertThat(this.clientsCreated().committing.await(30, TimeUnit.SECONDS)).isTrue();

		producer.close(Duration.ZERO);

		assertCutShortByTheClose(transaction);
	}

	/**
	 * A commit that begins after the close went past draining, while the close has not yet shut the client, may
	 * reach the broker before the client is shut under it: its outcome is unknown, not rolled back.
	 */
	@Test
	void aCommitBegunAsTheCloseShutsTheClientIsReportedAsUnknown() throws Exception {
		Producer producer = committingUntilClosed(true);
		CountDownLatch sent = new CountDownLatch(1);
		CompletableFuture<Object> transaction = CompletableFuture.supplyAsync(
				() -> producer.transaction((open) -> {
					open.produceSync(Message.of("orders", "1"));
					sent.countDown();
					TestProducers.awaitUninterruptibly(this.clients.get(0).closing); // the close shuts the client
					return null;
				}));
		assertThat(sent.await(30, TimeUnit.SECONDS)).isTrue();

		List<Class<?>> ends = recordTransactionEnds(producer);
		producer.close(Duration.ZERO);

		assertCutShortByTheClose(transaction);
		assertThat(ends).containsExactly(ProducerEvent.TransactionFinished.class); // neither committed nor aborted
	}

	/** The events that end transactions, in order: committed, aborted, finished. */
	private static List<Class<?>> recordTransactionEnds(Producer producer) {
		List<Class<?>> ends = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.TransactionCommitted.class, (event) -> ends.add(event.getClass()));
		producer.monitor().subscribe(ProducerEvent.TransactionAborted.class, (event) -> ends.add(event.getClass()));
		producer.monitor().subscribe(ProducerEvent.TransactionFinished.class, (event) -> ends.add(event.getClass()));
		return ends;
	}

	/** A producer whose client's commits wait until the client is closed, then fail as a forced close fails them. */
	private Producer committingUntilClosed(boolean closeTakesEffectAfterCommitBegins) {
		return producer((settings) -> settings, (n) -> {
			StrictTransactions client = new StrictTransactions(0);
			client.commitUntilClosed = true;
			client.closeTakesEffectAfterCommitBegins = closeTakesEffectAfterCommitBegins;
			return client;
		});
	}

	private static void assertCutShortByTheClose(CompletableFuture<Object> transaction) {
		assertThat(transaction).failsWithin(Duration.ofSeconds(30))
			.withThrowableOfType(ExecutionException.class)
			.havingCause()
			.isInstanceOf(TransactionOutcomeUnknownException.class)
			.withMessageContaining("cut short by the producer's close");
	}

	/**
	 * A synchronous send that stops waiting inside the producer's own transaction (here the one a send outside
	 * any runs in) rolls the transaction back: the caller is told so, not that the message may still be
	 * delivered.
	 */
	@Test
	void aSynchronousSendTimingOutInItsOwnTransactionIsReportedAsRolledBack() {
		Producer producer = producer((settings) -> settings, (n) -> new StrictTransactions(0, false));

		assertThatExceptionOfType(TransactionFailedException.class)
			.isThrownBy(() -> producer.produceSync(Message.of("orders", "1"), Duration.ofMillis(50)))
			.withMessageContaining("was rolled back because a synchronous send in it stopped waiting")
			.withMessageContaining("will not be delivered")
			.withCauseInstanceOf(DeliveryTimeoutException.class)
			.isNotInstanceOf(TransactionOutcomeUnknownException.class);
		assertThat(this.clients.get(0).transactionAborted()).isTrue();
		assertThat(this.clients.get(0).transactionCommitted()).isFalse();
	}

	/** So does one interrupted while it waits (a cancelled task), which keeps its interrupt flag. */
	@Test
	@Timeout(60)
	void aSynchronousSendInterruptedInItsOwnTransactionIsReportedAsRolledBack() throws Exception {
		Producer producer = producer((settings) -> settings, (n) -> new StrictTransactions(0, false));
		AtomicReference<Throwable> failure = new AtomicReference<>();
		AtomicBoolean keptInterrupt = new AtomicBoolean();
		Thread sender = new Thread(() -> {
			try {
				producer.produceSync(Message.of("orders", "1"));
			}
			catch (Throwable ex) {
				failure.set(ex);
				keptInterrupt.set(Thread.currentThread().isInterrupted());
			}
		});
		sender.start();
		await().atMost(Duration.ofSeconds(30))
			.until(() -> producer.inFlight() == 1 && sender.getState() == Thread.State.TIMED_WAITING);
		sender.interrupt();
		sender.join(30_000);

		assertThat(failure.get()).isInstanceOf(TransactionFailedException.class)
			.hasMessageContaining("was rolled back because a synchronous send in it was interrupted")
			.hasMessageContaining("will not be delivered")
			.hasCauseInstanceOf(DeliveryInterruptedException.class);
		assertThat(keptInterrupt).isTrue();
		assertThat(this.clients.get(0).transactionAborted()).isTrue();
		assertThat(this.clients.get(0).transactionCommitted()).isFalse();
	}

	/**
	 * A commit whose first attempt timed out (its EndTxn sent) and whose retry the client, shut by the close
	 * meanwhile, refuses before sending: the first may have reached the broker, so the outcome is unknown.
	 */
	@Test
	@Timeout(60)
	void aCommitRetryRefusedByTheClosedClientAfterATimedOutAttemptIsReportedAsUnknown() throws Exception {
		Producer producer = producer((settings) -> settings, (n) -> {
			StrictTransactions client = new StrictTransactions(1);
			client.firstCommitTimesOutOnClose = true;
			return client;
		});
		CompletableFuture<Object> transaction = CompletableFuture.supplyAsync(
				() -> producer.transaction((open) -> open.produceSync(Message.of("orders", "1"))));
		await().atMost(Duration.ofSeconds(30)).until(() -> !this.clients.isEmpty());
		assertThat(this.clients.get(0).committing.await(30, TimeUnit.SECONDS)).isTrue();
		producer.close(Duration.ZERO);
		Throwable failure = catchThrowable(() -> transaction.get(30, TimeUnit.SECONDS));
		assertThat(failure).hasCauseInstanceOf(TransactionOutcomeUnknownException.class);
	}

	/**
	 * Another producer's synchronous send timing out in a transaction block is not this transaction's message:
	 * its timeout comes as it is ("may still be delivered", and it is), not as a rollback of it.
	 */
	@Test
	@Timeout(60)
	void anotherProducersTimeoutInATransactionIsNotReportedAsItsRollback() throws Exception {
		Producer producer = producer((settings) -> settings, (n) -> new StrictTransactions(0));
		MockProducer<byte[], byte[]> otherKafka = new MockProducer<>(false, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		Producer other = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("other"))
			.maxWaitTimeout(Duration.ofSeconds(30))
			.clientFactory((properties) -> otherKafka)
			.build());
		this.producers.add(other);
		Throwable failure = catchThrowable(() -> producer.transaction(
				(open) -> other.produceSync(Message.of("audit", "1"), Duration.ofMillis(100))));
		assertThat(otherKafka.completeNext()).isTrue();
		await().atMost(Duration.ofSeconds(30)).until(() -> other.stats().acknowledged() == 1);
		assertThat(failure).isInstanceOf(DeliveryTimeoutException.class);
	}

	/** A commit that begins after the producer closed cannot have happened: the close aborted its transaction. */
	@Test
	void aCommitAfterTheProducerClosedIsReportedAsRolledBackNotUnknown() throws Exception {
		Producer producer = producer((settings) -> settings, (n) -> new StrictTransactions(0));
		ExecutorService owner = Executors.newSingleThreadExecutor();
		try {
			BoundTransaction open = owner.submit(producer::beginTransaction).get(30, TimeUnit.SECONDS);
			producer.close(Duration.ZERO);

			Throwable failure = owner.submit(() -> catchThrowable(open::commit))
				.get(30, TimeUnit.SECONDS);

			assertThat(failure).isInstanceOf(TransactionFailedException.class)
				.isNotInstanceOf(TransactionOutcomeUnknownException.class)
				.hasMessageContaining("was rolled back");
		}
		finally {
			owner.shutdown();
		}
	}

	private StrictTransactions clientsCreated() {
		await().atMost(Duration.ofSeconds(30)).until(() -> !this.clients.isEmpty());
		return this.clients.get(0);
	}

	@Test
	void rebuildThatFailsKeepsTheOldClientAndIsRetriedByTheNextTransaction() {
		Producer producer = producer((settings) -> settings.nonReloadableErrors(Set.of()), (n) -> {
			if (n == 1) {
				throw new KafkaException("broker unreachable while rebuilding (simulated)");
			}
			return new StrictTransactions(0);
		});

		assertThatThrownBy(() -> producer.transaction((transaction) -> {
			this.clients.get(0).fenceProducer();
			return transaction.produceSync(Message.of("orders", "1"));
		})).hasRootCauseInstanceOf(ProducerFencedException.class);
		// Build first, then swap and close: the failed build left the old client as it was.
		assertThat(this.clients).hasSize(1);
		assertThat(this.clients.get(0).closed()).isFalse();

		producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "2")));
		assertThat(this.clients).hasSize(2);
		assertThat(this.clients.get(0).closed()).isTrue();
		assertThat(this.clients.get(1).transactionCommitted()).isTrue();
	}

	@Test
	void rebuildsInARowStopAtMaxReloadAttempts() {
		// Every client is fenced as soon as it exists: each transaction rebuilds once, until the cap.
		Producer producer = producer((settings) -> settings.nonReloadableErrors(Set.of()).maxReloadAttempts(3),
				(n) -> {
					StrictTransactions client = new StrictTransactions(0);
					client.fenceOnFirstBegin = true;
					return client;
				});
		for (int attempt = 0; attempt < 3; attempt++) {
			assertThatThrownBy(() -> producer.transaction((transaction) -> null))
				.isInstanceOf(ProducerFencedException.class);
		}
		assertThat(this.clients).hasSize(4);
		assertThatExceptionOfType(TransactionFailedException.class)
			.isThrownBy(() -> producer.transaction((transaction) -> null))
			.withMessageContaining("max-reload-attempts");
		assertThat(this.clients).hasSize(4);
	}

	/**
	 * Commits that keep timing out (a slow broker, or interrupted: cancelled tasks) more often in a row than
	 * max-reload-attempts: each is an unknown outcome and rebuilds the client, but none counts toward the cap,
	 * which is for clients poisoned anew; the producer is not retired, and commits once Kafka answers again.
	 */
	@ParameterizedTest(name = "interrupted: {0}")
	@ValueSource(booleans = { false, true })
	void commitsTimingOutMoreOftenThanMaxReloadAttemptsDoNotRetireTheProducer(boolean interrupted) {
		Producer producer = producer((settings) -> settings.maxReloadAttempts(2), (n) -> {
			StrictTransactions client = new StrictTransactions((n < 3) ? Integer.MAX_VALUE : 0);
			client.commitInterruptedInsteadOfTimingOut = interrupted;
			return client;
		});
		for (int attempt = 0; attempt < 3; attempt++) {
			assertThatExceptionOfType(TransactionOutcomeUnknownException.class).isThrownBy(
					() -> producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "1"))));
			assertThat(Thread.interrupted()).isEqualTo(interrupted); // the interrupt is the caller's to see
		}
		assertThat(this.clients).hasSize(4);

		producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "2")));

		assertThat(this.clients).hasSize(4);
		assertThat(this.clients.get(3).transactionCommitted()).isTrue();
	}

	/**
	 * A commit timed out, and every client built since fails its initialisation with a fatal error: the rebuilds
	 * answering that error are counted, so the producer gives up after max-reload-attempts of them instead of
	 * building a client for every transaction, and says why.
	 */
	@Test
	void rebuildsFailingFatallyAfterATimedOutCommitStillStopAtMaxReloadAttempts() {
		Producer producer = producer((settings) -> settings.maxReloadAttempts(2), (n) -> {
			StrictTransactions client = new StrictTransactions((n == 0) ? Integer.MAX_VALUE : 0);
			client.initFails = n > 0;
			return client;
		});
		assertThatExceptionOfType(TransactionOutcomeUnknownException.class).isThrownBy(
				() -> producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "1"))));
		for (int attempt = 0; attempt < 2; attempt++) {
			assertThatExceptionOfType(TransactionFailedException.class)
				.isThrownBy(() -> producer.transaction((transaction) -> null))
				.withMessageContaining("could not rebuild its Kafka client after")
				.withMessageContaining("TransactionalIdAuthorizationException");
		}
		assertThat(this.clients).hasSize(4);

		for (int attempt = 0; attempt < 2; attempt++) {
			assertThatExceptionOfType(TransactionFailedException.class)
				.isThrownBy(() -> producer.transaction((transaction) -> null))
				.withMessageContaining("max-reload-attempts")
				.withCauseInstanceOf(TransactionalIdAuthorizationException.class);
		}
		assertThat(this.clients).hasSize(4);
	}

	/**
	 * A transaction rolled back while Kafka still holds one of its messages, and the abort times out: the
	 * client is rebuilt (its init aborts the transaction), and the message the old client's close fails is
	 * reported purged, as an aborted transaction's messages are, not as a delivery failure.
	 */
	@Test
	void aMessageOfATransactionWhoseAbortTimesOutIsReportedPurged() {
		Producer producer = producer((settings) -> settings, (n) -> {
			StrictTransactions client = new StrictTransactions(0, n > 0);
			client.abortTimesOut = n == 0;
			return client;
		});
		AtomicReference<DeliveryHandle> pending = new AtomicReference<>();

		assertThatIllegalStateException().isThrownBy(() -> producer.transaction((transaction) -> {
			pending.set(transaction.produceAsync(Message.of("orders", "1")));
			throw new IllegalStateException("rolled back (expected in this test)");
		}));

		assertThat(pending.get().toCompletableFuture()).failsWithin(Duration.ofSeconds(30))
			.withThrowableThat()
			.withCauseInstanceOf(MessagePurgedException.class);
		assertThat(this.clients).hasSize(2);
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.inFlight() == 0);
		assertThat(producer.stats().purged()).isEqualTo(1);
		assertThat(producer.stats().failed()).isZero();
	}

	@Test
	void blockThrowingACheckedExceptionAbortsTheTransaction() {
		Producer producer = producer((settings) -> settings, (n) -> new StrictTransactions(0));

		assertThatExceptionOfType(IOException.class).isThrownBy(() -> producer.transaction((transaction) -> {
			transaction.produceSync(Message.of("orders", "1"));
			throw sneaky(new IOException("checked, thrown the way Kotlin or Lombok's @SneakyThrows do"));
		}));

		assertThat(this.clients.get(0).transactionAborted()).isTrue();
		producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "2")));
		assertThat(this.clients.get(0).transactionCommitted()).isTrue();
	}

	@Test
	void transactionThatNeverBeganPublishesNoFinishedEvent() {
		Producer producer = producer((settings) -> settings, (n) -> new StrictTransactions(0));
		List<String> events = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe((event) -> {
			if (event.name().startsWith("transaction.")) {
				events.add(event.name());
			}
		});
		producer.connect();
		this.clients.get(0).beginTransactionException = new KafkaException("coordinator not available (simulated)");

		assertThatExceptionOfType(KafkaException.class).isThrownBy(() -> producer.transaction((transaction) -> null));
		assertThat(events).isEmpty();
	}

	@SuppressWarnings("unchecked")
	private static <E extends Throwable> RuntimeException sneaky(Throwable checked) throws E {
		throw (E) checked;
	}

	/**
	 * A MockProducer whose first {@code commitTimeouts} commits time out; until a commit completes, Kafka
	 * accepts only a retry of the commit: abort and begin throw {@code IllegalStateException}.
	 */
	static final class StrictTransactions extends MockProducer<byte[], byte[]> {

		/** Fails what it still holds as {@code KafkaProducer.close(Duration.ZERO)} does. */
		@Override
		public void close(Duration timeout) {
			this.closing.countDown();
			if (this.closeTakesEffectAfterCommitBegins) {
				TestProducers.awaitUninterruptibly(this.committing);
			}
			if (timeout.isZero()) {
				while (errorNext(new KafkaException("Producer is closed forcefully."))) {
					// one held send after another
				}
			}
			super.close(timeout);
		}

		final AtomicInteger commitCalls = new AtomicInteger();

		private final int commitTimeouts;

		private volatile boolean commitPending;

		volatile boolean fenceOnFirstBegin;

		/** Set: a commit waits until the client is closed and then fails, as a forced close fails it. */
		volatile boolean commitUntilClosed;

		/** Set: a forced close takes effect only once a commit began (which then fails, as with the above). */
		volatile boolean closeTakesEffectAfterCommitBegins;

		volatile boolean firstCommitTimesOutOnClose;

		final CountDownLatch committing = new CountDownLatch(1);

		final CountDownLatch closing = new CountDownLatch(1);

		/** Set: initialising transactions fails with a fatal error. */
		volatile boolean initFails;

		/** Set: a commit counted in {@code commitTimeouts} is interrupted (a cancelled task) instead. */
		volatile boolean commitInterruptedInsteadOfTimingOut;

		/** Set: every abort times out. */
		volatile boolean abortTimesOut;

		StrictTransactions(int commitTimeouts) {
			this(commitTimeouts, true);
		}

		/** {@code acknowledged}: whether sends are acknowledged at once, else Kafka holds them until closed. */
		StrictTransactions(int commitTimeouts, boolean acknowledged) {
			super(acknowledged, null, new ByteArraySerializer(), new ByteArraySerializer());
			this.commitTimeouts = commitTimeouts;
		}

		@Override
		public void beginTransaction() {
			if (this.fenceOnFirstBegin) {
				this.fenceOnFirstBegin = false;
				fenceProducer();
			}
			refuseWhileCommitPending("beginTransaction");
			super.beginTransaction();
		}

		/** Kafka's waits for the coordinator fail at once on an interrupted thread, the flag set again. */
		@Override
		public void initTransactions() {
			failIfInterrupted("initTransactions");
			if (this.initFails) {
				throw new TransactionalIdAuthorizationException("Transactional Id authorization failed (simulated)");
			}
			super.initTransactions();
		}

		@Override
		public void commitTransaction() {
			failIfInterrupted("commitTransaction");
			if (this.firstCommitTimesOutOnClose && this.commitCalls.get() == 0) {
			this.committing.countDown();
			TestProducers.awaitUninterruptibly(this.closing);
			await().atMost(Duration.ofSeconds(30)).until(this::closed);
			this.commitCalls.incrementAndGet();
			this.commitPending = true;
			throw new TimeoutException("Timeout expired while awaiting EndTxn(true) (simulated)");
		}
		if (this.commitUntilClosed) {
				this.committing.countDown();
				try {
					this.closing.await();
				}
				catch (InterruptedException ex) {
					Thread.currentThread().interrupt();
				}
				throw new KafkaException("The producer closed forcefully (simulated)");
			}
			if (this.commitCalls.incrementAndGet() <= this.commitTimeouts) {
				this.commitPending = true;
				if (this.commitInterruptedInsteadOfTimingOut) { // as Kafka's wait for EndTxn, flag set again
					throw new InterruptException(new InterruptedException("simulated"));
				}
				throw new TimeoutException("Timeout expired after 60000ms while awaiting EndTxn(true) (simulated)");
			}
			this.commitPending = false;
			super.commitTransaction();
		}

		@Override
		public void abortTransaction() {
			if (this.abortTimesOut) {
				throw new TimeoutException("Timeout expired after 60000ms while awaiting EndTxn(false) (simulated)");
			}
			refuseWhileCommitPending("abortTransaction");
			super.abortTransaction();
		}

		private static void failIfInterrupted(String operation) {
			if (Thread.interrupted()) {
				throw new InterruptException(new InterruptedException(operation + " interrupted (simulated)"));
			}
		}

		private void refuseWhileCommitPending(String operation) {
			if (this.commitPending) {
				throw new IllegalStateException("Cannot attempt operation `" + operation
						+ "` because the previous call to `commitTransaction` timed out and must be retried");
			}
		}

	}

}
