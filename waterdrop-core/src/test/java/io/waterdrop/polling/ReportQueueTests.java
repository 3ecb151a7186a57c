package io.waterdrop.polling;

import java.io.IOException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

/**
 * The edge-triggered signal of {@link ReportQueue}: one signal per burst, none while a drain runs, no lost
 * wake-up, every report drained exactly once and in the order its thread offered it, and the "drain again
 * without a signal" promise of a deadline-stopped drain.
 */
class ReportQueueTests {

	private static final int PRODUCERS = 4;

	private static final int PER_PRODUCER = 5_000;

	private static final int TOTAL = PRODUCERS * PER_PRODUCER;

	/** A report for the tests: an int that is its own queue node. */
	static final class Item extends ReportQueue.Node {

		final int value;

		Item(int value) {
			this.value = value;
		}

		@Override
		public String toString() {
			return Integer.toString(this.value);
		}

	}

	private static DrainSlice untilFarAway() {
		return DrainSlice.untilDeadline().begin(System.nanoTime(), TimeUnit.SECONDS.toNanos(10), 0);
	}

	private static DrainSlice alreadyOver() {
		return DrainSlice.untilDeadline().begin(System.nanoTime() - 1, 0, 0);
	}

	private static List<Integer> values(List<Item> items) {
		return items.stream().map((item) -> item.value).toList();
	}

	@Test
	@Timeout(5)
	void signalsOnceUntilDrained() {
		AtomicInteger signals = new AtomicInteger();
		ReportQueue<Item> queue = new ReportQueue<>(signals::incrementAndGet);
		queue.offer(new Item(1));
		queue.offer(new Item(2));
		queue.offer(new Item(3));
		assertThat(signals).hasValue(1);
		assertThat(queue.size()).isEqualTo(3);
		List<Item> drained = new ArrayList<>();
		assertThat(queue.drainTo(untilFarAway(), drained::add)).isTrue();
		assertThat(values(drained)).containsExactly(1, 2, 3);
		assertThat(queue.size()).isZero();
		// The drain gave the signal up when it found the queue empty: the next report is a new edge.
		queue.offer(new Item(4));
		assertThat(signals).hasValue(2);
	}

	@Test
	@Timeout(5)
	void offersDuringADrainCostNoSignalAndAreDrainedByIt() {
		AtomicInteger signals = new AtomicInteger();
		ReportQueue<Item> queue = new ReportQueue<>(signals::incrementAndGet);
		queue.offer(new Item(1));
		List<Item> drained = new ArrayList<>();
		assertThat(queue.drainTo(untilFarAway(), (item) -> {
			drained.add(item);
			if (item.value < 100) {
				queue.offer(new Item(item.value + 1)); // what Kafka's network thread does while the Poller drains
			}
		})).isTrue();
		assertThat(drained).hasSize(100);
		assertThat(signals).as("only the first report signalled").hasValue(1);
		assertThat(queue.signalOutstanding()).isFalse();
	}

	@Test
	@Timeout(5)
	void deadlineStoppedDrainDispatchesOneReturnsFalseAndSuppressesSignals() {
		AtomicInteger signals = new AtomicInteger();
		ReportQueue<Item> queue = new ReportQueue<>(signals::incrementAndGet);
		queue.offer(new Item(1));
		queue.offer(new Item(2));
		queue.offer(new Item(3));
		List<Item> drained = new ArrayList<>();
		// A slice already over still dispatches one report (progress), then stops.
		assertThat(queue.drainTo(alreadyOver(), drained::add)).isFalse();
		assertThat(values(drained)).containsExactly(1);
		assertThat(queue.size()).isEqualTo(2);
		// The caller promised to drain again, so offers meanwhile need no signal.
		queue.offer(new Item(4));
		assertThat(signals).hasValue(1);
		assertThat(queue.drainTo(untilFarAway(), drained::add)).isTrue();
		assertThat(values(drained)).containsExactly(1, 2, 3, 4);
		assertThat(queue.size()).isZero();
		queue.offer(new Item(5));
		assertThat(signals).hasValue(2);
	}

	@Test
	@Timeout(5)
	void sizeCountsReportsOfferedAndReportsTakenButNotYetDispatched() {
		ReportQueue<Item> queue = new ReportQueue<>(() -> {
		});
		for (int i = 1; i <= 5; i++) {
			queue.offer(new Item(i));
		}
		assertThat(queue.size()).isEqualTo(5);
		List<Item> drained = new ArrayList<>();
		assertThat(queue.drainTo(alreadyOver(), drained::add)).isFalse(); // took all five, dispatched one
		assertThat(queue.size()).isEqualTo(4);
		queue.offer(new Item(6));
		queue.offer(new Item(7));
		assertThat(queue.size()).isEqualTo(6);
		assertThat(queue.drainTo(alreadyOver(), drained::add)).isFalse();
		assertThat(queue.size()).isEqualTo(5);
		assertThat(queue.drainTo(untilFarAway(), drained::add)).isTrue();
		assertThat(queue.size()).isZero();
		assertThat(values(drained)).containsExactly(1, 2, 3, 4, 5, 6, 7);
	}

	@Test
	@Timeout(5)
	void drainOfEmptyQueueReturnsTrueAndDispatchesNothing() {
		ReportQueue<Item> queue = new ReportQueue<>(() -> {
		});
		AtomicInteger dispatched = new AtomicInteger();
		assertThat(queue.drainTo(alreadyOver(), (report) -> dispatched.incrementAndGet())).isTrue();
		assertThat(dispatched).hasValue(0);
		assertThat(queue.size()).isZero();
	}

	@Test
	@Timeout(5)
	void dispatcherThatThrowsConsumesTheReportAndKeepsTheDutyToDrain() {
		AtomicInteger signals = new AtomicInteger();
		ReportQueue<Item> queue = new ReportQueue<>(signals::incrementAndGet);
		queue.offer(new Item(1));
		queue.offer(new Item(2));
		assertThatIllegalStateException().isThrownBy(() -> queue.drainTo(untilFarAway(), (report) -> {
			throw new IllegalStateException("boom");
		}));
		// Counted out even though it threw: size() must not drift.
		assertThat(queue.size()).isEqualTo(1);
		// The failed drain still owns the duty to drain (the Poller retries it): offers need no signal.
		queue.offer(new Item(3));
		assertThat(signals).hasValue(1);
		assertThat(queue.signalOutstanding()).isTrue();
		List<Item> drained = new ArrayList<>();
		assertThat(queue.drainTo(untilFarAway(), drained::add)).isTrue();
		assertThat(values(drained)).containsExactly(2, 3);
		assertThat(queue.size()).isZero();
	}

	@Test
	@Timeout(5)
	void flushesInBatchesAndAtTheEndWithTheCountDispatched() {
		ReportQueue<Item> queue = new ReportQueue<>(() -> {
		});
		for (int i = 0; i < 150; i++) {
			queue.offer(new Item(i));
		}
		List<Integer> flushes = new ArrayList<>();
		assertThat(queue.drain(untilFarAway(), new ReportQueue.Dispatcher<Item>() {
			@Override
			public long dispatch(Item report, long startNanos) {
				return System.nanoTime();
			}

			@Override
			public void flush(int dispatched) {
				flushes.add(dispatched);
			}
		})).isTrue();
		// Batches of at most FLUSH_EVERY (fewer when dispatching took 100 µs), covering every report once.
		assertThat(flushes).allSatisfy((batch) -> assertThat(batch).isBetween(1, ReportQueue.FLUSH_EVERY));
		assertThat(flushes.stream().mapToInt(Integer::intValue).sum()).isEqualTo(150);
	}

	/**
	 * Producers offer concurrently; a drainer waits on a semaphore released by the wake-up and, after a
	 * deadline-stopped drain, drains again without waiting. A lost wake-up leaves the drainer waiting with
	 * reports queued, which fails the test (it does not just hang).
	 */
	@RepeatedTest(40)
	@Timeout(20)
	void concurrentOffersWithSemaphoreWakeupAreDrainedExactlyOnce(RepetitionInfo repetition) throws Exception {
		Semaphore wakeups = new Semaphore(0);
		AtomicInteger signals = new AtomicInteger();
		ReportQueue<Item> queue = new ReportQueue<>(() -> {
			signals.incrementAndGet();
			wakeups.release();
		});
		// Alternate between budgets that stop after every report and ones that rarely stop.
		long budgetNanos = (repetition.getCurrentRepetition() % 2 == 0) ? 0 : TimeUnit.MICROSECONDS.toNanos(200);
		runConcurrently(queue, signals, budgetNanos, () -> wakeups.tryAcquire(2, TimeUnit.SECONDS));
	}

	/** The same with the real thing: a {@link WakeupPipe} watched by a {@link Selector}. */
	@RepeatedTest(20)
	@Timeout(20)
	void concurrentOffersWithWakeupPipeAreDrainedExactlyOnce(RepetitionInfo repetition) throws Exception {
		WakeupPipe pipe = WakeupPipe.open();
		AtomicInteger signals = new AtomicInteger();
		ReportQueue<Item> queue = new ReportQueue<>(() -> {
			signals.incrementAndGet();
			pipe.signal();
		});
		long budgetNanos = (repetition.getCurrentRepetition() % 2 == 0) ? 0 : TimeUnit.MICROSECONDS.toNanos(200);
		try (Selector selector = Selector.open()) {
			pipe.source().register(selector, SelectionKey.OP_READ);
			runConcurrently(queue, signals, budgetNanos, () -> {
				boolean signalled = selector.select(2000) > 0;
				selector.selectedKeys().clear();
				pipe.clear();
				return signalled;
			});
		}
		finally {
			pipe.close();
		}
	}

	/**
	 * One report at a time, each waited for before the next (a synchronous send's shape): the queue goes empty
	 * → non-empty on every report, so the offer's read of the flag races the drain's settle every time. A
	 * lost wake-up leaves the offering thread waiting with its report queued and fails the test.
	 */
	@Test
	@Timeout(120)
	void roundTripsOneReportAtATimeLoseNoWakeUp() throws Exception {
		WakeupPipe pipe = WakeupPipe.open();
		ReportQueue<Item> queue = new ReportQueue<>(pipe);
		AtomicInteger dispatched = new AtomicInteger();
		AtomicBoolean stop = new AtomicBoolean();
		Thread drainer = new Thread(() -> {
			try (Selector selector = Selector.open()) {
				pipe.source().register(selector, SelectionKey.OP_READ);
				while (!stop.get()) {
					selector.select(100);
					selector.selectedKeys().clear();
					pipe.clear();
					queue.drainTo(untilFarAway(), (Item report) -> dispatched.incrementAndGet());
				}
			}
			catch (IOException ex) {
				throw new java.io.UncheckedIOException(ex);
			}
		}, "test-round-trip-drainer");
		drainer.start();
		// Bounded by time as well as count: on a busy machine one wake-up may cost milliseconds.
		long budgetEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
		int roundTrips = 0;
		try {
			for (int i = 1; i <= 300_000 && System.nanoTime() - budgetEnd < 0; i++) {
				queue.offer(new Item(i));
				long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
				while (dispatched.get() < i) {
					if (System.nanoTime() - deadline > 0) {
						throw new AssertionError("report " + i + " was never drained: a lost wake-up");
					}
					Thread.onSpinWait();
				}
				roundTrips = i;
			}
		}
		finally {
			stop.set(true);
			drainer.join();
			pipe.close();
		}
		// Enough races to mean something, and far more than the 300 the drainer's 100 ms select would allow in
		// the budget if every wake-up were lost.
		assertThat(roundTrips).as("round trips within the time budget").isGreaterThanOrEqualTo(10_000);
	}

	private void runConcurrently(ReportQueue<Item> queue, AtomicInteger signals, long budgetNanos,
			WaitForSignal waitForSignal) throws Exception {
		AtomicIntegerArray dispatched = new AtomicIntegerArray(TOTAL);
		AtomicInteger received = new AtomicInteger();
		AtomicInteger drainCalls = new AtomicInteger();
		AtomicInteger producersDone = new AtomicInteger();
		AtomicReference<String> lostWakeup = new AtomicReference<>();
		// Per producer, the index of its last report dispatched; the drainer's alone.
		int[] lastDispatched = new int[PRODUCERS];
		Arrays.fill(lastDispatched, -1);
		AtomicReference<String> outOfOrder = new AtomicReference<>();
		CountDownLatch start = new CountDownLatch(1);
		Thread drainer = new Thread(() -> {
			try {
				while (received.get() < TOTAL) {
					if (!waitForSignal.await()) {
						// No signal for 2 s after every offer returned: a report sits unannounced.
						if (producersDone.get() == PRODUCERS && received.get() < TOTAL) {
							lostWakeup.set("no signal while " + queue.size() + " report(s) were queued and "
									+ (TOTAL - received.get()) + " not yet drained");
							return;
						}
						continue;
					}
					// Deadline-stopped drains promise another drain without a signal: keep the promise.
					boolean empty;
					do {
						drainCalls.incrementAndGet();
						DrainSlice slice = DrainSlice.untilDeadline().begin(System.nanoTime(), budgetNanos, budgetNanos);
						empty = queue.drainTo(slice, (Item report) -> {
							dispatched.incrementAndGet(report.value);
							received.incrementAndGet();
							int producer = report.value / PER_PRODUCER;
							int index = report.value % PER_PRODUCER;
							if (index <= lastDispatched[producer] && outOfOrder.get() == null) {
								outOfOrder.set("report " + index + " of producer " + producer + " after its report "
										+ lastDispatched[producer]);
							}
							lastDispatched[producer] = index;
						});
					}
					while (!empty);
				}
			}
			catch (Exception ex) {
				lostWakeup.set("drainer failed: " + ex);
			}
		}, "test-drainer");
		List<Thread> producers = new ArrayList<>();
		for (int p = 0; p < PRODUCERS; p++) {
			int base = p * PER_PRODUCER;
			Thread producer = new Thread(() -> {
				try {
					start.await();
				}
				catch (InterruptedException ex) {
					return;
				}
				for (int i = 0; i < PER_PRODUCER; i++) {
					queue.offer(new Item(base + i));
					if ((i & 127) == 0) {
						Thread.yield(); // vary the interleavings: bursts and gaps
					}
				}
				producersDone.incrementAndGet();
			}, "test-producer-" + p);
			producers.add(producer);
			producer.start();
		}
		drainer.start();
		start.countDown();
		for (Thread producer : producers) {
			producer.join();
		}
		drainer.join();
		assertThat(lostWakeup.get()).as("lost wake-up").isNull();
		assertThat(outOfOrder.get()).as("each producer's reports in the order it offered them").isNull();
		assertThat(received).hasValue(TOTAL);
		for (int i = 0; i < TOTAL; i++) {
			assertThat(dispatched.get(i)).as("times report %d was dispatched", i).isEqualTo(1);
		}
		assertThat(queue.size()).isZero();
		// Edge-triggered: a signal needs a drain in between (the first one excepted), never one per report.
		assertThat(signals.get()).isLessThanOrEqualTo(drainCalls.get() + 1);
	}

	@FunctionalInterface
	private interface WaitForSignal {

		/** Waits up to 2 s for a wake-up; {@code false} if none came. */
		boolean await() throws InterruptedException, IOException;

	}

}
