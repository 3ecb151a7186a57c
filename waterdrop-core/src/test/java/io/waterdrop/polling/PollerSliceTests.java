package io.waterdrop.polling;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The slice rule of a shared Poller: a slice yields to another producer that signalled, once it has run
 * {@code minTime}; never for its own producer's reports; never before {@code minTime}. Everything asserted
 * is counted on the Poller thread (inside reports and drains), read after the sources are detached.
 */
class PollerSliceTests {

	private static final Duration LONG = Duration.ofHours(1);

	@Test
	void sliceIsOverAtMaxTimeOrWhenAnotherProducerSignalledAfterMinTime() {
		AtomicLong signals = new AtomicLong();
		DrainSlice slice = new DrainSlice(signals);
		slice.collecting();
		slice.begin(1_000, 100, 10);
		assertThat(slice.isOver(1_005)).isFalse();
		signals.incrementAndGet();
		assertThat(slice.isOver(1_009)).as("signal before minTime").isFalse();
		assertThat(slice.isOver(1_010)).isTrue();
		assertThat(slice.end()).isEqualTo(DrainSlice.End.PRODUCER_WAITING);

		slice.collecting(); // the signal counted before the round's collection is not news to its slices
		slice.begin(2_000, 100, 10);
		assertThat(slice.isOver(2_050)).isFalse();
		assertThat(slice.end()).isEqualTo(DrainSlice.End.EMPTY);
		assertThat(slice.isOver(2_100)).isTrue();
		assertThat(slice.end()).isEqualTo(DrainSlice.End.MAX_TIME);

		signals.incrementAndGet(); // after the collection, before this slice of the same round began
		slice.begin(3_000, 100, 10);
		assertThat(slice.isOver(3_009)).isFalse();
		assertThat(slice.isOver(3_010)).as("a producer outside the round signalled").isTrue();
		assertThat(slice.end()).isEqualTo(DrainSlice.End.PRODUCER_WAITING);

		DrainSlice untilDeadline = DrainSlice.untilDeadline().begin(0, 100, 0);
		assertThat(untilDeadline.isOver(99)).isFalse();
		assertThat(untilDeadline.isOver(100)).isTrue();
		assertThat(untilDeadline.begin(0, 100, 500).isOver(100)).as("minTime capped at maxTime").isTrue();
	}

	/**
	 * A quiet producer signals while a flood's slice runs: with {@code minTime} 0 the flood's slice ends right
	 * after the report during which the signal came, and the quiet producer is served next.
	 */
	@RepeatedTest(20)
	@Timeout(60)
	void floodYieldsToAQuietProducerRightAfterMinTime() throws Exception {
		Poller poller = new Poller(PollerConfig.named("slice-yield").withPollTimeout(LONG));
		TestSource flood = TestSource.of(poller, "flood", LONG, Duration.ZERO);
		TestSource quiet = TestSource.of(poller, "quiet", LONG, Duration.ZERO);
		AtomicInteger floodDispatched = new AtomicInteger();
		AtomicInteger floodSeenByQuiet = new AtomicInteger(-1);
		int signalAt = 50;
		offerFlood(flood, floodDispatched, signalAt, () -> quiet.offer(() -> floodSeenByQuiet.set(floodDispatched.get())));
		PollingSession quietSession = quiet.registerWith(poller);
		PollingSession floodSession = flood.registerWith(poller);
		detachAll(poller, floodSession, quietSession);

		assertThat(floodSeenByQuiet).as("flood reports dispatched before the quiet one").hasValue(signalAt);
		assertThat(floodDispatched).hasValue(200);
		assertThat(poller.stats().yieldedDrains()).isEqualTo(1);
	}

	/**
	 * A signal that comes after the Poller collected the round's producers but before a slice of that round
	 * began is news to that slice too: here the quiet producer signals during the slice served just before
	 * the flood's, and the flood yields after one report instead of running its whole burst (max-time is an
	 * hour). The flood's report 50 makes {@code trigger} ready; the next round serves trigger, whose report
	 * makes quiet signal after trigger's own last look at the signals (its minTime is an hour), then the flood.
	 */
	@RepeatedTest(20)
	@Timeout(60)
	void signalBetweenTheRoundsCollectionAndASliceStillEndsThatSlice() throws Exception {
		Poller poller = new Poller(PollerConfig.named("slice-round").withPollTimeout(LONG));
		TestSource flood = TestSource.of(poller, "flood", LONG, Duration.ZERO);
		TestSource trigger = TestSource.of(poller, "trigger", LONG, LONG); // its own slice is never cut
		TestSource quiet = TestSource.of(poller, "quiet", LONG, Duration.ZERO);
		AtomicInteger floodDispatched = new AtomicInteger();
		AtomicInteger floodSeenByQuiet = new AtomicInteger(-1);
		int triggerAt = 50;
		offerFlood(flood, floodDispatched, triggerAt,
				() -> trigger.offer(() -> quiet.offer(() -> floodSeenByQuiet.set(floodDispatched.get()))));
		PollingSession quietSession = quiet.registerWith(poller);
		PollingSession triggerSession = trigger.registerWith(poller);
		while (quiet.drains.get() == 0 || trigger.drains.get() == 0) {
			Thread.onSpinWait(); // registering serves once; only the flood is to be ready when it registers
		}
		PollingSession floodSession = flood.registerWith(poller);
		detachAll(poller, floodSession, triggerSession, quietSession);

		assertThat(floodSeenByQuiet).as("flood reports dispatched before the quiet one").hasValue(triggerAt + 1);
		assertThat(floodDispatched).hasValue(200);
		assertThat(poller.stats().yieldedDrains()).isEqualTo(2);
	}

	/** Before {@code minTime} the flood keeps its slice: here the whole burst, as minTime is an hour. */
	@RepeatedTest(5)
	@Timeout(60)
	void sliceShorterThanMinTimeIsNeverCut() throws Exception {
		Poller poller = new Poller(PollerConfig.named("slice-min").withPollTimeout(LONG));
		TestSource flood = TestSource.of(poller, "flood", LONG, LONG);
		TestSource quiet = TestSource.of(poller, "quiet", LONG, LONG);
		AtomicInteger floodDispatched = new AtomicInteger();
		AtomicInteger floodSeenByQuiet = new AtomicInteger(-1);
		offerFlood(flood, floodDispatched, 50, () -> quiet.offer(() -> floodSeenByQuiet.set(floodDispatched.get())));
		PollingSession quietSession = quiet.registerWith(poller);
		PollingSession floodSession = flood.registerWith(poller);
		detachAll(poller, floodSession, quietSession);

		assertThat(floodSeenByQuiet).hasValue(200);
		assertThat(poller.stats().yieldedDrains()).isZero();
	}

	/** Reports a producer queues while its own slice runs do not signal, so they never cut that slice. */
	@RepeatedTest(5)
	@Timeout(60)
	void producerIsNotCutForItsOwnReports() throws Exception {
		Poller poller = new Poller(PollerConfig.named("slice-own").withPollTimeout(LONG));
		TestSource flood = TestSource.of(poller, "flood", LONG, Duration.ZERO);
		AtomicInteger dispatched = new AtomicInteger();
		List<Integer> drainsAtEachReport = new CopyOnWriteArrayList<>();
		flood.offer(new Runnable() {
			@Override
			public void run() {
				drainsAtEachReport.add(flood.drains.get());
				if (dispatched.incrementAndGet() < 500) {
					flood.offer(this); // queued by its own dispatch, as Kafka's thread does while the Poller drains
				}
			}
		});
		PollingSession session = flood.registerWith(poller);
		detachAll(poller, session);

		assertThat(dispatched).hasValue(500);
		assertThat(drainsAtEachReport).as("all 500 reports in one slice").containsOnly(drainsAtEachReport.get(0));
		assertThat(poller.stats().yieldedDrains()).isZero();
	}

	/**
	 * Two floods: neither signals while the other drains (both carried over with their duty to drain), so
	 * neither is cut early; they alternate in max-time slices.
	 */
	@RepeatedTest(5)
	@Timeout(60)
	void twoFloodsAreNotCutForEachOther() throws Exception {
		Poller poller = new Poller(PollerConfig.named("slice-floods").withPollTimeout(LONG));
		TestSource first = TestSource.of(poller, "first", Duration.ofMillis(2), Duration.ZERO);
		TestSource second = TestSource.of(poller, "second", Duration.ofMillis(2), Duration.ZERO);
		List<String> order = new CopyOnWriteArrayList<>();
		for (int i = 0; i < 2_000; i++) {
			first.offer(() -> spinAndLog(order, "first"));
			second.offer(() -> spinAndLog(order, "second"));
		}
		PollingSession firstSession = first.registerWith(poller);
		PollingSession secondSession = second.registerWith(poller);
		detachAll(poller, firstSession, secondSession);

		assertThat(order).hasSize(4_000);
		assertThat(poller.stats().yieldedDrains()).isZero();
		assertThat(poller.stats().exhaustedDrains()).isPositive();
	}

	private static void spinAndLog(List<String> order, String source) {
		TestSource.spin(TimeUnit.MICROSECONDS.toNanos(20));
		order.add(source);
	}

	/** Queues 200 reports that count themselves in {@code dispatched}; report {@code at} also runs {@code then}. */
	private static void offerFlood(TestSource flood, AtomicInteger dispatched, int at, Runnable then) {
		for (int i = 1; i <= 200; i++) {
			int index = i;
			flood.offer(() -> {
				dispatched.incrementAndGet();
				if (index == at) {
					then.run();
				}
			});
		}
	}

	/**
	 * Producers that signal while another's slice runs are served in the order they signalled: the first to
	 * signal waits for no one who signalled after it.
	 */
	@RepeatedTest(5)
	@Timeout(60)
	void producersThatSignalTogetherAreServedInTheOrderTheySignalled() throws Exception {
		Poller poller = new Poller(PollerConfig.named("slice-order").withPollTimeout(LONG));
		TestSource busy = TestSource.of(poller, "busy", LONG, LONG);
		List<TestSource> waiting = List.of(TestSource.of(poller, "a", LONG, LONG),
				TestSource.of(poller, "b", LONG, LONG), TestSource.of(poller, "c", LONG, LONG));
		List<PollingSession> sessions = new CopyOnWriteArrayList<>();
		sessions.add(busy.registerWith(poller));
		for (TestSource source : waiting) {
			sessions.add(source.registerWith(poller));
		}
		while (busy.drains.get() == 0 || waiting.stream().anyMatch((source) -> source.drains.get() == 0)) {
			Thread.onSpinWait(); // registering serves each once; none is to be ready when the busy one blocks
		}
		CountDownLatch blocking = new CountDownLatch(1);
		CountDownLatch release = new CountDownLatch(1);
		List<String> served = new CopyOnWriteArrayList<>();
		busy.offer(() -> {
			blocking.countDown();
			PollerLifecycleTests.awaitQuietly(release);
		});
		assertThat(blocking.await(30, TimeUnit.SECONDS)).isTrue();
		for (TestSource source : waiting) {
			source.offer(() -> served.add(source.id()));
		}
		release.countDown();
		detachAll(poller, sessions.toArray(PollingSession[]::new));

		assertThat(served).containsExactly("a", "b", "c");
	}

	private static void detachAll(Poller poller, PollingSession... sessions) throws Exception {
		for (PollingSession session : sessions) {
			session.detach().get(30, TimeUnit.SECONDS);
		}
		assertThat(poller.awaitStopped(Duration.ofSeconds(30))).isTrue();
	}

}
