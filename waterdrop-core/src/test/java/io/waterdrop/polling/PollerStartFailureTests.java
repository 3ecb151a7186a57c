package io.waterdrop.polling;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * A Poller whose thread cannot start (no native thread left, no file descriptor for a selector) leaves
 * nothing behind: no registration counted, no change queued, no thread field pointing at a thread that never
 * ran, so the next registration starts it and is served.
 */
class PollerStartFailureTests {

	@RepeatedTest(5)
	@Timeout(30)
	void failedThreadStartIsRolledBackAndTheNextRegistrationIsServed() throws Exception {
		Poller poller = FailingThreads.poller("start-failure", 1);
		TestSource refused = new TestSource("refused", Duration.ofMillis(100));
		try {
			assertThatExceptionOfType(OutOfMemoryError.class).isThrownBy(() -> refused.registerWith(poller));
			assertThat(poller.registeredProducers()).isZero();
			assertThat(poller.isRunning()).isFalse();
			assertThat(poller.awaitStopped(Duration.ZERO)).isTrue();
		}
		finally {
			refused.pipe.close(); // the caller still owns the pipe of a refused registration
		}

		TestSource served = new TestSource("served", Duration.ofMillis(100));
		PollingSession session = served.registerWith(poller);
		CountDownLatch dispatched = new CountDownLatch(1);
		served.offer(dispatched::countDown);
		assertThat(dispatched.await(30, TimeUnit.SECONDS)).isTrue();
		assertThat(poller.registeredProducers()).isEqualTo(1);
		assertThat(refused.drains).hasValue(0);
		session.detach().get(30, TimeUnit.SECONDS);
		assertThat(poller.awaitStopped(Duration.ofSeconds(30))).isTrue();
		assertThat(poller.registeredProducers()).isZero();
	}

}
