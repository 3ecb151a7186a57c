package io.waterdrop.benchmarks.lean;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.waterdrop.benchmarks.clients.DeliveryListener;

import static org.assertj.core.api.Assertions.assertThat;

/** The lean hand-off must be correct to be a fair floor: every report once, in order, no lost wake-up. */
class LeanHandoffTests {

	@Test
	void everyReportOfManyPushingThreadsIsDispatchedOnceInEachThreadsOrder() throws InterruptedException {
		int threads = 4;
		int perThread = 50_000;
		long[] lastSeen = new long[threads];
		long[] dispatched = new long[threads];
		boolean[] outOfOrder = new boolean[1];
		List<Thread> pushers = new ArrayList<>();
		try (LeanSelectorThread selector = new LeanSelectorThread("test-lean")) {
			LeanReportQueue queue = selector.newQueue();
			selector.start();
			CountDownLatch start = new CountDownLatch(1);
			for (int t = 0; t < threads; t++) {
				int thread = t;
				pushers.add(Thread.ofPlatform().start(() -> {
					awaitQuietly(start);
					for (long sequence = 1; sequence <= perThread; sequence++) {
						long expected = sequence;
						// Runs on the one Selector thread: plain arrays are safe, and join publishes them.
						DeliveryListener check = (error) -> {
							outOfOrder[0] |= lastSeen[thread] != expected - 1;
							lastSeen[thread] = expected;
							dispatched[thread]++;
						};
						new LeanReport(queue, check).onCompletion(null, null);
					}
				}));
			}
			start.countDown();
			for (Thread pusher : pushers) {
				pusher.join();
			}
		} // close() stops the thread after draining what was queued

		assertThat(outOfOrder[0]).isFalse();
		assertThat(dispatched).containsOnly(perThread);
	}

	@Test
	void aReportPushedWhileTheSelectorThreadIdlesWakesIt() throws InterruptedException {
		AtomicLong dispatched = new AtomicLong();
		DeliveryListener counter = (error) -> dispatched.incrementAndGet();
		try (LeanSelectorThread selector = new LeanSelectorThread("test-lean")) {
			LeanReportQueue queue = selector.newQueue();
			selector.start();
			for (int i = 1; i <= 2000; i++) {
				new LeanReport(queue, counter).onCompletion(null, null);
				// A guard against a lost wake-up only: a busy machine may take milliseconds, never 30 s.
				long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
				while (dispatched.get() < i) {
					assertThat(System.nanoTime()).as("report %d dispatched within 30 s", i).isLessThan(deadline);
					Thread.onSpinWait();
				}
			}
		}
		assertThat(dispatched.get()).isEqualTo(2000);
	}

	private static void awaitQuietly(CountDownLatch latch) {
		try {
			latch.await();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
