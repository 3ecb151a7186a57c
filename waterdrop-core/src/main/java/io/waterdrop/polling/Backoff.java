package io.waterdrop.polling;

import java.time.Duration;

/**
 * Back-off after consecutive polling-loop failures: {@code min}, then doubling up to {@code max}, back to
 * {@code min} after a clean cycle. Confined to the polling thread.
 */
final class Backoff {

	private final long minNanos;

	private final long maxNanos;

	private long nextNanos;

	Backoff(Duration min, Duration max) {
		this.minNanos = min.toNanos();
		this.maxNanos = max.toNanos();
		this.nextNanos = this.minNanos;
	}

	/** The pause after this failure; the following one doubles it, up to the maximum. */
	Duration next() {
		long current = this.nextNanos;
		// Compared before doubling: current * 2 overflows to a negative pause above Long.MAX_VALUE / 2.
		this.nextNanos = (current > this.maxNanos / 2) ? this.maxNanos : current * 2;
		return Duration.ofNanos(current);
	}

	/** A cycle ran without failing. */
	void reset() {
		this.nextNanos = this.minNanos;
	}

}
