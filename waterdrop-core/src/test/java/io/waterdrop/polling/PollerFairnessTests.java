package io.waterdrop.polling;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A flooding source cannot starve a quiet one: the Poller gives each ready source one {@code maxTime} slice
 * per round, and a source that signals goes ahead of those carried over, so a quiet report waits for the
 * slice in progress only, not until the flood ends (here: never).
 * <p>
 * Everything asserted here is counted on the Poller thread, in the order it served the sources: slice
 * counts or latencies sampled from the test thread race the Poller and fail on a busy machine.
 */
class PollerFairnessTests {

	private static final Duration MAX_TIME = Duration.ofMillis(20);

	/** Only a deadlock or starvation guard: nothing here is expected to take more than a few slices. */
	private static final long GUARD_SECONDS = 30;

	@Test
	@Timeout(120)
	void quietSourceIsServedBeforeTheFloodsNextSlice() throws Exception {
		Poller poller = new Poller(PollerConfig.named("fairness"));
		AtomicBoolean flooding = new AtomicBoolean(true);
		AtomicReference<Sample> current = new AtomicReference<>();
		// The quiet source's wake-up marks its sample once the signal byte is in the pipe.
		TestSource[] quietSource = new TestSource[1];
		TestSource quiet = new TestSource("quiet", MAX_TIME, () -> {
			quietSource[0].pipe.signal();
			Sample sample = current.get();
			if (sample != null) {
				sample.signalled = true;
			}
		});
		quietSource[0] = quiet;
		// Offers to run on the Poller thread, inside a flood slice (see the second half of the test).
		AtomicReference<Runnable> offerDuringFloodSlice = new AtomicReference<>();
		TestSource flood = new TestSource("flood", MAX_TIME) {
			@Override
			public boolean drain(DrainSlice slice) {
				// On the Poller thread: a flood slice starting while a signalled quiet report waits.
				Sample sample = current.get();
				if (sample != null && sample.signalled && !sample.served) {
					sample.floodSlicesWaited++;
				}
				return super.drain(slice);
			}
		};
		// Each flood report does ~50 µs of work and queues the next: the flood's queue is never empty.
		Runnable floodReport = new Runnable() {
			@Override
			public void run() {
				TestSource.spin(TimeUnit.MICROSECONDS.toNanos(50));
				Runnable offer = offerDuringFloodSlice.getAndSet(null);
				if (offer != null) {
					offer.run();
				}
				if (flooding.get()) {
					flood.offer(this);
				}
			}
		};
		PollingSession floodSession = flood.registerWith(poller);
		PollingSession quietSession = quiet.registerWith(poller);
		try {
			for (int i = 0; i < 4; i++) {
				flood.offer(floodReport);
			}
			// The flood is running when its slices start getting cut by maxTime.
			await().atMost(Duration.ofSeconds(30)).until(() -> poller.stats().exhaustedDrains() >= 3);

			// Offered from another thread, at any point of a flood slice or between two: the slice in progress
			// (or the one that started just before the signal landed) is the only one the quiet report waits for.
			List<Integer> fromTestThread = new ArrayList<>();
			for (int i = 0; i < 8; i++) {
				Sample sample = new Sample();
				current.set(sample);
				quiet.offer(sample::serve);
				fromTestThread.add(sample.served().get(GUARD_SECONDS, TimeUnit.SECONDS));
				Thread.sleep(7); // sample different points of a slice
			}
			assertThat(fromTestThread).as("flood slices started after the quiet signal, before its dispatch")
				.allSatisfy((waited) -> assertThat(waited).isLessThanOrEqualTo(1));

			// Offered inside a flood slice, so the signal surely lands while that slice runs: a newly ready
			// source goes ahead of the carried-over flood, so not one more flood slice runs before it.
			List<Integer> fromFloodSlice = new ArrayList<>();
			for (int i = 0; i < 8; i++) {
				Sample sample = new Sample();
				offerDuringFloodSlice.set(() -> {
					current.set(sample);
					quiet.offer(sample::serve);
				});
				fromFloodSlice.add(sample.served().get(GUARD_SECONDS, TimeUnit.SECONDS));
			}
			assertThat(fromFloodSlice).as("flood slices started after a quiet signal sent during a flood slice")
				.containsOnly(0);

			assertThat(quiet.drains.get()).isGreaterThanOrEqualTo(16);
		}
		finally {
			flooding.set(false);
			floodSession.detach().get(30, TimeUnit.SECONDS);
			quietSession.detach().get(30, TimeUnit.SECONDS);
			assertThat(poller.awaitStopped(Duration.ofSeconds(30))).isTrue();
		}
	}

	@Test
	@Timeout(120)
	void twoFloodsShareThePollerInAlternatingSlices() throws Exception {
		Poller poller = new Poller(PollerConfig.named("fair-share"));
		AtomicBoolean flooding = new AtomicBoolean(true);
		// Appended on the Poller thread as each slice ends: the order the Poller served the sources in.
		Queue<String> slices = new ConcurrentLinkedQueue<>();
		TestSource first = loggingSlices("first", slices);
		TestSource second = loggingSlices("second", slices);
		PollingSession firstSession = first.registerWith(poller);
		PollingSession secondSession = second.registerWith(poller);
		List<String> log;
		try {
			first.offer(selfRenewing(first, flooding));
			second.offer(selfRenewing(second, flooding));
			await().atMost(Duration.ofSeconds(60)).until(() -> first.drains.get() >= 20 && second.drains.get() >= 20);
			// Only ever appended by one thread: a copy is a prefix of the Poller's order.
			log = List.copyOf(slices);
		}
		finally {
			flooding.set(false);
			firstSession.detach().get(30, TimeUnit.SECONDS);
			secondSession.detach().get(30, TimeUnit.SECONDS);
			assertThat(poller.awaitStopped(Duration.ofSeconds(30))).isTrue();
		}
		// Once both have had a slice cut by maxTime, both are always ready: round robin serves them in turn.
		int bothFlooding = Math.max(log.indexOf("first:MAX_TIME"), log.indexOf("second:MAX_TIME"));
		assertThat(bothFlooding).as("slices: %s", log).isNotNegative();
		List<String> alternating = log.subList(bothFlooding, log.size());
		assertThat(alternating).as("slices from both flooding on: %s", log).hasSizeGreaterThan(10);
		for (int i = 1; i < alternating.size(); i++) {
			assertThat(source(alternating.get(i))).as("slice %d after both flooded, in %s", i, alternating)
				.isNotEqualTo(source(alternating.get(i - 1)));
			assertThat(alternating.get(i)).as("slice %d after both flooded, in %s", i, alternating)
				.endsWith(":MAX_TIME");
		}
	}

	/**
	 * A cancelled selection key, and the pipe's file descriptor with it, is let go by the selector's next
	 * select only: a Poller kept busy by a flood must still select after a producer leaves, or each producer
	 * that comes and goes leaks a descriptor until the flood ends.
	 */
	@Test
	@Timeout(120)
	void aSourceDetachedWhileAnotherFloodsLetsGoOfItsPipeAtOnce() throws Exception {
		Poller poller = new Poller(PollerConfig.named("detach-under-flood"));
		AtomicBoolean flooding = new AtomicBoolean(true);
		// Pipes as producers have them: they announce their signals to the Poller instead of writing them.
		TestSource flood = TestSource.of(poller, "flood", MAX_TIME, MAX_TIME);
		TestSource quiet = TestSource.of(poller, "quiet", MAX_TIME, MAX_TIME);
		PollingSession floodSession = flood.registerWith(poller);
		try {
			flood.offer(selfRenewing(flood, flooding));
			await().atMost(Duration.ofSeconds(60)).until(() -> flood.drains.get() >= 3);
			PollingSession quietSession = quiet.registerWith(poller);
			CompletableFuture<Void> served = new CompletableFuture<>();
			quiet.offer(() -> served.complete(null));
			served.get(30, TimeUnit.SECONDS);
			quietSession.detach().get(30, TimeUnit.SECONDS);

			await().atMost(Duration.ofSeconds(30)).until(() -> !quiet.pipe.source().isRegistered());
			assertThat(quiet.pipe.source().isOpen()).isFalse();
		}
		finally {
			flooding.set(false);
			floodSession.detach().get(30, TimeUnit.SECONDS);
			assertThat(poller.awaitStopped(Duration.ofSeconds(30))).isTrue();
		}
	}

	/** A source that logs, on the Poller thread, how each of its slices ended: {@code id:EMPTY} or {@code id:MAX_TIME}. */
	private static TestSource loggingSlices(String id, Queue<String> log) {
		return new TestSource(id, MAX_TIME) {
			@Override
			public boolean drain(DrainSlice slice) {
				boolean empty = super.drain(slice);
				log.add(id + ":" + (empty ? DrainSlice.End.EMPTY : slice.end()));
				return empty;
			}
		};
	}

	private static String source(String slice) {
		return slice.substring(0, slice.indexOf(':'));
	}

	private static Runnable selfRenewing(TestSource source, AtomicBoolean flooding) {
		return new Runnable() {
			@Override
			public void run() {
				TestSource.spin(TimeUnit.MICROSECONDS.toNanos(50));
				if (flooding.get()) {
					source.offer(this);
				}
			}
		};
	}

	/**
	 * One quiet report: flood slices that started after its signal was written are counted on the Poller
	 * thread, and read there when the report is dispatched.
	 */
	private static final class Sample {

		/** Set by the offering thread once the signal byte is in the pipe. */
		volatile boolean signalled;

		/** Poller thread only (read by it, then published through {@link #served}). */
		volatile boolean served;

		/** Poller thread only. */
		volatile int floodSlicesWaited;

		private final CompletableFuture<Integer> dispatched = new CompletableFuture<>();

		/** The quiet report itself: runs on the Poller thread. */
		void serve() {
			this.served = true;
			this.dispatched.complete(this.floodSlicesWaited);
		}

		CompletableFuture<Integer> served() {
			return this.dispatched;
		}

	}

}
