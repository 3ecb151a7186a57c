package io.waterdrop;

import java.util.concurrent.atomic.LongAdder;

/**
 * Running totals of one {@link TransactionalPool}: how often a caller waited for a free member and for how
 * long. Thread-safe; values read together are not a snapshot.
 */
public final class TransactionalPoolStats {

	final LongAdder waits = new LongAdder();

	final LongAdder waitNanos = new LongAdder();

	final LongAdder timeouts = new LongAdder();

	/** Borrows, successful or timed out: every transaction begun on the pool from outside a transaction. */
	public long waits() {
		return this.waits.sum();
	}

	/** Time spent waiting for a free member, by every borrow, in nanoseconds. */
	public long waitNanos() {
		return this.waitNanos.sum();
	}

	/** Borrows that found no free member within the wait timeout. */
	public long timeouts() {
		return this.timeouts.sum();
	}

}
