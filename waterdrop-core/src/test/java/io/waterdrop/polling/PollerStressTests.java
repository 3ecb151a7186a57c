package io.waterdrop.polling;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Many sources registering and detaching concurrently (some detaching before their registration was even
 * applied) while two others flood: every report is dispatched exactly once, every detach completes, and
 * the thread ends once everything is gone. Half the sources have pipes opened by the Poller (announced while
 * it is awake), half pipes that write on every signal, so both wake-up paths and their mix are exercised.
 */
class PollerStressTests {

	private static final int WORKERS = 6;

	private static final int ROUNDS = 30;

	private static final int REPORTS = 150;

	@RepeatedTest(5)
	@Timeout(180)
	void concurrentRegistrationsAndDetachmentsUnderFlood() throws Exception {
		Poller poller = new Poller(PollerConfig.named("stress").withPollTimeout(Duration.ofMillis(50)));
		AtomicBoolean flooding = new AtomicBoolean(true);
		List<TestSource> floods = new ArrayList<>();
		List<PollingSession> floodSessions = new ArrayList<>();
		for (int f = 0; f < 2; f++) {
			// One pipe that always writes, one of this Poller's (it writes only while the Poller sleeps).
			TestSource flood = (f == 0) ? new TestSource("flood-" + f, Duration.ofMillis(2))
					: TestSource.of(poller, "flood-" + f, Duration.ofMillis(2), Duration.ofMillis(2));
			floods.add(flood);
			floodSessions.add(flood.registerWith(poller));
			flood.offer(new Runnable() {
				@Override
				public void run() {
					TestSource.spin(TimeUnit.MICROSECONDS.toNanos(10));
					if (flooding.get()) {
						flood.offer(this);
					}
				}
			});
		}
		AtomicIntegerArray dispatched = new AtomicIntegerArray(WORKERS * ROUNDS * REPORTS);
		AtomicReference<Throwable> failure = new AtomicReference<>();
		CountDownLatch start = new CountDownLatch(1);
		List<Thread> workers = new ArrayList<>();
		for (int w = 0; w < WORKERS; w++) {
			int worker = w;
			Thread thread = new Thread(() -> {
				try {
					start.await();
					for (int round = 0; round < ROUNDS; round++) {
						runRound(poller, dispatched, (worker * ROUNDS + round) * REPORTS, round % 3);
					}
				}
				catch (Throwable ex) {
					failure.compareAndSet(null, ex);
				}
			}, "stress-worker-" + w);
			workers.add(thread);
			thread.start();
		}
		start.countDown();
		for (Thread worker : workers) {
			worker.join();
		}
		flooding.set(false);
		for (PollingSession session : floodSessions) {
			session.detach().get(30, TimeUnit.SECONDS);
		}
		assertThat(failure.get()).as("worker failure").isNull();
		for (int i = 0; i < dispatched.length(); i++) {
			assertThat(dispatched.get(i)).as("times report %d was dispatched", i).isEqualTo(1);
		}
		for (TestSource flood : floods) {
			assertThat(flood.queue.size()).isZero();
		}
		assertThat(poller.awaitStopped(Duration.ofSeconds(30))).isTrue();
		assertThat(poller.registeredProducers()).isZero();
		assertThat(poller.producerIds()).isEmpty();
		assertThat(TestSource.threadAlive(poller.threadName())).isFalse();
	}

	/**
	 * One source's life. Variant 0: reports before and after registering, detach once they are served;
	 * 1: detach at once, while the reports are still queued; 2: detach right after registering, reports
	 * queued only before.
	 */
	private static void runRound(Poller poller, AtomicIntegerArray dispatched, int base, int variant)
			throws Exception {
		TestSource source = (base / REPORTS % 2 == 0) ? new TestSource("source-" + base, Duration.ofMillis(2))
				: TestSource.of(poller, "source-" + base, Duration.ofMillis(2), Duration.ofMillis(2));
		int half = REPORTS / 2;
		int beforeRegistration = (variant == 2) ? REPORTS : half;
		for (int i = 0; i < beforeRegistration; i++) {
			source.offer(report(dispatched, base + i));
		}
		PollingSession session = source.registerWith(poller);
		CompletableFuture<Void> detached = null;
		if (variant == 2) {
			detached = session.detach();
		}
		for (int i = beforeRegistration; i < REPORTS; i++) {
			source.offer(report(dispatched, base + i));
		}
		if (variant == 0) {
			long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
			while (source.queue.size() > 0 && System.nanoTime() - deadline < 0) {
				Thread.sleep(1);
			}
		}
		if (detached == null) {
			detached = session.detach();
		}
		detached.get(60, TimeUnit.SECONDS);
		for (int i = 0; i < REPORTS; i++) {
			assertThat(dispatched.get(base + i)).as("report %d dispatched when detach completed", base + i)
				.isEqualTo(1);
		}
		assertThat(source.queue.size()).isZero();
	}

	private static Runnable report(AtomicIntegerArray dispatched, int index) {
		return () -> {
			TestSource.spin(TimeUnit.MICROSECONDS.toNanos(2));
			dispatched.incrementAndGet(index);
		};
	}

}
