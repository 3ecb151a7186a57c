package io.waterdrop;

import java.time.Instant;
import java.util.concurrent.atomic.LongAdder;

/**
 * Running totals of one producer. Every produced message ends as exactly one of acknowledged, failed or
 * purged; until then it counts in {@link Producer#inFlight()}. Thread-safe; values read together are not a
 * snapshot.
 */
public final class ProducerStats {

	final LongAdder producedSync = new LongAdder();

	final LongAdder producedAsync = new LongAdder();

	final LongAdder acknowledged = new LongAdder();

	final LongAdder failed = new LongAdder();

	final LongAdder purged = new LongAdder();

	final LongAdder dispatchNanos = new LongAdder();

	final LongAdder slowCallbacks = new LongAdder();

	/** Epoch milliseconds of the last acknowledgement counted, 0 before any: written once per dispatched batch. */
	volatile long lastAcknowledgedMillis;

	/** Messages accepted by {@code produceSync} and {@code produceManySync}. */
	public long producedSync() {
		return this.producedSync.sum();
	}

	/** Messages accepted by {@code produceAsync} and {@code produceManyAsync}. */
	public long producedAsync() {
		return this.producedAsync.sum();
	}

	/** Messages whose acknowledgement was dispatched. */
	public long acknowledged() {
		return this.acknowledged.sum();
	}

	/**
	 * When an acknowledgement was last dispatched, to the millisecond (the wall clock is read once per dispatched
	 * batch), or {@code null} before the first.
	 */
	public Instant lastAcknowledged() {
		long at = this.lastAcknowledgedMillis;
		return (at != 0) ? Instant.ofEpochMilli(at) : null;
	}

	/** Messages whose delivery failure was dispatched (purges not included). */
	public long failed() {
		return this.failed.sum();
	}

	/** Messages removed undelivered: by a {@code purge()}, a close that purged, an aborted transaction. */
	public long purged() {
		return this.purged.sum();
	}

	/** Reports dispatched: acknowledged + failed + purged. */
	public long dispatched() {
		return acknowledged() + failed() + purged();
	}

	/** Time spent dispatching reports (handles, callbacks, listeners), in nanoseconds. */
	public long dispatchNanos() {
		return this.dispatchNanos.sum();
	}

	/** Dispatches longer than the slow-callback threshold. */
	public long slowCallbacks() {
		return this.slowCallbacks.sum();
	}

}
