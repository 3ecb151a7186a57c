package io.waterdrop.polling;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Periodic work (statistics, token refresh) runs for idle sources when the select times out, and every
 * ~100 ms (never more often) for every source while another one keeps the Poller busy. How late a call comes
 * on a busy machine is not asserted: that is scheduling, not the Poller.
 */
class PollerPeriodicTests {

	@Test
	@Timeout(120)
	void idleSourcesGetPeriodicCallsWhenTheSelectTimesOut() throws Exception {
		Poller poller = new Poller(PollerConfig.named("periodic-idle").withPollTimeout(Duration.ofMillis(30)));
		TestSource first = new TestSource("first", Duration.ofMillis(100));
		TestSource second = new TestSource("second", Duration.ofMillis(100));
		PollingSession firstSession = first.registerWith(poller);
		PollingSession secondSession = second.registerWith(poller);
		try {
			await().atMost(Duration.ofSeconds(30))
				.until(() -> first.periodicCalls.size() >= 5 && second.periodicCalls.size() >= 5);
			assertThat(poller.stats().timeoutWakeups()).isPositive();
			// Nothing was ever queued: only the registrations' first drains happened.
			assertThat(first.drains.get()).isLessThanOrEqualTo(2);
		}
		finally {
			firstSession.detach().get(30, TimeUnit.SECONDS);
			secondSession.detach().get(30, TimeUnit.SECONDS);
			assertThat(poller.awaitStopped(Duration.ofSeconds(30))).isTrue();
		}
	}

	@Test
	@Timeout(120)
	void periodicRunsAboutEvery100MillisecondsForIdleSourcesWhileAnotherFloods() throws Exception {
		// With a 1 h poll timeout the select never times out: only the busy-loop check can call periodic().
		Poller poller = new Poller(PollerConfig.named("periodic-busy").withPollTimeout(Duration.ofHours(1)));
		TestSource flood = new TestSource("flood", Duration.ofMillis(20));
		TestSource idle = new TestSource("idle", Duration.ofMillis(20));
		AtomicBoolean flooding = new AtomicBoolean(true);
		Runnable floodReport = new Runnable() {
			@Override
			public void run() {
				TestSource.spin(TimeUnit.MICROSECONDS.toNanos(50));
				if (flooding.get()) {
					flood.offer(this);
				}
			}
		};
		PollingSession floodSession = flood.registerWith(poller);
		PollingSession idleSession = idle.registerWith(poller);
		try {
			flood.offer(floodReport);
			await().atMost(Duration.ofSeconds(30)).until(() -> poller.stats().exhaustedDrains() >= 3);
			int idleBefore = idle.periodicCalls.size();
			int floodBefore = flood.periodicCalls.size();
			// The idle source keeps getting periodic calls while the flood never lets the selector wait.
			await().atMost(Duration.ofSeconds(30))
				.until(() -> idle.periodicCalls.size() >= idleBefore + 5 && flood.periodicCalls.size() >= floodBefore + 5);
			assertThat(poller.stats().timeoutWakeups()).as("select timeouts with a 1 h poll timeout").isZero();
			// The busy-loop check runs them at most every 100 ms (its time stamps come from the Poller thread).
			List<Long> calls = new ArrayList<>(idle.periodicCalls);
			for (int i = 1; i < calls.size(); i++) {
				assertThat(calls.get(i) - calls.get(i - 1)).as("nanoseconds between periodic calls %d and %d", i - 1, i)
					.isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(100));
			}
		}
		finally {
			flooding.set(false);
			floodSession.detach().get(30, TimeUnit.SECONDS);
			idleSession.detach().get(30, TimeUnit.SECONDS);
			assertThat(poller.awaitStopped(Duration.ofSeconds(30))).isTrue();
		}
	}

	/**
	 * Several floods each use their whole max-time (100 ms) per slice: periodic work still runs between two
	 * slices, not once per round of all of them. Asserted on the Poller thread's own order of drains and
	 * periodic calls, which does not depend on how fast the machine is (every slice lasts its max-time).
	 */
	@Test
	@Timeout(120)
	void periodicRunsBetweenSlicesWhenSeveralFloodsEachTakeTheirMaxTime() throws Exception {
		Poller poller = new Poller(PollerConfig.named("periodic-floods").withPollTimeout(Duration.ofHours(1)));
		List<String> log = new CopyOnWriteArrayList<>();
		AtomicBoolean flooding = new AtomicBoolean(true);
		List<TestSource> floods = new ArrayList<>();
		List<PollingSession> sessions = new ArrayList<>();
		for (String id : List.of("flood-a", "flood-b", "flood-c")) {
			floods.add(new TestSource(id, Duration.ofMillis(100)) {
				@Override
				public boolean drain(DrainSlice slice) {
					boolean empty = super.drain(slice);
					if (!empty) { // a slice that ran its max-time (a registration's first drain may find nothing)
						log.add("drain " + id());
					}
					return empty;
				}
			});
		}
		TestSource idle = new TestSource("idle", Duration.ofMillis(100)) {
			@Override
			public void periodic(long nowNanos) {
				log.add("periodic");
			}
		};
		sessions.add(idle.registerWith(poller));
		try {
			for (TestSource flood : floods) {
				sessions.add(flood.registerWith(poller));
				flood.offer(new Runnable() {
					@Override
					public void run() {
						TestSource.spin(TimeUnit.MICROSECONDS.toNanos(50));
						if (flooding.get()) {
							flood.offer(this);
						}
					}
				});
			}
			await().atMost(Duration.ofSeconds(60)).until(() -> floodDrains(log).size() >= 10);
			List<String> snapshot = List.copyOf(log);
			List<Integer> drains = floodDrains(snapshot);

			// From the fourth on, every flood slice ran its whole max-time: periodic work came after each.
			for (int i = 3; i + 1 < drains.size(); i++) {
				assertThat(snapshot.subList(drains.get(i), drains.get(i + 1))).as("between slices %d and %d", i, i + 1)
					.contains("periodic");
			}
		}
		finally {
			flooding.set(false);
			for (PollingSession session : sessions) {
				session.detach().get(30, TimeUnit.SECONDS);
			}
			assertThat(poller.awaitStopped(Duration.ofSeconds(30))).isTrue();
		}
	}

	/** Periodic work that throws after a producer's slice does not lose that producer: it is served again. */
	@Test
	@Timeout(120)
	void periodicWorkThatThrowsAfterASliceLeavesThatProducerServed() throws Exception {
		Poller poller = new Poller(PollerConfig.named("periodic-throws").withPollTimeout(Duration.ofHours(1)));
		AtomicBoolean flooding = new AtomicBoolean(true);
		AtomicBoolean throwing = new AtomicBoolean(); // armed by the flood: the throw comes after a flood slice
		TestSource flood = new TestSource("flood", Duration.ofMillis(100));
		TestSource failing = new TestSource("failing", Duration.ofMillis(100)) {
			@Override
			public void periodic(long nowNanos) {
				if (throwing.getAndSet(false)) {
					throw new IllegalStateException("periodic work failed (simulated)");
				}
			}
		};
		PollingSession failingSession = failing.registerWith(poller);
		PollingSession floodSession = flood.registerWith(poller);
		try {
			AtomicBoolean armed = new AtomicBoolean();
			flood.offer(new Runnable() {
				@Override
				public void run() {
					if (armed.compareAndSet(false, true)) {
						throwing.set(true);
					}
					TestSource.spin(TimeUnit.MICROSECONDS.toNanos(50));
					if (flooding.get()) {
						flood.offer(this);
					}
				}
			});
			await().atMost(Duration.ofSeconds(60)).until(() -> armed.get() && !throwing.get());
			flooding.set(false);
			CountDownLatch served = new CountDownLatch(1);
			flood.offer(served::countDown);

			assertThat(served.await(30, TimeUnit.SECONDS)).as("the flood's later report dispatched").isTrue();
		}
		finally {
			flooding.set(false);
			floodSession.detach().get(30, TimeUnit.SECONDS);
			failingSession.detach().get(30, TimeUnit.SECONDS);
			assertThat(poller.awaitStopped(Duration.ofSeconds(30))).isTrue();
		}
	}

	/** Where in {@code log} a flood's drain begins. */
	private static List<Integer> floodDrains(List<String> log) {
		List<Integer> at = new ArrayList<>();
		for (int i = 0; i < log.size(); i++) {
			if (log.get(i).startsWith("drain flood-")) {
				at.add(i);
			}
		}
		return at;
	}

}
