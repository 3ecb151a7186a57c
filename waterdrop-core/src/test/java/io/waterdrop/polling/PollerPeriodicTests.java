package io.waterdrop.polling;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Periodic work (statistics, token refresh) runs for idle sources when the select times out, and at least
 * every ~100 ms for every source while another one keeps the Poller busy.
 */
class PollerPeriodicTests {

	@Test
	@Timeout(20)
	void idleSourcesGetPeriodicCallsWhenTheSelectTimesOut() throws Exception {
		Poller poller = new Poller(PollerConfig.named("periodic-idle").withPollTimeout(Duration.ofMillis(30)));
		TestSource first = new TestSource("first", Duration.ofMillis(100));
		TestSource second = new TestSource("second", Duration.ofMillis(100));
		PollingSession firstSession = first.registerWith(poller);
		PollingSession secondSession = second.registerWith(poller);
		try {
			await().atMost(Duration.ofSeconds(5))
				.until(() -> first.periodicCalls.size() >= 5 && second.periodicCalls.size() >= 5);
			assertThat(poller.stats().timeoutWakeups()).isPositive();
			// Nothing was ever queued: only the registrations' first drains happened.
			assertThat(first.drains.get()).isLessThanOrEqualTo(2);
		}
		finally {
			firstSession.detach().get(10, TimeUnit.SECONDS);
			secondSession.detach().get(10, TimeUnit.SECONDS);
			assertThat(poller.awaitStopped(Duration.ofSeconds(10))).isTrue();
		}
	}

	@Test
	@Timeout(20)
	void periodicRunsAboutEvery100MillisecondsForIdleSourcesWhileAnotherFloods() throws Exception {
		// With a 5 s poll timeout the select never times out: only the busy-loop check can call periodic().
		Poller poller = new Poller(PollerConfig.named("periodic-busy").withPollTimeout(Duration.ofSeconds(5)));
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
			await().atMost(Duration.ofSeconds(5)).until(() -> poller.stats().exhaustedDrains() >= 3);
			int before = idle.periodicCalls.size();
			long windowStart = System.nanoTime();
			Thread.sleep(1000);
			List<Long> calls = new ArrayList<>();
			for (Long call : idle.periodicCalls) {
				if (call - windowStart >= 0) {
					calls.add(call);
				}
			}
			assertThat(flooding).isTrue();
			assertThat(calls.size()).as("periodic calls in 1 s of flood (%d before)", before).isGreaterThanOrEqualTo(5);
			long maxGapMillis = 0;
			for (int i = 1; i < calls.size(); i++) {
				maxGapMillis = Math.max(maxGapMillis, TimeUnit.NANOSECONDS.toMillis(calls.get(i) - calls.get(i - 1)));
			}
			// 100 ms plus the slice that was running when it fell due, plus scheduling noise.
			assertThat(maxGapMillis).as("longest gap between periodic calls").isLessThan(300);
			assertThat(flood.periodicCalls.size()).isGreaterThanOrEqualTo(5);
			assertThat(poller.stats().timeoutWakeups()).isZero();
		}
		finally {
			flooding.set(false);
			floodSession.detach().get(10, TimeUnit.SECONDS);
			idleSession.detach().get(10, TimeUnit.SECONDS);
			assertThat(poller.awaitStopped(Duration.ofSeconds(10))).isTrue();
		}
	}

}
