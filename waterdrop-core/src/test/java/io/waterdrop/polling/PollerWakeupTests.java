package io.waterdrop.polling;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/**
 * The wake-up protocol of pipes opened by a Poller ({@link PollerWakeups}): a signal writes to its pipe only
 * while the Poller sleeps in its selector; a signal that finds it awake is announced and collected before
 * the Poller would sleep. A lost wake-up leaves a report undispatched and fails by its guard.
 */
class PollerWakeupTests {

	private static final Duration LONG = Duration.ofHours(1);

	/** A dispatch normally follows within microseconds; 30 s fails a lost wake-up, not a busy machine. */
	private static final long GUARD_NANOS = TimeUnit.SECONDS.toNanos(30);

	/** While the Poller runs a callback it is awake: another producer's signal writes no byte, and is served. */
	@RepeatedTest(5)
	@Timeout(30)
	void signalWhileThePollerIsAwakeWritesNothingAndIsServed() throws Exception {
		Poller poller = new Poller(PollerConfig.named("awake").withPollTimeout(LONG));
		TestSource busy = TestSource.of(poller, "busy", LONG, LONG);
		TestSource other = TestSource.of(poller, "other", LONG, LONG);
		CountDownLatch inCallback = new CountDownLatch(1);
		CountDownLatch release = new CountDownLatch(1);
		AtomicInteger bytesWhileAwake = new AtomicInteger(-1);
		CountDownLatch otherServed = new CountDownLatch(1);
		PollingSession busySession = busy.registerWith(poller);
		PollingSession otherSession = other.registerWith(poller);
		busy.offer(() -> {
			inCallback.countDown();
			await(release);
		});
		assertThat(inCallback.await(30, TimeUnit.SECONDS)).isTrue();
		other.offer(otherServed::countDown);
		bytesWhileAwake.set(other.pipe.source().read(ByteBuffer.allocate(8)));
		release.countDown();
		assertThat(otherServed.await(30, TimeUnit.SECONDS)).as("the announced producer was served").isTrue();
		busySession.detach().get(30, TimeUnit.SECONDS);
		otherSession.detach().get(30, TimeUnit.SECONDS);
		assertThat(bytesWhileAwake).as("bytes written to the pipe while the Poller was awake").hasValue(0);
	}

	/**
	 * One report at a time, each waited for before the next, alternating between producers of one Poller:
	 * every offer races the Poller going to sleep (announce or write), the shape of synchronous sends.
	 */
	@Test
	@Timeout(180)
	void roundTripsOneReportAtATimeLoseNoWakeUp() throws Exception {
		Poller poller = new Poller(PollerConfig.named("round-trips").withPollTimeout(LONG));
		List<TestSource> sources = new ArrayList<>();
		List<PollingSession> sessions = new ArrayList<>();
		for (int i = 0; i < 3; i++) {
			TestSource source = TestSource.of(poller, "source-" + i, LONG, Duration.ZERO);
			sources.add(source);
			sessions.add(source.registerWith(poller));
		}
		AtomicInteger dispatched = new AtomicInteger();
		// Bounded by time as well as count: on a busy machine one wake-up may cost milliseconds.
		long budgetEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
		int roundTrips = 0;
		for (int i = 1; i <= 200_000 && System.nanoTime() - budgetEnd < 0; i++) {
			sources.get(i % sources.size()).offer(dispatched::incrementAndGet);
			long deadline = System.nanoTime() + GUARD_NANOS;
			int spins = 0;
			while (dispatched.get() < i) {
				if (System.nanoTime() - deadline > 0) {
					throw new AssertionError("report " + i + " was never dispatched: a lost wake-up");
				}
				if (++spins > 100) {
					Thread.yield();
				}
			}
			roundTrips = i;
		}
		for (PollingSession session : sessions) {
			session.detach().get(30, TimeUnit.SECONDS);
		}
		assertThat(poller.awaitStopped(Duration.ofSeconds(30))).isTrue();
		// Enough races to mean something; a lost wake-up fails by the guard above (the Poller sleeps an hour).
		assertThat(roundTrips).as("round trips within the time budget").isGreaterThanOrEqualTo(10_000);
	}

	/**
	 * One producer, one report at a time with pauses of 0–80 µs between them, around the 5 µs the Poller keeps
	 * looking for work before it sleeps: each report finds the Poller still looking, just going to sleep, or
	 * asleep, and must be dispatched in every case.
	 */
	@Test
	@Timeout(120)
	void roundTripsWithPausesToOneProducerLoseNoWakeUp() throws Exception {
		Poller poller = new Poller(PollerConfig.named("pauses").withPollTimeout(LONG));
		TestSource source = TestSource.of(poller, "paused", LONG, Duration.ZERO);
		PollingSession session = source.registerWith(poller);
		AtomicInteger dispatched = new AtomicInteger();
		for (int i = 1; i <= 5_000; i++) {
			source.offer(dispatched::incrementAndGet);
			long deadline = System.nanoTime() + GUARD_NANOS;
			while (dispatched.get() < i) {
				if (System.nanoTime() - deadline > 0) {
					throw new AssertionError("report " + i + " was never dispatched: a lost wake-up");
				}
				Thread.onSpinWait();
			}
			java.util.concurrent.locks.LockSupport.parkNanos(20_000L * (i % 5));
		}
		session.detach().get(30, TimeUnit.SECONDS);
		assertThat(source.queue.size()).isZero();
	}

	/**
	 * Several threads offer to several producers at once, with callbacks now and then long enough for the
	 * others to signal meanwhile: every report is dispatched exactly once.
	 */
	@RepeatedTest(10)
	@Timeout(120)
	void concurrentOffersToManyProducersAreDispatchedExactlyOnce() throws Exception {
		Poller poller = new Poller(PollerConfig.named("concurrent").withPollTimeout(LONG));
		int producers = 4;
		int reportsPerProducer = 20_000;
		List<TestSource> sources = new ArrayList<>();
		List<PollingSession> sessions = new ArrayList<>();
		for (int p = 0; p < producers; p++) {
			TestSource source = TestSource.of(poller, "p" + p, Duration.ofMillis(1), Duration.ZERO);
			sources.add(source);
			sessions.add(source.registerWith(poller));
		}
		AtomicIntegerArray dispatched = new AtomicIntegerArray(producers * reportsPerProducer);
		AtomicReference<Throwable> failure = new AtomicReference<>();
		List<Thread> threads = new ArrayList<>();
		for (int p = 0; p < producers; p++) {
			TestSource source = sources.get(p);
			int base = p * reportsPerProducer;
			Thread thread = new Thread(() -> {
				try {
					for (int i = 0; i < reportsPerProducer; i++) {
						int index = base + i;
						boolean slow = (i % 997) == 0;
						source.offer(() -> {
							if (slow) {
								TestSource.spin(TimeUnit.MICROSECONDS.toNanos(200));
							}
							dispatched.incrementAndGet(index);
						});
						if ((i & 63) == 0) {
							Thread.yield(); // let the queue run empty now and then: more edges
						}
					}
				}
				catch (Throwable ex) {
					failure.compareAndSet(null, ex);
				}
			}, "offer-" + p);
			threads.add(thread);
			thread.start();
		}
		for (Thread thread : threads) {
			thread.join();
		}
		for (PollingSession session : sessions) {
			session.detach().get(60, TimeUnit.SECONDS);
		}
		assertThat(failure.get()).isNull();
		for (int i = 0; i < dispatched.length(); i++) {
			assertThat(dispatched.get(i)).as("times report %d was dispatched", i).isEqualTo(1);
		}
	}

	@Test
	void pipeOpenedByAnotherPollerIsRefused() throws Exception {
		Poller one = new Poller(PollerConfig.named("one"));
		Poller other = new Poller(PollerConfig.named("other"));
		TestSource source = TestSource.of(one, "misplaced", LONG, LONG);
		try {
			assertThatIllegalArgumentException().isThrownBy(() -> other.register(source, source.pipe))
				.withMessageContaining("'misplaced'")
				.withMessageContaining("openPipe()");
			assertThat(other.isRunning()).isFalse();
		}
		finally {
			source.pipe.close();
		}
	}

	private static void await(CountDownLatch latch) {
		try {
			latch.await(30, TimeUnit.SECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
