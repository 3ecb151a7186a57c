package io.waterdrop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.Timeout.ThreadMode;

import io.waterdrop.DeliveryLedger.Outcome;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingMode;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.awaitility.Awaitility.await;

/**
 * Shutdown races on bare producers, each repeated many times under a hard per-repetition timeout (a
 * deadlock fails the repetition on its own thread instead of hanging the build): close and closeForcefully
 * with thousands of messages in flight, produce calls racing a close, closes from a callback, two threads
 * closing one producer, a first message racing a close, and producers coming and going on one Poller while
 * others flood it. No broker: {@link PendingKafka} keeps sends pending like a real client and fails them on a
 * forced close as {@code KafkaProducer} does; {@link InMemoryKafka} acknowledges at once.
 * <p>
 * The single-shot versions against a real broker are in {@link CloseIntegrationTests}.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class ShutdownRaceTests {

	/**
	 * Close timeouts: far longer than any close here needs, so that a busy machine never turns a graceful close
	 * into a purge; a close that hangs still fails its repetition's timeout.
	 */
	private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(60);

	/** Waits for what must happen soon (a thread ending, a future completing): a deadlock guard only. */
	private static final Duration GUARD = Duration.ofSeconds(30);

	/** One Poller for every fd-mode producer here, so that no test leaves work on the global one. */
	private static final Poller poller = new Poller(PollerConfig.named("shutdown-races"));

	private final List<Producer> created = new CopyOnWriteArrayList<>();

	private final List<AutoCloseable> cleanups = new CopyOnWriteArrayList<>();

	@AfterEach
	void cleanUp() {
		// Bounded too: a close that hangs fails here instead of stalling the build.
		assertTimeoutPreemptively(Duration.ofMinutes(2), () -> {
			for (AutoCloseable cleanup : this.cleanups) {
				cleanup.close();
			}
			for (Producer producer : this.created) {
				producer.closeForcefully();
			}
		});
	}

	@AfterAll
	static void pollerStops() throws InterruptedException {
		assertThat(poller.awaitStopped(GUARD)).as("Poller still serving %s", poller.producerIds())
			.isTrue();
	}

	@RepeatedTest(40)
	@Timeout(value = 150, unit = TimeUnit.SECONDS, threadMode = ThreadMode.SEPARATE_THREAD)
	void closeWithThousandsInFlightDispatchesEveryReportBeforeReturning(RepetitionInfo repetition) throws Exception {
		int index = repetition.getCurrentRepetition();
		PollingMode mode = (index % 2 == 0) ? PollingMode.FD : PollingMode.THREAD;
		boolean forceful = (index / 2) % 2 == 1;
		int perThread = 1_500;
		PendingKafka kafka = new PendingKafka();
		Producer producer = producer(mode, kafka, (config) -> {
		});
		DeliveryLedger ledger = new DeliveryLedger().watch(producer);
		List<ProducerEvent> lifecycle = lifecycleEvents(producer);
		List<DeliveryHandle> handles = Collections.synchronizedList(new ArrayList<>());
		// Kafka's network thread acknowledges a random share meanwhile, racing the close.
		PendingKafka.Acking acking = kafka.startAcking(ThreadLocalRandom.current().nextInt(2 * perThread));
		this.cleanups.add(acking);
		List<Thread> senders = new ArrayList<>();
		for (int t = 0; t < 2; t++) {
			int base = t * perThread;
			senders.add(start("sender-" + t, () -> {
				for (int i = base; i < base + perThread; i++) {
					handles.add(producer.produceAsync(Message.builder("races").payload("m-" + i).label(i).build(),
							ledger.book(i)));
				}
			}));
		}
		for (Thread sender : senders) {
			sender.join();
		}
		long inFlightAtClose = producer.inFlight();

		if (forceful) {
			producer.closeForcefully();
		}
		else {
			producer.close(CLOSE_TIMEOUT);
		}
		long closedAt = System.nanoTime();

		// Nothing awaited: the close itself waited for every report to be dispatched.
		assertThat(handles).hasSize(2 * perThread).allMatch(DeliveryHandle::isDone);
		assertThat(ledger.pending()).isZero();
		assertThat(ledger.entries()).allMatch((entry) -> entry.endedNanos - closedAt <= 0);
		acking.close();
		assertThat(ledger.violations(producer)).as("%s, %s close, %d in flight at close", mode,
				forceful ? "forceful" : "graceful", inFlightAtClose).isEmpty();
		if (forceful) {
			assertThat(ledger.count(Outcome.FAILED)).isZero();
			// Acknowledged meanwhile, or waiting for dispatch when the close began: not purged.
			assertThat(ledger.count(Outcome.PURGED)).isLessThanOrEqualTo(inFlightAtClose);
			assertThat(ledger.count(Outcome.PURGED) + ledger.count(Outcome.ACKNOWLEDGED)).isEqualTo(2 * perThread);
			assertThat(ledger.entries()).filteredOn((entry) -> entry.outcome == Outcome.PURGED)
				.allSatisfy((entry) -> assertThat(entry.failure).hasMessageContaining("purged undelivered"));
		}
		else {
			// A graceful close flushes: nothing is purged when the client can deliver.
			assertThat(ledger.count(Outcome.ACKNOWLEDGED)).isEqualTo(2 * perThread);
		}
		assertClosedAndDetached(producer, lifecycle);
	}

	@RepeatedTest(30)
	@Timeout(value = 150, unit = TimeUnit.SECONDS, threadMode = ThreadMode.SEPARATE_THREAD)
	void produceCallsRacingACloseEachEndInARefusalOrExactlyOneReport(RepetitionInfo repetition) throws Exception {
		int index = repetition.getCurrentRepetition();
		PollingMode mode = (index % 2 == 0) ? PollingMode.FD : PollingMode.THREAD;
		int closeKind = index % 3;
		PendingKafka kafka = new PendingKafka();
		Producer producer = producer(mode, kafka, (config) -> {
		});
		DeliveryLedger ledger = new DeliveryLedger().watch(producer);
		List<ProducerEvent> lifecycle = lifecycleEvents(producer);
		PendingKafka.Acking acking = kafka.startAcking(Integer.MAX_VALUE);
		this.cleanups.add(acking);
		producer.connect();
		AtomicInteger labels = new AtomicInteger();
		AtomicInteger refusals = new AtomicInteger();
		ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
		List<Thread> senders = new ArrayList<>();
		for (int t = 0; t < 4; t++) {
			boolean sync = t == 0;
			senders.add(start("racing-sender-" + t, () -> {
				while (true) {
					int label = labels.incrementAndGet();
					Message message = Message.builder("races").payload("m-" + label).label(label).build();
					DeliveryCallback callback = ledger.book(label);
					try {
						if (sync) {
							// produceSync has no callback: book what it returns or throws.
							callback.onDelivery(producer.produceSync(message), null);
						}
						else {
							producer.produceAsync(message, callback);
						}
					}
					catch (ProducerClosedException ex) {
						ledger.refused(label);
						refusals.incrementAndGet();
						return;
					}
					catch (DeliveryFailedException ex) {
						callback.onDelivery(null, ex);
					}
					catch (Throwable ex) {
						ledger.refused(label);
						unexpected.add(ex);
						return;
					}
				}
			}));
		}
		await().atMost(GUARD).until(() -> producer.stats().producedAsync() >= 100);
		Thread.sleep(ThreadLocalRandom.current().nextInt(0, 10));

		switch (closeKind) {
			case 0 -> producer.close(CLOSE_TIMEOUT);
			case 1 -> producer.closeForcefully();
			default -> producer.closeAsync(CLOSE_TIMEOUT).get(CLOSE_TIMEOUT.plus(GUARD).toSeconds(), TimeUnit.SECONDS);
		}

		for (Thread sender : senders) {
			sender.join(GUARD.toMillis());
			assertThat(sender.isAlive()).as("%s still producing after close", sender.getName()).isFalse();
		}
		assertThat(unexpected).isEmpty();
		assertThat(refusals).hasValue(senders.size());
		assertThat(ledger.accepted()).isPositive();
		assertThat(ledger.violations(producer)).as("%s, close kind %d", mode, closeKind).isEmpty();
		assertClosedAndDetached(producer, lifecycle);
	}

	@RepeatedTest(30)
	@Timeout(value = 150, unit = TimeUnit.SECONDS, threadMode = ThreadMode.SEPARATE_THREAD)
	void closeFromACallbackReturnsAtOnceWhileAnotherThreadClosesToo(RepetitionInfo repetition) throws Exception {
		int index = repetition.getCurrentRepetition();
		PollingMode mode = (index % 2 == 0) ? PollingMode.FD : PollingMode.THREAD;
		int closeKind = index % 3;
		int count = 1_000;
		PendingKafka kafka = new PendingKafka();
		Producer producer = producer(mode, kafka, (config) -> {
		});
		DeliveryLedger ledger = new DeliveryLedger().watch(producer);
		List<ProducerEvent> lifecycle = lifecycleEvents(producer);
		int closer = ThreadLocalRandom.current().nextInt(300);
		// Recorded on the callback's thread right after the close call returned.
		CompletableFuture<String> closeInCallback = new CompletableFuture<>();
		CompletableFuture<String> closedOn = closedEventThread(producer);
		List<DeliveryHandle> handles = new ArrayList<>();
		for (int i = 0; i < count; i++) {
			DeliveryCallback booked = ledger.book(i);
			boolean closes = i == closer;
			try {
				handles.add(producer.produceAsync(Message.builder("races").payload("m-" + i).label(i).build(),
						(report, failure) -> {
							booked.onDelivery(report, failure);
							if (closes) {
								try {
									CompletableFuture<Void> closing = switch (closeKind) {
										case 0 -> {
											producer.close();
											yield null;
										}
										case 1 -> {
											producer.closeForcefully();
											yield null;
										}
										default -> producer.closeAsync(CLOSE_TIMEOUT);
									};
									// This callback's own report is not counted back yet: no close can have ended.
									closeInCallback.complete(producer.status() + ((closing == null) ? ""
											: (closing.isDone() ? ", closeAsync done" : ", closeAsync pending")));
								}
								catch (Throwable ex) {
									closeInCallback.completeExceptionally(ex);
								}
							}
						}));
			}
			catch (ProducerClosedException ex) {
				ledger.refused(i);
				break;
			}
			if (i == closer) {
				this.cleanups.add(kafka.startAcking(Integer.MAX_VALUE));
			}
		}

		// On the polling thread a waiting close would deadlock: it only starts the close, on a close thread.
		// (closeAsync starts its thread before it moves the state: only "not closed yet" is certain there.)
		String inCallback = closeInCallback.get(GUARD.toSeconds(), TimeUnit.SECONDS);
		if (closeKind == 2) {
			assertThat(inCallback).isIn("CONNECTED, closeAsync pending", "CLOSING, closeAsync pending");
		}
		else {
			assertThat(inCallback).isEqualTo("CLOSING");
		}
		producer.close(CLOSE_TIMEOUT);
		long closedAt = System.nanoTime();
		if (closeKind != 2) {
			assertThat(closedOn).isCompletedWithValue("waterdrop.close-" + producer.id());
		}

		assertThat(handles).allMatch(DeliveryHandle::isDone);
		assertThat(ledger.entries()).allMatch((entry) -> entry.endedNanos - closedAt <= 0);
		assertThat(ledger.violations(producer)).as("%s, close kind %d", mode, closeKind).isEmpty();
		if (closeKind == 1) {
			assertThat(ledger.count(Outcome.ACKNOWLEDGED) + ledger.count(Outcome.PURGED)).isEqualTo(ledger.accepted());
		}
		else {
			assertThat(ledger.count(Outcome.ACKNOWLEDGED)).isEqualTo(ledger.accepted());
		}
		assertClosedAndDetached(producer, lifecycle);
	}

	@RepeatedTest(15)
	@Timeout(value = 150, unit = TimeUnit.SECONDS, threadMode = ThreadMode.SEPARATE_THREAD)
	void closingAnotherProducerOfTheSamePollerFromACallbackDoesNotDeadlock(RepetitionInfo repetition)
			throws Exception {
		PendingKafka kafkaA = new PendingKafka();
		PendingKafka kafkaB = new PendingKafka();
		Producer a = producer(PollingMode.FD, kafkaA, (config) -> {
		});
		Producer b = producer(PollingMode.FD, kafkaB, (config) -> {
		});
		DeliveryLedger ledgerA = new DeliveryLedger().watch(a);
		DeliveryLedger ledgerB = new DeliveryLedger().watch(b);
		for (int i = 0; i < 500; i++) {
			b.produceAsync(Message.builder("races").payload("b-" + i).label(i).build(), ledgerB.book(i));
		}
		CompletableFuture<ProducerStatus> statusOfB = new CompletableFuture<>();
		CompletableFuture<String> bClosedOn = closedEventThread(b);
		DeliveryCallback booked = ledgerA.book("closer");
		a.produceAsync(Message.of("races", "closer").toBuilder().label("closer").build(), (report, failure) -> {
			booked.onDelivery(report, failure);
			// Same Poller thread serves b: a waiting close here could never see b detached. It only starts b's
			// close, which cannot end while this callback holds the thread.
			b.close();
			statusOfB.complete(b.status());
		});
		kafkaA.completeNext();
		this.cleanups.add(kafkaB.startAcking(Integer.MAX_VALUE));

		assertThat(statusOfB.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isEqualTo(ProducerStatus.CLOSING);
		b.close(CLOSE_TIMEOUT);
		assertThat(bClosedOn).isCompletedWithValue("waterdrop.close-" + b.id());
		a.close(CLOSE_TIMEOUT);
		assertThat(ledgerA.violations(a)).isEmpty();
		assertThat(ledgerB.violations(b)).isEmpty();
		assertThat(ledgerB.count(Outcome.ACKNOWLEDGED)).isEqualTo(500);
	}

	@RepeatedTest(50)
	@Timeout(value = 150, unit = TimeUnit.SECONDS, threadMode = ThreadMode.SEPARATE_THREAD)
	void twoThreadsClosingOneProducerBothReturnOnceItIsClosed(RepetitionInfo repetition) throws Exception {
		int index = repetition.getCurrentRepetition();
		PollingMode mode = (index % 2 == 0) ? PollingMode.FD : PollingMode.THREAD;
		String[] kinds = { "close", "closeForcefully", "closeAsync" };
		String first = kinds[index % 3];
		String second = kinds[(index / 3) % 3];
		PendingKafka kafka = new PendingKafka();
		Producer producer = producer(mode, kafka, (config) -> {
		});
		DeliveryLedger ledger = new DeliveryLedger().watch(producer);
		List<ProducerEvent> lifecycle = lifecycleEvents(producer);
		for (int i = 0; i < 2_000; i++) {
			producer.produceAsync(Message.builder("races").payload("m-" + i).label(i).build(), ledger.book(i));
		}
		this.cleanups.add(kafka.startAcking(ThreadLocalRandom.current().nextInt(2_000)));
		CyclicBarrier together = new CyclicBarrier(2);
		CompletableFuture<Void> one = async(() -> closeTogether(producer, first, together));
		CompletableFuture<Void> two = async(() -> closeTogether(producer, second, together));
		one.get(CLOSE_TIMEOUT.plus(GUARD).toSeconds(), TimeUnit.SECONDS);
		two.get(CLOSE_TIMEOUT.plus(GUARD).toSeconds(), TimeUnit.SECONDS);

		assertThat(ledger.pending()).as("%s and %s", first, second).isZero();
		assertThat(ledger.violations(producer)).as("%s and %s", first, second).isEmpty();
		assertClosedAndDetached(producer, lifecycle);
	}

	/** The graceful close waits up to 5 min: only closeForcefully can end it within the test's timeout. */
	@Test
	@Timeout(value = 4, unit = TimeUnit.MINUTES, threadMode = ThreadMode.SEPARATE_THREAD)
	void closeForcefullyCutsShortAGracefulCloseThatIsStillWaiting() throws Exception {
		for (PollingMode mode : PollingMode.values()) {
			// The broker is gone: a graceful close would wait its whole (long) timeout for the reports.
			PendingKafka kafka = new PendingKafka().stuck();
			Producer producer = producer(mode, kafka, (config) -> {
			});
			DeliveryLedger ledger = new DeliveryLedger().watch(producer);
			for (int i = 0; i < 1_000; i++) {
				producer.produceAsync(Message.builder("races").payload("m-" + i).label(i).build(), ledger.book(i));
			}
			CompletableFuture<Void> graceful = async(() -> producer.close(Duration.ofMinutes(5)));
			await().atMost(GUARD).until(() -> producer.status() == ProducerStatus.CLOSING);
			Thread.sleep(100);
			assertThat(graceful).isNotDone();

			producer.closeForcefully();

			graceful.get(GUARD.toSeconds(), TimeUnit.SECONDS);
			assertThat(ledger.violations(producer)).isEmpty();
			assertThat(ledger.count(Outcome.PURGED)).isEqualTo(1_000);
		}
	}

	/**
	 * With a 5 min timeout and a client that never acknowledges, a closeAsync that waited on the caller's
	 * thread would hang the test: returning a pending future shows it did not; closeForcefully ends it.
	 */
	@Test
	@Timeout(value = 4, unit = TimeUnit.MINUTES, threadMode = ThreadMode.SEPARATE_THREAD)
	void closeAsyncReturnsAtOnceAndCompletesWhenClosed() throws Exception {
		for (PollingMode mode : PollingMode.values()) {
			PendingKafka kafka = new PendingKafka().stuck();
			Producer producer = producer(mode, kafka, (config) -> {
			});
			DeliveryLedger ledger = new DeliveryLedger().watch(producer);
			for (int i = 0; i < 100; i++) {
				producer.produceAsync(Message.builder("races").payload("m-" + i).label(i).build(), ledger.book(i));
			}

			CompletableFuture<Void> closing = producer.closeAsync(Duration.ofMinutes(5));

			assertThat(closing).as("%s: closeAsync with reports outstanding", mode).isNotDone();
			producer.closeForcefully();
			closing.get(GUARD.toSeconds(), TimeUnit.SECONDS);
			assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
			assertThat(ledger.violations(producer)).isEmpty();
			assertThat(ledger.count(Outcome.PURGED)).isEqualTo(100);
		}
	}

	@RepeatedTest(50)
	@Timeout(value = 150, unit = TimeUnit.SECONDS, threadMode = ThreadMode.SEPARATE_THREAD)
	void firstMessageRacingACloseIsRefusedOrDispatchedAndLeavesNothingBehind(RepetitionInfo repetition)
			throws Exception {
		PollingMode mode = (repetition.getCurrentRepetition() % 2 == 0) ? PollingMode.FD : PollingMode.THREAD;
		InMemoryKafka memory = new InMemoryKafka();
		AtomicInteger clients = new AtomicInteger();
		Producer producer = new Producer(base(mode).clientFactory((properties) -> {
			clients.incrementAndGet();
			return memory.apply(properties);
		}).build());
		this.created.add(producer);
		DeliveryLedger ledger = new DeliveryLedger().watch(producer);
		CyclicBarrier together = new CyclicBarrier(2);
		AtomicReference<Throwable> refusal = new AtomicReference<>();
		CompletableFuture<Void> producing = async(() -> {
			DeliveryCallback callback = ledger.book("first");
			awaitQuietly(together);
			try {
				producer.produceAsync(Message.builder("races").payload("first").label("first").build(), callback);
			}
			catch (Throwable ex) {
				ledger.refused("first");
				refusal.set(ex);
			}
		});
		CompletableFuture<Void> closing = async(() -> {
			awaitQuietly(together);
			producer.close(CLOSE_TIMEOUT);
		});
		producing.get(GUARD.toSeconds(), TimeUnit.SECONDS);
		closing.get(CLOSE_TIMEOUT.plus(GUARD).toSeconds(), TimeUnit.SECONDS);

		if (refusal.get() != null) {
			assertThat(refusal.get()).isInstanceOf(ProducerClosedException.class);
		}
		else {
			assertThat(ledger.count(Outcome.ACKNOWLEDGED)).isEqualTo(1);
		}
		assertThat(ledger.violations(producer)).isEmpty();
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(clients.get()).as("Kafka clients created").isLessThanOrEqualTo(1);
		assertThat(poller.producerIds()).doesNotContain(producer.id());
		await().atMost(GUARD)
			.until(() -> TestProducers.threadsNamed("waterdrop.dispatch-" + producer.id()).isEmpty());
	}

	@RepeatedTest(3)
	@Timeout(value = 4, unit = TimeUnit.MINUTES, threadMode = ThreadMode.SEPARATE_THREAD)
	void producersComingAndGoingOnOnePollerWhileOthersFloodIt() throws Exception {
		Poller shared = new Poller(PollerConfig.named("churn").withPollTimeout(Duration.ofMillis(100)));
		InMemoryKafka memory = new InMemoryKafka();
		AtomicBoolean flooding = new AtomicBoolean(true);
		List<Producer> floods = new ArrayList<>();
		List<DeliveryLedger> floodLedgers = new ArrayList<>();
		List<Thread> floodThreads = new ArrayList<>();
		ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
		for (int f = 0; f < 2; f++) {
			Producer flood = new Producer(ProducerConfig.builder()
				.id(TestProducers.uniqueId("flood"))
				.poller(shared)
				.maxInFlight(2_000)
				.clientFactory(memory)
				.build());
			this.created.add(flood);
			DeliveryLedger ledger = new DeliveryLedger().watch(flood);
			floods.add(flood);
			floodLedgers.add(ledger);
			floodThreads.add(start("flood-" + f, () -> {
				int label = 0;
				while (flooding.get()) {
					label++;
					try {
						flood.produceAsync(Message.builder("flood").payload("f-" + label).label(label).build(),
								ledger.book(label));
					}
					catch (Throwable ex) {
						ledger.refused(label);
						failures.add(ex);
						return;
					}
				}
			}));
		}
		List<Thread> workers = new ArrayList<>();
		AtomicInteger lifecycles = new AtomicInteger();
		for (int w = 0; w < 6; w++) {
			workers.add(start("churn-" + w, () -> {
				for (int cycle = 0; cycle < 20; cycle++) {
					try {
						churn(shared, memory, cycle % 3);
						lifecycles.incrementAndGet();
					}
					catch (Throwable ex) {
						failures.add(ex);
						return;
					}
				}
			}));
		}
		for (Thread worker : workers) {
			worker.join();
		}
		flooding.set(false);
		for (Thread flood : floodThreads) {
			flood.join(GUARD.toMillis());
		}
		for (Producer flood : floods) {
			flood.close(CLOSE_TIMEOUT);
		}

		assertThat(failures).isEmpty();
		assertThat(lifecycles).hasValue(120);
		for (int f = 0; f < floods.size(); f++) {
			assertThat(floodLedgers.get(f).accepted()).isPositive();
			assertThat(floodLedgers.get(f).violations(floods.get(f))).isEmpty();
		}
		assertThat(shared.stats().loopErrors()).isZero();
		assertThat(shared.awaitStopped(GUARD)).isTrue();
		assertThat(shared.registeredProducers()).isZero();
		assertThat(shared.producerIds()).isEmpty();
	}

	/** One producer's life on a busy Poller: connect, produce, close one of three ways, check. */
	private void churn(Poller shared, InMemoryKafka memory, int closeKind) throws Exception {
		Producer producer = new Producer(
				ProducerConfig.builder().id(TestProducers.uniqueId("churn")).poller(shared).clientFactory(memory).build());
		DeliveryLedger ledger = new DeliveryLedger().watch(producer);
		List<ProducerEvent> lifecycle = lifecycleEvents(producer);
		for (int i = 0; i < 100; i++) {
			producer.produceAsync(Message.builder("churn").payload("c-" + i).label(i).build(), ledger.book(i));
		}
		DeliveryCallback sync = ledger.book("sync");
		sync.onDelivery(producer.produceSync(Message.builder("churn").payload("sync").label("sync").build()), null);
		switch (closeKind) {
			case 0 -> producer.close(CLOSE_TIMEOUT);
			case 1 -> producer.closeForcefully();
			default -> producer.closeAsync(CLOSE_TIMEOUT).get(CLOSE_TIMEOUT.plus(GUARD).toSeconds(), TimeUnit.SECONDS);
		}
		List<String> violations = ledger.violations(producer);
		if (!violations.isEmpty()) {
			throw new AssertionError(producer.id() + ": " + violations);
		}
		if (shared.producerIds().contains(producer.id()) || producer.status() != ProducerStatus.CLOSED
				|| lifecycle.size() != 2) {
			throw new AssertionError(producer.id() + " not detached after close: " + producer.status() + ", "
					+ lifecycle);
		}
	}

	private static void closeTogether(Producer producer, String kind, CyclicBarrier together) {
		awaitQuietly(together);
		switch (kind) {
			case "close" -> producer.close(CLOSE_TIMEOUT);
			case "closeForcefully" -> producer.closeForcefully();
			default -> producer.closeAsync(CLOSE_TIMEOUT).join();
		}
		// Whoever returns finds it closed.
		assertThat(producer.status()).as("status after %s returned", kind).isEqualTo(ProducerStatus.CLOSED);
	}

	private void assertClosedAndDetached(Producer producer, List<ProducerEvent> lifecycle) {
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(producer.inFlight()).isZero();
		assertThat(producer.queueSize()).isZero();
		assertThat(lifecycle).extracting(ProducerEvent::name).containsExactly("producer.closing", "producer.closed");
		assertThat(poller.producerIds()).doesNotContain(producer.id());
		await().atMost(GUARD)
			.until(() -> TestProducers.threadsNamed("waterdrop.dispatch-" + producer.id()).isEmpty());
	}

	/** The name of the thread that publishes the producer's Closed event. */
	private static CompletableFuture<String> closedEventThread(Producer producer) {
		CompletableFuture<String> thread = new CompletableFuture<>();
		producer.monitor()
			.subscribe(ProducerEvent.Closed.class, (event) -> thread.complete(Thread.currentThread().getName()));
		return thread;
	}

	private static List<ProducerEvent> lifecycleEvents(Producer producer) {
		List<ProducerEvent> events = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Closing.class, events::add);
		producer.monitor().subscribe(ProducerEvent.Closed.class, events::add);
		return events;
	}

	private Producer producer(PollingMode mode, PendingKafka kafka, Consumer<ProducerConfig.Builder> customizer) {
		ProducerConfig.Builder config = base(mode).clientFactory(kafka.factory());
		customizer.accept(config);
		Producer producer = new Producer(config.build());
		this.created.add(producer);
		return producer;
	}

	private static ProducerConfig.Builder base(PollingMode mode) {
		ProducerConfig.Builder config = ProducerConfig.builder()
			.id(TestProducers.uniqueId("race-" + mode.name().toLowerCase(java.util.Locale.ROOT)))
			.pollingMode(mode)
			.maxWaitTimeout(CLOSE_TIMEOUT);
		return (mode == PollingMode.FD) ? config.poller(poller) : config;
	}

	/** Runs on a thread of its own: barrier parties must not queue behind each other in a shared pool. */
	private static CompletableFuture<Void> async(Runnable work) {
		CompletableFuture<Void> done = new CompletableFuture<>();
		start("race-task", () -> {
			try {
				work.run();
				done.complete(null);
			}
			catch (Throwable ex) {
				done.completeExceptionally(ex);
			}
		});
		return done;
	}

	private static Thread start(String name, Runnable work) {
		Thread thread = new Thread(work, name);
		thread.setDaemon(true);
		thread.start();
		return thread;
	}

	private static void awaitQuietly(CyclicBarrier barrier) {
		try {
			barrier.await(GUARD.toSeconds(), TimeUnit.SECONDS);
		}
		catch (Exception ex) {
			throw new IllegalStateException(ex);
		}
	}

}
