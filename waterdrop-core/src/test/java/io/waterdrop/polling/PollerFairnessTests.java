package io.waterdrop.polling;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A flooding source cannot starve a quiet one: the Poller gives each ready source one {@code maxTime} slice
 * per round, so a quiet report waits about one slice, not until the flood ends (here: never).
 */
class PollerFairnessTests {

	private static final Duration MAX_TIME = Duration.ofMillis(20);

	/**
	 * One slice of the flood in progress, one more queued ahead, plus scheduling noise on a busy 2-core box;
	 * starvation would be unbounded (the flood never ends).
	 */
	private static final Duration LATENCY_BOUND = MAX_TIME.multipliedBy(3).plusMillis(250);

	@Test
	@Timeout(30)
	void quietSourceIsServedWithinAboutOneSliceOfAFlood() throws Exception {
		Poller poller = new Poller(PollerConfig.named("fairness"));
		TestSource flood = new TestSource("flood", MAX_TIME);
		TestSource quiet = new TestSource("quiet", MAX_TIME);
		AtomicBoolean flooding = new AtomicBoolean(true);
		AtomicInteger floodDispatched = new AtomicInteger();
		// Each flood report does ~50 µs of work and queues the next: the flood's queue is never empty.
		Runnable floodReport = new Runnable() {
			@Override
			public void run() {
				TestSource.spin(TimeUnit.MICROSECONDS.toNanos(50));
				floodDispatched.incrementAndGet();
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
			// The flood is running when its slices start getting cut by the deadline.
			await().atMost(Duration.ofSeconds(5)).until(() -> poller.stats().exhaustedDrains() >= 3);
			List<Long> latencies = new ArrayList<>();
			List<Integer> slicesWaitedPerSample = new ArrayList<>();
			for (int sample = 0; sample < 8; sample++) {
				CompletableFuture<Long> served = new CompletableFuture<>();
				AtomicInteger floodSlicesAtDispatch = new AtomicInteger();
				long offered = System.nanoTime();
				quiet.offer(() -> {
					floodSlicesAtDispatch.set(flood.drains.get());
					served.complete(System.nanoTime());
				});
				// Read once the signal is written: slices started from here on are the ones the report waited for.
				int floodSlicesAfterOffer = flood.drains.get();
				long latencyNanos = served.get(5, TimeUnit.SECONDS) - offered;
				latencies.add(TimeUnit.NANOSECONDS.toMillis(latencyNanos));
				// Timing-free form of the same claim: a newly ready producer goes ahead of the carried-over flood,
				// so only the slice in progress ran before the quiet report (1: it may not have counted itself yet).
				int slicesWaited = floodSlicesAtDispatch.get() - floodSlicesAfterOffer;
				slicesWaitedPerSample.add(slicesWaited);
				assertThat(slicesWaited).as("flood slices started while the quiet report waited").isLessThanOrEqualTo(1);
				assertThat(Duration.ofNanos(latencyNanos)).as("quiet report latency (all so far: %s ms)", latencies)
					.isLessThan(LATENCY_BOUND);
				Thread.sleep(7); // sample different points of a slice
			}
			// An offer almost always lands inside a 20 ms flood slice; the quiet report is then served right
			// after it, before the flood's next slice (a carried-over producer would otherwise go first).
			assertThat(slicesWaitedPerSample.stream().filter((waited) -> waited == 0).count())
				.as("samples served before the flood's next slice: %s", slicesWaitedPerSample)
				.isGreaterThanOrEqualTo(6);
			assertThat(flooding).isTrue();
			assertThat(poller.stats().exhaustedDrains()).isPositive();
			assertThat(floodDispatched.get()).isGreaterThan(100);
		}
		finally {
			flooding.set(false);
			floodSession.detach().get(10, TimeUnit.SECONDS);
			quietSession.detach().get(10, TimeUnit.SECONDS);
			assertThat(poller.awaitStopped(Duration.ofSeconds(10))).isTrue();
		}
	}

	@Test
	@Timeout(30)
	void twoFloodsShareThePollerInAlternatingSlices() throws Exception {
		Poller poller = new Poller(PollerConfig.named("fair-share"));
		AtomicBoolean flooding = new AtomicBoolean(true);
		TestSource first = new TestSource("first", MAX_TIME);
		TestSource second = new TestSource("second", MAX_TIME);
		AtomicInteger firstDispatched = new AtomicInteger();
		AtomicInteger secondDispatched = new AtomicInteger();
		Runnable firstReport = selfRenewing(first, flooding, firstDispatched);
		Runnable secondReport = selfRenewing(second, flooding, secondDispatched);
		PollingSession firstSession = first.registerWith(poller);
		PollingSession secondSession = second.registerWith(poller);
		try {
			first.offer(firstReport);
			second.offer(secondReport);
			await().atMost(Duration.ofSeconds(10)).until(() -> first.drains.get() >= 20 && second.drains.get() >= 20);
			// Round robin: at any instant the slice counts of two always-ready sources differ by at most one.
			// Reading first's count before and after second's bounds second's count without a race:
			// second >= first(before) - 1 and second <= first(after) + 1.
			int firstBefore = first.drains.get();
			int secondCount = second.drains.get();
			int firstAfter = first.drains.get();
			assertThat(secondCount).as("slices: first %d..%d, second %d", firstBefore, firstAfter, secondCount)
				.isBetween(firstBefore - 1, firstAfter + 1);
		}
		finally {
			flooding.set(false);
			firstSession.detach().get(10, TimeUnit.SECONDS);
			secondSession.detach().get(10, TimeUnit.SECONDS);
			assertThat(poller.awaitStopped(Duration.ofSeconds(10))).isTrue();
		}
	}

	private static Runnable selfRenewing(TestSource source, AtomicBoolean flooding, AtomicInteger dispatched) {
		return new Runnable() {
			@Override
			public void run() {
				TestSource.spin(TimeUnit.MICROSECONDS.toNanos(50));
				dispatched.incrementAndGet();
				if (flooding.get()) {
					source.offer(this);
				}
			}
		};
	}

}
