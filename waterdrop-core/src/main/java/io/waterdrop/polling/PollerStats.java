package io.waterdrop.polling;

import java.util.concurrent.atomic.LongAdder;

/**
 * Running totals of one Poller since it was created (across restarts of its thread). Written by the Poller
 * thread, read from any thread; each value is exact, a set of values read together is not a snapshot.
 */
public final class PollerStats {

	final LongAdder signalWakeups = new LongAdder();

	final LongAdder timeoutWakeups = new LongAdder();

	final LongAdder drains = new LongAdder();

	final LongAdder drainNanos = new LongAdder();

	final LongAdder exhaustedDrains = new LongAdder();

	final LongAdder yieldedDrains = new LongAdder();

	final LongAdder loopErrors = new LongAdder();

	/**
	 * Cycles that served at least one producer's new signal: a pipe byte that woke the selector, or a signal
	 * announced while the Poller was awake (which needs no wake-up from the selector).
	 */
	public long signalWakeups() {
		return this.signalWakeups.sum();
	}

	/** Selector waits that ended by {@code pollTimeout} with nothing to do. */
	public long timeoutWakeups() {
		return this.timeoutWakeups.sum();
	}

	/** Drain slices served (one producer, up to its {@code maxTime}). */
	public long drains() {
		return this.drains.sum();
	}

	/** Total time spent in drain slices, in nanoseconds. */
	public long drainNanos() {
		return this.drainNanos.sum();
	}

	/** Drain slices that used up the producer's {@code maxTime} with reports still waiting. */
	public long exhaustedDrains() {
		return this.exhaustedDrains.sum();
	}

	/**
	 * Drain slices ended early, after {@code minTime}, because another producer signalled while reports were
	 * still waiting.
	 */
	public long yieldedDrains() {
		return this.yieldedDrains.sum();
	}

	/** Failures of the polling loop itself. */
	public long loopErrors() {
		return this.loopErrors.sum();
	}

}
