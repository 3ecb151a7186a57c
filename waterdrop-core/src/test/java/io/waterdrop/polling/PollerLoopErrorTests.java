package io.waterdrop.polling;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.PollerEvent;
import io.waterdrop.instrumentation.ProducerEvent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A failing drain is a loop failure: reported to every registered source, followed by a back-off that
 * doubles and resets after a clean cycle, while the other sources keep being served.
 */
class PollerLoopErrorTests {

	private static final Duration MIN = Duration.ofMillis(10);

	private static final Duration MAX = Duration.ofMillis(80);

	/** Deadlock guard for what happens soon; never a performance bound. */
	private static final Duration GUARD = Duration.ofSeconds(30);

	@Test
	@Timeout(120)
	void failingDrainBacksOffDoublingReportsToEverySourceAndResetsAfterACleanCycle() throws Exception {
		Poller poller = new Poller(PollerConfig.named("errors").withBackoff(MIN, MAX));
		TestSource healthy = new TestSource("healthy", Duration.ofMillis(100));
		TestSource broken = new TestSource("broken", Duration.ofMillis(100));
		PollingSession healthySession = healthy.registerWith(poller);
		PollingSession brokenSession = broken.registerWith(poller);
		try {
			PollerLifecycleTests.dispatchedOn(healthy);
			PollerLifecycleTests.dispatchedOn(broken);
			IllegalStateException failure = new IllegalStateException("drain failed");
			broken.failure = failure;
			broken.offer(() -> {
			});
			await().atMost(GUARD).until(() -> healthy.events(PollerEvent.LoopError.class).size() >= 6);

			// Still serving the healthy source between the failures.
			CompletableFuture<Thread> served = new CompletableFuture<>();
			healthy.offer(() -> served.complete(Thread.currentThread()));
			assertThat(served.get(GUARD.toSeconds(), TimeUnit.SECONDS).getName()).isEqualTo(poller.threadName());

			List<Duration> backoffs = healthy.events(PollerEvent.LoopError.class)
				.stream()
				.map(PollerEvent.LoopError::backoff)
				.toList();
			assertThat(backoffs).startsWith(ms(10), ms(20), ms(40), ms(80), ms(80), ms(80));
			assertThat(healthy.events(PollerEvent.LoopError.class)).allSatisfy((event) -> {
				assertThat(event.pollerName()).isEqualTo("errors");
				assertThat(event.error()).isSameAs(failure);
			});
			assertThat(broken.events(PollerEvent.LoopError.class)).isNotEmpty();
			assertThat(healthy.events(ProducerEvent.ErrorOccurred.class)).isNotEmpty().allSatisfy((event) -> {
				assertThat(event.type()).isEqualTo(ErrorType.POLLER_LOOP);
				assertThat(event.type().id()).isEqualTo("poller.polling_loop");
				assertThat(event.producerId()).isEqualTo("healthy");
				assertThat(event.error()).isSameAs(failure);
			});
			assertThat(broken.events(ProducerEvent.ErrorOccurred.class)).isNotEmpty()
				.allSatisfy((event) -> assertThat(event.producerId()).isEqualTo("broken"));

			// A clean cycle resets the back-off.
			int cleanBefore = broken.cleanDrains.get();
			broken.failure = null;
			await().atMost(GUARD).until(() -> broken.cleanDrains.get() > cleanBefore);
			int failuresSoFar = healthy.events(PollerEvent.LoopError.class).size();
			assertThat(poller.stats().loopErrors()).isEqualTo(failuresSoFar);
			assertThat(healthy.events(ProducerEvent.ErrorOccurred.class)).hasSize(failuresSoFar);
			assertThat(broken.queue.size()).isZero();
			broken.failure = failure;
			broken.offer(() -> {
			});
			await().atMost(GUARD)
				.until(() -> healthy.events(PollerEvent.LoopError.class).size() >= failuresSoFar + 2);
			List<PollerEvent.LoopError> afterReset = healthy.events(PollerEvent.LoopError.class)
				.subList(failuresSoFar, failuresSoFar + 2);
			assertThat(afterReset).map(PollerEvent.LoopError::backoff).containsExactly(ms(10), ms(20));
			broken.failure = null;
		}
		finally {
			broken.failure = null;
			brokenSession.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
			healthySession.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
			assertThat(poller.awaitStopped(GUARD)).isTrue();
		}
		assertThat(healthy.terminated).isNull();
		assertThat(broken.terminated).isNull();
	}

	@Test
	@Timeout(120)
	void pausesForTheBackoffBetweenFailures() throws Exception {
		Duration backoff = Duration.ofMillis(40);
		Poller poller = new Poller(PollerConfig.named("pauses").withBackoff(backoff, backoff));
		// When each attempt started, read on the Poller thread.
		List<Long> attempts = new CopyOnWriteArrayList<>();
		TestSource broken = new TestSource("broken", Duration.ofMillis(100)) {
			@Override
			public boolean drain(DrainSlice slice) {
				attempts.add(System.nanoTime());
				return super.drain(slice);
			}
		};
		broken.failure = new IllegalStateException("drain failed");
		PollingSession session = broken.registerWith(poller);
		try {
			await().atMost(GUARD).until(() -> attempts.size() >= 6);
			// A pause of the back-off at least between two attempts; a missing pause would retry at once.
			for (int i = 1; i < attempts.size(); i++) {
				assertThat(attempts.get(i) - attempts.get(i - 1)).as("nanoseconds between attempts %d and %d", i - 1, i)
					.isGreaterThanOrEqualTo(backoff.minusMillis(1).toNanos());
			}
		}
		finally {
			broken.failure = null;
			session.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
			assertThat(poller.awaitStopped(GUARD)).isTrue();
		}
	}

	/** A detach (a producer's close) does not wait out the back-off after a failed cycle. */
	@Test
	@Timeout(120)
	void aDetachCutsTheBackoffShort() throws Exception {
		Duration backoff = Duration.ofMinutes(10);
		Poller poller = new Poller(PollerConfig.named("cut-short").withBackoff(backoff, backoff));
		TestSource broken = new TestSource("broken", Duration.ofMillis(100));
		broken.failure = new IllegalStateException("drain failed");
		PollingSession session = broken.registerWith(poller);
		broken.offer(() -> {
		});
		await().atMost(GUARD).until(() -> !broken.events(PollerEvent.LoopError.class).isEmpty());
		broken.failure = null;

		session.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
		assertThat(poller.awaitStopped(GUARD)).isTrue();
		assertThat(broken.queue.size()).isZero();
	}

	@Test
	@Timeout(120)
	void failingPeriodicIsALoopFailureToo() throws Exception {
		Poller poller = new Poller(PollerConfig.named("periodic-errors")
			.withPollTimeout(Duration.ofMillis(20))
			.withBackoff(MIN, MAX));
		IllegalStateException periodicFailure = new IllegalStateException("periodic failed");
		TestSource source = new TestSource("source", Duration.ofMillis(100)) {
			@Override
			public void periodic(long nowNanos) {
				throw periodicFailure;
			}
		};
		PollingSession session = source.registerWith(poller);
		try {
			await().atMost(GUARD).until(() -> source.events(PollerEvent.LoopError.class).size() >= 2);
			assertThat(source.events(ProducerEvent.ErrorOccurred.class))
				.allSatisfy((event) -> assertThat(event.error()).isSameAs(periodicFailure));
			// Reports still flow.
			CompletableFuture<Void> served = new CompletableFuture<>();
			source.offer(() -> served.complete(null));
			served.get(GUARD.toSeconds(), TimeUnit.SECONDS);
		}
		finally {
			session.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
			assertThat(poller.awaitStopped(GUARD)).isTrue();
		}
	}

	private static Duration ms(long millis) {
		return Duration.ofMillis(millis);
	}

}
