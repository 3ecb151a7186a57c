package io.waterdrop.polling;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.instrumentation.PollerEvent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The Poller thread's life (started by the first registration, ended after the last detach, restarted with
 * the same name), and registration and detachment taking effect at once rather than after a poll timeout.
 */
class PollerLifecycleTests {

	/**
	 * Long enough that anything waiting for it would blow the guards below: what these tests see happen was
	 * woken by a signal or a change, not by the poll timeout (and {@code timeoutWakeups()} stays zero).
	 */
	private static final Duration LONG_POLL_TIMEOUT = Duration.ofHours(1);

	/** Deadlock guard for what happens at once; never a performance bound. */
	private static final Duration GUARD = Duration.ofSeconds(30);

	@Test
	@Timeout(120)
	void threadStartsOnFirstRegistrationEndsAfterLastDetachAndRestartsWithTheSameName() throws Exception {
		Poller poller = new Poller(PollerConfig.named("lifecycle").withPollTimeout(LONG_POLL_TIMEOUT));
		String name = poller.threadName();
		assertThat(name).matches("waterdrop\\.poller#\\d+-lifecycle");
		assertThat(poller.isRunning()).isFalse();
		assertThat(TestSource.threadAlive(name)).isFalse();

		TestSource first = new TestSource("first", Duration.ofMillis(100));
		PollingSession session = first.registerWith(poller);
		assertThat(poller.isRunning()).isTrue();
		assertThat(session.mode()).isEqualTo(PollingMode.FD);
		assertThat(session.pollerName()).isEqualTo("lifecycle");
		Thread firstThread = dispatchedOn(first);
		assertThat(firstThread.getName()).isEqualTo(name);
		assertThat(firstThread.isDaemon()).isTrue();
		assertThat(poller.producerIds()).containsExactly("first");
		assertThat(poller.registeredProducers()).isEqualTo(1);
		assertThat(first.events(PollerEvent.ProducerRegistered.class))
			.containsExactly(new PollerEvent.ProducerRegistered("lifecycle", "first"));

		session.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
		assertThat(poller.awaitStopped(GUARD)).isTrue();
		assertThat(poller.isRunning()).isFalse();
		assertThat(poller.registeredProducers()).isZero();
		assertThat(poller.producerIds()).isEmpty();
		assertThat(first.events(PollerEvent.ProducerUnregistered.class))
			.containsExactly(new PollerEvent.ProducerUnregistered("lifecycle", "first"));
		firstThread.join(GUARD.toMillis());
		assertThat(firstThread.isAlive()).isFalse();
		assertThat(TestSource.threadAlive(name)).isFalse();

		TestSource second = new TestSource("second", Duration.ofMillis(100));
		PollingSession again = second.registerWith(poller);
		Thread secondThread = dispatchedOn(second);
		assertThat(secondThread).isNotSameAs(firstThread);
		assertThat(secondThread.getName()).isEqualTo(name);
		again.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
		assertThat(poller.awaitStopped(GUARD)).isTrue();
		assertThat(poller.stats().timeoutWakeups()).isZero();
	}

	/** awaitStopped promises that the thread has ended, not merely that it is about to. */
	@RepeatedTest(30)
	@Timeout(60)
	void awaitStoppedReturnsOnlyOnceTheThreadHasEnded() throws Exception {
		Poller poller = new Poller(PollerConfig.named("stopping"));
		TestSource source = new TestSource("source", Duration.ofMillis(100));
		PollingSession session = source.registerWith(poller);
		Thread thread = dispatchedOn(source);
		session.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
		assertThat(poller.awaitStopped(GUARD)).isTrue();
		assertThat(thread.isAlive()).as("thread alive after awaitStopped returned").isFalse();
	}

	@Test
	@Timeout(120)
	void newlyRegisteredSourceIsServedAtOnceNotAfterThePollTimeout() throws Exception {
		Poller poller = new Poller(PollerConfig.named("latency").withPollTimeout(LONG_POLL_TIMEOUT));
		TestSource idle = new TestSource("idle", Duration.ofMillis(100));
		PollingSession idleSession = idle.registerWith(poller);
		try {
			dispatchedOn(idle);
			Thread.sleep(50); // the thread is most likely waiting in select() now, for up to 1 h

			// Report queued before the registration: its signal predates the selection key.
			TestSource early = new TestSource("early", Duration.ofMillis(100));
			CompletableFuture<Void> earlyServed = new CompletableFuture<>();
			early.offer(() -> earlyServed.complete(null));
			PollingSession earlySession = early.registerWith(poller);
			earlyServed.get(GUARD.toSeconds(), TimeUnit.SECONDS);

			Thread.sleep(50);
			// Report queued right after the registration returned (the key may or may not exist yet).
			TestSource late = new TestSource("late", Duration.ofMillis(100));
			CompletableFuture<Void> lateServed = new CompletableFuture<>();
			PollingSession lateSession = late.registerWith(poller);
			late.offer(() -> lateServed.complete(null));
			lateServed.get(GUARD.toSeconds(), TimeUnit.SECONDS);

			Thread.sleep(50);
			earlySession.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
			lateSession.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
			assertThat(poller.producerIds()).containsExactly("idle");
		}
		finally {
			idleSession.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
			assertThat(poller.awaitStopped(GUARD)).isTrue();
		}
		// With a 1 h poll timeout nothing above could have been served by one.
		assertThat(poller.stats().timeoutWakeups()).isZero();
	}

	@Test
	@Timeout(120)
	void globalPollerThreadIsPollerZero() throws Exception {
		Poller global = Poller.global();
		assertThat(Poller.global()).isSameAs(global);
		assertThat(global.name()).isEqualTo("global");
		assertThat(global.threadName()).isEqualTo("waterdrop.poller#0");
		TestSource source = new TestSource("global-probe", Duration.ofMillis(100));
		PollingSession session = source.registerWith(global);
		try {
			Thread thread = dispatchedOn(source);
			assertThat(thread.getName()).isEqualTo("waterdrop.poller#0");
			assertThat(TestSource.threadAlive("waterdrop.poller#0")).isTrue();
			assertThat(session.pollerName()).isEqualTo("global");
		}
		finally {
			session.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
		}
	}

	@Test
	@Timeout(120)
	void isPollingThreadOnlyOnThePollerThread() throws Exception {
		Poller poller = new Poller(PollerConfig.named("caller"));
		TestSource source = new TestSource("source", Duration.ofMillis(100));
		PollingSession session = source.registerWith(poller);
		try {
			CompletableFuture<Boolean> inside = new CompletableFuture<>();
			source.offer(() -> inside.complete(session.isPollingThread() && poller.isPollerThread()));
			assertThat(inside.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isTrue();
			assertThat(session.isPollingThread()).isFalse();
			assertThat(poller.isPollerThread()).isFalse();
		}
		finally {
			session.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
			assertThat(poller.awaitStopped(GUARD)).isTrue();
		}
	}

	/**
	 * detach() dispatches everything queued before it completes, each report once, in maxTime slices (so
	 * another source is served meanwhile: the anchor's close drain held the Poller until empty).
	 */
	@RepeatedTest(3)
	@Timeout(120)
	void detachDispatchesEveryQueuedReportOnceBeforeCompletingWithoutHoldingThePoller() throws Exception {
		Poller poller = new Poller(PollerConfig.named("detach").withPollTimeout(LONG_POLL_TIMEOUT));
		TestSource detaching = new TestSource("detaching", Duration.ofMillis(5));
		TestSource other = new TestSource("other", Duration.ofMillis(5));
		PollingSession detachingSession = detaching.registerWith(poller);
		PollingSession otherSession = other.registerWith(poller);
		int reports = 10_000;
		AtomicIntegerArray dispatched = new AtomicIntegerArray(reports);
		AtomicInteger count = new AtomicInteger();
		CountDownLatch blocking = new CountDownLatch(1);
		CountDownLatch release = new CountDownLatch(1);
		// Hold the Poller thread inside a drain so that every report below is queued when detach() is called.
		detaching.offer(() -> {
			blocking.countDown();
			awaitQuietly(release);
		});
		assertThat(blocking.await(GUARD.toSeconds(), TimeUnit.SECONDS)).isTrue();
		for (int i = 0; i < reports; i++) {
			int report = i;
			detaching.offer(() -> {
				TestSource.spin(TimeUnit.MICROSECONDS.toNanos(20));
				dispatched.incrementAndGet(report);
				count.incrementAndGet();
			});
		}
		CompletableFuture<Void> detached = detachingSession.detach();
		// Computed on the Poller thread the moment detach completes (a plain get() may return before it runs).
		CompletableFuture<Integer> countWhenDetached = detached.thenApply((done) -> count.get());
		AtomicInteger countWhenOtherServed = new AtomicInteger(-1);
		CountDownLatch otherServed = new CountDownLatch(1);
		other.offer(() -> {
			countWhenOtherServed.set(count.get());
			otherServed.countDown();
		});
		assertThat(detached).isNotDone();
		assertThat(detachingSession.detach()).as("detach is idempotent").isSameAs(detached);
		release.countDown();

		detached.get(60, TimeUnit.SECONDS);
		assertThat(countWhenDetached.get(GUARD.toSeconds(), TimeUnit.SECONDS)).as("reports dispatched when detach completed")
			.isEqualTo(reports);
		for (int i = 0; i < reports; i++) {
			assertThat(dispatched.get(i)).as("times report %d was dispatched", i).isEqualTo(1);
		}
		assertThat(detaching.queue.size()).isZero();
		assertThat(otherServed.await(GUARD.toSeconds(), TimeUnit.SECONDS)).isTrue();
		assertThat(countWhenOtherServed.get()).as("other source served in the middle of the detach drain")
			.isLessThan(reports);
		assertThat(poller.producerIds()).containsExactly("other");
		assertThat(detaching.events(PollerEvent.ProducerUnregistered.class)).hasSize(1);
		otherSession.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
		assertThat(poller.awaitStopped(GUARD)).isTrue();
	}

	/** Two application contexts' producers may share an id on the JVM-wide Poller. */
	@Test
	@Timeout(120)
	void aProducerIdStaysListedWhileAnotherProducerWithTheSameIdIsRegistered() throws Exception {
		Poller poller = new Poller(PollerConfig.named("same-ids").withPollTimeout(LONG_POLL_TIMEOUT));
		PollingSession first = new TestSource("orders", Duration.ofMillis(100)).registerWith(poller);
		PollingSession second = new TestSource("orders", Duration.ofMillis(100)).registerWith(poller);

		first.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);

		assertThat(poller.registeredProducers()).isEqualTo(1);
		assertThat(poller.producerIds()).containsExactly("orders");
		second.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
		assertThat(poller.producerIds()).isEmpty();
		assertThat(poller.awaitStopped(GUARD)).isTrue();
	}

	@Test
	@Timeout(120)
	void detachOfAnIdleSourceCompletesAndClosesItsPipe() throws Exception {
		Poller poller = new Poller(PollerConfig.named("pipe"));
		TestSource source = new TestSource("source", Duration.ofMillis(100));
		PollingSession session = source.registerWith(poller);
		dispatchedOn(source);
		session.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
		assertThat(source.pipe.source().isOpen()).isFalse();
		// A late signal on a closed pipe is ignored, not thrown into Kafka's network thread.
		source.pipe.signal();
		assertThat(poller.awaitStopped(GUARD)).isTrue();
	}

	/**
	 * A pipe the selector refuses with a runtime exception (here one left in blocking mode) fails its own
	 * registration, as an I/O error does: the source is told and its detach completes, instead of the change
	 * being dropped by a failed cycle with the Poller counting a producer it never serves.
	 */
	@Test
	@Timeout(120)
	void aRegistrationTheSelectorRefusesIsReleasedNotDropped() throws Exception {
		Poller poller = new Poller(PollerConfig.named("refused").withPollTimeout(LONG_POLL_TIMEOUT));
		TestSource refused = new TestSource("refused", Duration.ofMillis(100));
		refused.pipe.source().configureBlocking(true);

		PollingSession session = refused.registerWith(poller);

		assertThat(session.detach()).failsWithin(GUARD)
			.withThrowableOfType(java.util.concurrent.ExecutionException.class)
			.withCauseInstanceOf(java.nio.channels.IllegalBlockingModeException.class);
		assertThat(refused.terminated).isInstanceOf(java.nio.channels.IllegalBlockingModeException.class);
		assertThat(refused.pipe.source().isOpen()).isFalse();
		assertThat(poller.awaitStopped(GUARD)).isTrue();
		assertThat(poller.registeredProducers()).isZero();
	}

	/**
	 * If the thread dies (a VirtualMachineError), every source is released with the cause, including one
	 * whose registration was still queued, so that no close waits forever; the next registration starts a
	 * new thread.
	 */
	@Test
	@Timeout(120)
	void threadDeathReleasesRegisteredAndQueuedSourcesAndALaterRegistrationStartsAgain() throws Exception {
		Poller poller = new Poller(PollerConfig.named("dying").withPollTimeout(LONG_POLL_TIMEOUT));
		TestSource victim = new TestSource("victim", Duration.ofMillis(100));
		TestSource bystander = new TestSource("bystander", Duration.ofMillis(100));
		PollingSession victimSession = victim.registerWith(poller);
		PollingSession bystanderSession = bystander.registerWith(poller);
		dispatchedOn(victim);
		dispatchedOn(bystander);
		CountDownLatch inside = new CountDownLatch(1);
		CountDownLatch release = new CountDownLatch(1);
		InternalError death = new InternalError("simulated VM error (expected in this test)");
		victim.offer(() -> {
			inside.countDown();
			awaitQuietly(release);
			throw death;
		});
		assertThat(inside.await(GUARD.toSeconds(), TimeUnit.SECONDS)).isTrue();
		// Registered while the thread is busy: the registration is still queued when the thread dies.
		TestSource late = new TestSource("late", Duration.ofMillis(100));
		PollingSession lateSession = late.registerWith(poller);
		release.countDown();

		assertThat(poller.awaitStopped(GUARD)).isTrue();
		for (TestSource source : new TestSource[] { victim, bystander, late }) {
			assertThat(source.terminated).as("%s released", source.id()).isSameAs(death);
		}
		for (PollingSession session : new PollingSession[] { victimSession, bystanderSession, lateSession }) {
			assertThat(session.detach()).failsWithin(GUARD).withThrowableOfType(java.util.concurrent.ExecutionException.class)
				.withCause(death);
		}
		assertThat(poller.registeredProducers()).isZero();
		assertThat(poller.producerIds()).isEmpty();
		assertThat(poller.isRunning()).isFalse();

		TestSource next = new TestSource("next", Duration.ofMillis(100));
		PollingSession nextSession = next.registerWith(poller);
		assertThat(dispatchedOn(next).getName()).isEqualTo(poller.threadName());
		nextSession.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
		assertThat(poller.awaitStopped(GUARD)).isTrue();
	}

	/**
	 * The death is most often an OutOfMemoryError, and releasing a producer may fail of it again: the others
	 * are released all the same, and the Poller is left without a thread, ready to start a new one.
	 */
	@Test
	@Timeout(120)
	void aReleaseThatFailsOnTheThreadsDeathLeavesNoOtherProducerAttached() throws Exception {
		Poller poller = new Poller(PollerConfig.named("dying-twice").withPollTimeout(LONG_POLL_TIMEOUT));
		List<TestSource> sources = new ArrayList<>();
		for (String id : List.of("first", "second")) {
			TestSource source = new TestSource(id, Duration.ofMillis(100)) {
				@Override
				public void pollingTerminated(Throwable cause) {
					super.pollingTerminated(cause);
					throw new OutOfMemoryError("simulated, while releasing " + id() + " (expected in this test)");
				}
			};
			source.registerWith(poller);
			dispatchedOn(source);
			sources.add(source);
		}
		InternalError death = new InternalError("simulated VM error (expected in this test)");
		sources.get(0).offer(() -> {
			throw death;
		});

		assertThat(poller.awaitStopped(GUARD)).isTrue();
		await().atMost(GUARD).dontCatchUncaughtExceptions()
			.untilAsserted(() -> assertThat(sources).allSatisfy((source) -> assertThat(source.terminated)
				.as("%s released", source.id())
				.isSameAs(death)));
		assertThat(poller.isRunning()).isFalse();
		TestSource next = new TestSource("next", Duration.ofMillis(100));
		PollingSession nextSession = next.registerWith(poller);
		assertThat(dispatchedOn(next).getName()).isEqualTo(poller.threadName());
		nextSession.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
	}

	/**
	 * A producer released by the thread's death that detaches right away (its close, woken by the release)
	 * finds nothing left to do: no new thread is started just to apply that detach.
	 */
	@Test
	@Timeout(120)
	void aDetachOnTheThreadsDeathStartsNoNewThread() throws Exception {
		AtomicInteger starts = new AtomicInteger();
		Poller poller = new Poller(PollerConfig.named("dying-detach").withPollTimeout(LONG_POLL_TIMEOUT),
				"waterdrop.poller#test-dying-detach", (task) -> {
					starts.incrementAndGet();
					return new Thread(task);
				});
		AtomicReference<PollingSession> session = new AtomicReference<>();
		AtomicReference<CompletableFuture<Void>> detachOnDeath = new AtomicReference<>();
		TestSource victim = new TestSource("victim", Duration.ofMillis(100)) {
			@Override
			public void pollingTerminated(Throwable cause) {
				super.pollingTerminated(cause);
				detachOnDeath.set(session.get().detach());
			}
		};
		session.set(victim.registerWith(poller));
		dispatchedOn(victim);
		InternalError death = new InternalError("simulated VM error (expected in this test)");
		victim.offer(() -> {
			throw death;
		});

		assertThat(poller.awaitStopped(GUARD)).isTrue();
		await().atMost(GUARD).dontCatchUncaughtExceptions().until(() -> detachOnDeath.get() != null);
		assertThat(detachOnDeath.get()).isCompletedExceptionally();
		assertThat(starts).as("threads started").hasValue(1);
		assertThat(poller.isRunning()).isFalse();
	}

	/** Dispatches one report of {@code source} and returns the thread it ran on. */
	static Thread dispatchedOn(TestSource source) throws Exception {
		AtomicReference<Thread> thread = new AtomicReference<>();
		CountDownLatch done = new CountDownLatch(1);
		source.offer(() -> {
			thread.set(Thread.currentThread());
			done.countDown();
		});
		await().atMost(GUARD).until(() -> done.getCount() == 0);
		return thread.get();
	}

	static void awaitQuietly(CountDownLatch latch) {
		try {
			latch.await(60, TimeUnit.SECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
