package io.waterdrop.polling;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

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

/** Thread mode: one parked thread per producer, woken by the queue's edge-triggered signal. */
class DispatchThreadTests {

	@Test
	@Timeout(10)
	void dispatchesOnItsNamedThreadAndEndsAfterDetach() throws Exception {
		DispatchThread thread = new DispatchThread("orders", Duration.ofSeconds(5));
		TestSource source = new TestSource("orders", Duration.ofMillis(100), thread);
		thread.start(source);
		assertThat(thread.mode()).isEqualTo(PollingMode.THREAD);
		assertThat(thread.pollerName()).isEqualTo("waterdrop.dispatch-orders");
		CompletableFuture<Thread> served = new CompletableFuture<>();
		source.offer(() -> served.complete(thread.isPollingThread() ? Thread.currentThread() : null));
		// Woken by the signal, not by the 5 s poll timeout.
		Thread dispatcher = served.get(1, TimeUnit.SECONDS);
		assertThat(dispatcher).isNotNull();
		assertThat(dispatcher.getName()).isEqualTo("waterdrop.dispatch-orders");
		assertThat(dispatcher.isDaemon()).isTrue();
		assertThat(thread.isPollingThread()).isFalse();
		thread.detach().get(1, TimeUnit.SECONDS);
		dispatcher.join(1000);
		assertThat(dispatcher.isAlive()).isFalse();
		assertThat(source.events(PollerEvent.ProducerRegistered.class)).hasSize(1);
		assertThat(source.events(PollerEvent.ProducerUnregistered.class)).hasSize(1);
	}

	@Test
	@Timeout(10)
	void idleThreadRunsPeriodicWorkEveryPollTimeout() throws Exception {
		DispatchThread thread = new DispatchThread("idle", Duration.ofMillis(30));
		TestSource source = new TestSource("idle", Duration.ofMillis(100), thread);
		thread.start(source);
		try {
			await().atMost(Duration.ofSeconds(5)).until(() -> source.periodicCalls.size() >= 5);
		}
		finally {
			thread.detach().get(5, TimeUnit.SECONDS);
		}
	}

	@RepeatedTest(5)
	@Timeout(20)
	void detachDispatchesEverythingQueuedFirst() throws Exception {
		DispatchThread thread = new DispatchThread("detach", Duration.ofSeconds(5));
		TestSource source = new TestSource("detach", Duration.ofMillis(100), thread);
		CountDownLatch blocking = new CountDownLatch(1);
		CountDownLatch release = new CountDownLatch(1);
		thread.start(source);
		source.offer(() -> {
			blocking.countDown();
			PollerLifecycleTests.awaitQuietly(release);
		});
		assertThat(blocking.await(5, TimeUnit.SECONDS)).isTrue();
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
		detached.get(10, TimeUnit.SECONDS);
		assertThat(countWhenDetached.get(5, TimeUnit.SECONDS)).isEqualTo(reports);
		for (int i = 0; i < reports; i++) {
			assertThat(dispatched.get(i)).as("times report %d was dispatched", i).isEqualTo(1);
		}
	}

	/**
	 * A callback blocking on a latch consumes the thread's park permit. A report offered meanwhile leaves the
	 * queue signalled, so later reports do not signal again: they must still be dispatched at once, not
	 * after the 5 s poll timeout.
	 */
	@RepeatedTest(3)
	@Timeout(20)
	void reportsAfterABlockingCallbackAreDispatchedPromptly() throws Exception {
		DispatchThread thread = new DispatchThread("blocking", Duration.ofSeconds(5));
		TestSource source = new TestSource("blocking", Duration.ofMillis(100), thread);
		thread.start(source);
		try {
			CountDownLatch blocking = new CountDownLatch(1);
			CountDownLatch release = new CountDownLatch(1);
			source.offer(() -> {
				blocking.countDown();
				PollerLifecycleTests.awaitQuietly(release);
			});
			assertThat(blocking.await(5, TimeUnit.SECONDS)).isTrue();
			CountDownLatch duringCallback = new CountDownLatch(1);
			source.offer(duringCallback::countDown); // its unpark lands in the latch wait above
			Thread.sleep(20);
			release.countDown();
			assertThat(duringCallback.await(5, TimeUnit.SECONDS)).isTrue();
			Thread.sleep(50); // the thread is parked now
			CompletableFuture<Long> served = new CompletableFuture<>();
			long start = System.nanoTime();
			source.offer(() -> served.complete(System.nanoTime()));
			assertThat(Duration.ofNanos(served.get(10, TimeUnit.SECONDS) - start)).isLessThan(Duration.ofSeconds(1));
		}
		finally {
			long start = System.nanoTime();
			thread.detach().get(10, TimeUnit.SECONDS);
			assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
		}
	}

	/** A detach requested while a callback blocks on a latch completes at once, not after the poll timeout. */
	@Test
	@Timeout(20)
	void detachDuringABlockingCallbackCompletesPromptly() throws Exception {
		DispatchThread thread = new DispatchThread("blocking-detach", Duration.ofSeconds(5));
		TestSource source = new TestSource("blocking-detach", Duration.ofMillis(100), thread);
		thread.start(source);
		CountDownLatch blocking = new CountDownLatch(1);
		CountDownLatch release = new CountDownLatch(1);
		source.offer(() -> {
			blocking.countDown();
			PollerLifecycleTests.awaitQuietly(release);
		});
		assertThat(blocking.await(5, TimeUnit.SECONDS)).isTrue();
		CompletableFuture<Void> detached = thread.detach();
		Thread.sleep(20);
		long start = System.nanoTime();
		release.countDown();
		detached.get(10, TimeUnit.SECONDS);
		assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
	}

	@Test
	@Timeout(20)
	void failingDrainIsReportedAndBackedOff() throws Exception {
		DispatchThread thread = new DispatchThread("broken", Duration.ofSeconds(5));
		TestSource source = new TestSource("broken", Duration.ofMillis(100), thread);
		IllegalStateException failure = new IllegalStateException("drain failed");
		source.failure = failure;
		thread.start(source);
		try {
			await().atMost(Duration.ofSeconds(5)).until(() -> source.events(PollerEvent.LoopError.class).size() >= 2);
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
			served.get(5, TimeUnit.SECONDS);
		}
		finally {
			source.failure = null;
			thread.detach().get(5, TimeUnit.SECONDS);
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
