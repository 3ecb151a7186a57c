package io.waterdrop.polling;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link Backoff}: doubles from min to max, back to min after a clean cycle (the anchor never grew it). */
@Timeout(5)
class BackoffTests {

	@Test
	void doublesFromMinUpToMax() {
		Backoff backoff = new Backoff(Duration.ofMillis(10), Duration.ofMillis(80));
		assertThat(backoff.next()).isEqualTo(Duration.ofMillis(10));
		assertThat(backoff.next()).isEqualTo(Duration.ofMillis(20));
		assertThat(backoff.next()).isEqualTo(Duration.ofMillis(40));
		assertThat(backoff.next()).isEqualTo(Duration.ofMillis(80));
		assertThat(backoff.next()).isEqualTo(Duration.ofMillis(80));
		assertThat(backoff.next()).isEqualTo(Duration.ofMillis(80));
	}

	@Test
	void capsAtMaxWhenDoublingOvershoots() {
		Backoff backoff = new Backoff(Duration.ofMillis(30), Duration.ofMillis(100));
		assertThat(backoff.next()).isEqualTo(Duration.ofMillis(30));
		assertThat(backoff.next()).isEqualTo(Duration.ofMillis(60));
		assertThat(backoff.next()).isEqualTo(Duration.ofMillis(100));
		assertThat(backoff.next()).isEqualTo(Duration.ofMillis(100));
	}

	@Test
	void resetReturnsToMin() {
		Backoff backoff = new Backoff(Duration.ofMillis(10), Duration.ofMillis(80));
		backoff.next();
		backoff.next();
		backoff.next();
		backoff.reset();
		assertThat(backoff.next()).isEqualTo(Duration.ofMillis(10));
		assertThat(backoff.next()).isEqualTo(Duration.ofMillis(20));
	}

	@Test
	void resetBeforeAnyFailureChangesNothing() {
		Backoff backoff = new Backoff(Duration.ofMillis(10), Duration.ofMillis(80));
		backoff.reset();
		backoff.reset();
		assertThat(backoff.next()).isEqualTo(Duration.ofMillis(10));
	}

	@Test
	void minEqualToMaxIsConstant() {
		Backoff backoff = new Backoff(Duration.ofMillis(50), Duration.ofMillis(50));
		for (int i = 0; i < 5; i++) {
			assertThat(backoff.next()).isEqualTo(Duration.ofMillis(50));
		}
	}

	@Test
	void neverOverflowsNearTheLargestDuration() {
		// Doubling a pause above Long.MAX_VALUE / 2 nanoseconds must stay at max, not wrap negative.
		Duration max = Duration.ofNanos(Long.MAX_VALUE);
		Backoff backoff = new Backoff(Duration.ofNanos(Long.MAX_VALUE / 2 + 1), max);
		backoff.next();
		for (int i = 0; i < 3; i++) {
			assertThat(backoff.next()).isEqualTo(max);
		}
	}

}
