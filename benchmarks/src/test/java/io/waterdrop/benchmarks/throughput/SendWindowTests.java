package io.waterdrop.benchmarks.throughput;

import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

class SendWindowTests {

	private static final Duration TIMEOUT = Duration.ofSeconds(10);

	@Test
	void roomIsWhatTheWindowLeavesWhileAtMostHalfIsInFlight() {
		SendWindow window = new SendWindow(10);

		assertThat(window.room(0, TIMEOUT)).isEqualTo(10);
		assertThat(window.room(5, TIMEOUT)).isEqualTo(5);
		window.delivered(null);
		window.delivered(null);
		assertThat(window.room(7, TIMEOUT)).isEqualTo(5);
	}

	/** A fake client: the sender's messages go through a queue to a thread that calls back. */
	@Test
	void aSenderNeverGetsMoreThanTheWindowAheadAndEveryReportIsAwaited() throws InterruptedException {
		int capacity = 64;
		long messages = 200_000;
		SendWindow window = new SendWindow(capacity);
		BlockingQueue<Object> client = new ArrayBlockingQueue<>(capacity);
		Thread callbacks = Thread.ofPlatform().start(() -> {
			try {
				for (long i = 0; i < messages; i++) {
					client.take();
					window.delivered(null);
				}
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		});
		long started = System.nanoTime();
		long sent = 0;
		long mostInFlight = 0;
		while (sent < messages) {
			long room = Math.min(window.room(sent, TIMEOUT), messages - sent);
			for (long i = 0; i < room; i++) {
				client.put(sent);
				sent++;
				mostInFlight = Math.max(mostInFlight, sent - window.delivered());
			}
		}
		window.finish(sent);

		long lastDelivery = window.awaitAll(TIMEOUT);
		callbacks.join();
		assertThat(mostInFlight).isLessThanOrEqualTo(capacity);
		assertThat(window.delivered()).isEqualTo(messages);
		assertThat(window.total()).isEqualTo(messages);
		assertThat(lastDelivery).isGreaterThan(started);
	}

	@Test
	void aFailedDeliveryFailsTheWait() {
		SendWindow window = new SendWindow(4);
		window.delivered(new IllegalStateException("refused"));
		window.finish(2);

		assertThatIllegalStateException().isThrownBy(() -> window.awaitAll(TIMEOUT))
			.withMessageContaining("failed")
			.withRootCauseInstanceOf(IllegalStateException.class);
	}

}
