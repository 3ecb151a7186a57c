package io.waterdrop.benchmarks.throughput;

import java.time.Duration;

/**
 * When a sender stops: after {@code duration} or after {@code messages} messages, whichever comes first; a
 * zero turns that limit off. Time-limited trials last as long for every client and every producer count, so
 * that each round's trials see the same stretch of machine noise; a message limit gives identical work
 * instead (and tiny smoke runs).
 *
 * @param duration how long each sender sends, or {@link Duration#ZERO} for no time limit
 * @param messages messages each sender sends at most, or 0 for no count limit
 */
public record TrialLimit(Duration duration, long messages) {

	/** How often, in messages, a sender reads the clock. */
	static final int CLOCK_CHECK_INTERVAL = 64;

	public TrialLimit {
		if (duration.isNegative() || messages < 0 || (duration.isZero() && messages == 0)) {
			throw new IllegalArgumentException("A trial needs a duration, a message count or both: " + duration
					+ ", " + messages);
		}
	}

	/** Whether the trial has a time limit. */
	boolean timed() {
		return !this.duration.isZero();
	}

	/** The most messages a sender sends. */
	long maxMessages() {
		return (this.messages == 0) ? Long.MAX_VALUE : this.messages;
	}

	@Override
	public String toString() {
		if (this.messages == 0) {
			return this.duration.toMillis() + " ms per trial";
		}
		if (this.duration.isZero()) {
			return String.format("%,d messages per producer", this.messages);
		}
		return this.duration.toMillis() + String.format(" ms or %,d messages per producer per trial", this.messages);
	}

}
