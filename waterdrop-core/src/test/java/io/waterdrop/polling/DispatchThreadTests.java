package io.waterdrop.polling;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.InvalidConfigurationException;
import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.PollerEvent;
import io.waterdrop.instrumentation.ProducerEvent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * Thread mode: one parked thread per producer, woken by the queue's edge-triggered signal. Where a test
 * shows that the thread was woken by a signal, its poll timeout is an hour: waiting for the timeout would
 * hit the 30 s guards instead of a wall-clock bound.
 */
class DispatchThreadTests {

	private static final Duration LONG_POLL_TIMEOUT = Duration.ofHours(1);

	/** Deadlock guard for what happens at once; never a performance bound. */
	private static final Duration GUARD = Duration.ofSeconds(30);

	@Test
	@Timeout(120)
	void dispatchesOnItsNamedThreadAndEndsAfterDetach() throws Exception {
		DispatchThread thread = new DispatchThread("orders", LONG_POLL_TIMEOUT);
		TestSource source = new TestSource("orders", Duration.ofMillis(100), thread);
		thread.start(source);
		assertThat(thread.mode()).isEqualTo(PollingMode.THREAD);
		assertThat(thread.pollerName()).isEqualTo("waterdrop.dispatch-orders");
		CompletableFuture<Thread> served = new CompletableFuture<>();
		source.offer(() -> served.complete(thread.isPollingThread() ? Thread.currentThread() : null));
		// Woken by the signal, not by the 1 h poll timeout.
		Thread dispatcher = served.get(GUARD.toSeconds(), TimeUnit.SECONDS);
		assertThat(dispatcher).isNotNull();
		assertThat(dispatcher.getName()).isEqualTo("waterdrop.dispatch-orders");
		assertThat(dispatcher.isDaemon()).isTrue();
		assertThat(thread.isPollingThread()).isFalse();
		thread.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
		dispatcher.join(GUARD.toMillis());
		assertThat(dispatcher.isAlive()).isFalse();
		assertThat(source.events(PollerEvent.ProducerRegistered.class)).hasSize(1);
		assertThat(source.events(PollerEvent.ProducerUnregistered.class)).hasSize(1);
	}

	@Test
	@Timeout(120)
	void idleThreadRunsPeriodicWorkEveryPollTimeout() throws Exception {
		DispatchThread thread = new DispatchThread("idle", Duration.ofMillis(30));
		TestSource source = new TestSource("idle", Duration.ofMillis(100), thread);
		thread.start(source);
		try {
			await().atMost(GUARD).until(() -> source.periodicCalls.size() >= 5);
		}
		finally {
			thread.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
		}
	}

	/**
	 * One report at a time with pauses of 0–80 µs between them, around the 5 µs the thread keeps looking for
	 * a signal before it parks: each report finds the thread awake (no unpark), about to park, or parked,
	 * and must be dispatched in every case. The 1 h poll timeout means a lost wake-up fails the test.
	 */
	@Test
	@Timeout(120)
	void roundTripsWithPausesLoseNoWakeUp() throws Exception {
		DispatchThread thread = new DispatchThread("pauses", LONG_POLL_TIMEOUT);
		TestSource source = new TestSource("pauses", Duration.ofMillis(100), thread);
		thread.start(source);
		AtomicInteger dispatched = new AtomicInteger();
		for (int i = 1; i <= 20_000; i++) {
			source.offer(dispatched::incrementAndGet);
			long deadline = System.nanoTime() + GUARD.toNanos();
			while (dispatched.get() < i) {
				if (System.nanoTime() - deadline > 0) {
					throw new AssertionError("report " + i + " was never dispatched: a lost wake-up");
				}
				Thread.onSpinWait();
			}
			if (i % 5 != 0) {
				LockSupport.parkNanos(20_000L * (i % 5));
			}
		}
		thread.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
		assertThat(source.queue.size()).isZero();
	}

	@RepeatedTest(5)
	@Timeout(120)
	void detachDispatchesEverythingQueuedFirst() throws Exception {
		DispatchThread thread = new DispatchThread("detach", LONG_POLL_TIMEOUT);
		TestSource source = new TestSource("detach", Duration.ofMillis(100), thread);
		CountDownLatch blocking = new CountDownLatch(1);
		CountDownLatch release = new CountDownLatch(1);
		thread.start(source);
		source.offer(() -> {
			blocking.countDown();
			PollerLifecycleTests.awaitQuietly(release);
		});
		assertThat(blocking.await(GUARD.toSeconds(), TimeUnit.SECONDS)).isTrue();
		int reports = 5_000;
		AtomicIntegerArray dispatched = new AtomicIntegerArray(reports);
		AtomicInteger count = new AtomicInteger();
		for (int i = 0; i < reports; i++) {
			int report = i;
			source.offer(() -> {
				dispatched.incrementAndGet(report);
				count.incrementAndGet();
			});
		}
		CompletableFuture<Void> detached = thread.detach();
		// Computed on the dispatch thread the moment detach completes (a plain get() may return before it runs).
		CompletableFuture<Integer> countWhenDetached = detached.thenApply((done) -> count.get());
		assertThat(detached).isNotDone();
		release.countDown();
		detached.get(GUARD.toSeconds(), TimeUnit.SECONDS);
		assertThat(countWhenDetached.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isEqualTo(reports);
		for (int i = 0; i < reports; i++) {
			assertThat(dispatched.get(i)).as("times report %d was dispatched", i).isEqualTo(1);
		}
	}

	/**
	 * A callback blocking on a latch consumes the thread's park permit. A report offered meanwhile leaves the
	 * queue signalled, so later reports do not signal again: they must still be dispatched at once, not
	 * after the (1 h) poll timeout.
	 */
	@RepeatedTest(3)
	@Timeout(120)
	void reportsAfterABlockingCallbackAreDispatchedPromptly() throws Exception {
		DispatchThread thread = new DispatchThread("blocking", LONG_POLL_TIMEOUT);
		TestSource source = new TestSource("blocking", Duration.ofMillis(100), thread);
		thread.start(source);
		try {
			CountDownLatch blocking = new CountDownLatch(1);
			CountDownLatch release = new CountDownLatch(1);
			AtomicReference<Thread> dispatcher = new AtomicReference<>();
			source.offer(() -> {
				dispatcher.set(Thread.currentThread());
				blocking.countDown();
				PollerLifecycleTests.awaitQuietly(release);
			});
			assertThat(blocking.await(GUARD.toSeconds(), TimeUnit.SECONDS)).isTrue();
			CountDownLatch duringCallback = new CountDownLatch(1);
			source.offer(duringCallback::countDown); // its unpark lands in the latch wait above
			Thread.sleep(20);
			release.countDown();
			assertThat(duringCallback.await(GUARD.toSeconds(), TimeUnit.SECONDS)).isTrue();
			// Parked again before the next report comes (the callback that waited with a timeout has returned).
			await().atMost(GUARD).until(() -> dispatcher.get().getState() == Thread.State.TIMED_WAITING);
			CompletableFuture<Void> served = new CompletableFuture<>();
			source.offer(() -> served.complete(null));
			served.get(GUARD.toSeconds(), TimeUnit.SECONDS);
		}
		finally {
			thread.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
		}
	}

	/** A detach requested while a callback blocks on a latch completes at once, not after the (1 h) poll timeout. */
	@Test
	@Timeout(120)
	void detachDuringABlockingCallbackCompletesPromptly() throws Exception {
		DispatchThread thread = new DispatchThread("blocking-detach", LONG_POLL_TIMEOUT);
		TestSource source = new TestSource("blocking-detach", Duration.ofMillis(100), thread);
		thread.start(source);
		CountDownLatch blocking = new CountDownLatch(1);
		CountDownLatch release = new CountDownLatch(1);
		source.offer(() -> {
			blocking.countDown();
			PollerLifecycleTests.awaitQuietly(release);
		});
		assertThat(blocking.await(GUARD.toSeconds(), TimeUnit.SECONDS)).isTrue();
		CompletableFuture<Void> detached = thread.detach();
		Thread.sleep(20);
		release.countDown();
		detached.get(GUARD.toSeconds(), TimeUnit.SECONDS);
	}

	@Test
	@Timeout(120)
	void failingDrainIsReportedAndBackedOff() throws Exception {
		DispatchThread thread = new DispatchThread("broken", LONG_POLL_TIMEOUT);
		TestSource source = new TestSource("broken", Duration.ofMillis(100), thread);
		IllegalStateException failure = new IllegalStateException("drain failed");
		source.failure = failure;
		thread.start(source);
		try {
			await().atMost(GUARD).until(() -> source.events(PollerEvent.LoopError.class).size() >= 2);
			List<Duration> backoffs = source.events(PollerEvent.LoopError.class)
				.stream()
				.map(PollerEvent.LoopError::backoff)
				.toList();
			assertThat(backoffs).startsWith(PollerConfig.DEFAULT_BACKOFF_MIN, PollerConfig.DEFAULT_BACKOFF_MIN.multipliedBy(2));
			assertThat(source.events(ProducerEvent.ErrorOccurred.class)).first().satisfies((event) -> {
				assertThat(event.type()).isEqualTo(ErrorType.POLLER_LOOP);
				assertThat(event.error()).isSameAs(failure);
			});
			source.failure = null;
			CompletableFuture<Void> served = new CompletableFuture<>();
			source.offer(() -> served.complete(null));
			served.get(GUARD.toSeconds(), TimeUnit.SECONDS);
		}
		finally {
			source.failure = null;
			thread.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
		}
	}

	@Test
	@Timeout(5)
	void pollTimeoutBelowOneMillisecondIsRejected() {
		assertThatExceptionOfType(InvalidConfigurationException.class)
			.isThrownBy(() -> new DispatchThread("p", Duration.ZERO))
			.satisfies((ex) -> assertThat(ex.property()).isEqualTo("polling.thread.poll-timeout"))
			.withMessage("polling.thread.poll-timeout: must be at least 1 ms but was 0 ms");
	}

}
