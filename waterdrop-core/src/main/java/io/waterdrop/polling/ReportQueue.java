package io.waterdrop.polling;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A producer's queue of delivery reports waiting for dispatch, with an edge-triggered wake-up.
 * <p>
 * Threading: any number of threads {@link #offer} (Kafka's network thread, a closing thread); exactly
 * one thread at a time {@link #drain}s (the polling thread serving the producer).
 * <p>
 * Signal protocol (why no wake-up is lost): {@code signalled} is true while a wake-up is outstanding.
 * {@code offer} adds the report first, then signals only if it flips {@code signalled} false → true, so a
 * burst costs one signal. {@code drain} clears {@code signalled} <em>before</em> taking reports. A report
 * added before the clear is seen by the drain that follows it; a report added after the clear finds
 * {@code signalled} false (or set by another offer after the clear, which signals), so a new signal
 * follows. Either way every report is drained after it is added. A drain stopped by its deadline sets
 * {@code signalled} again: its caller promises to drain again without waiting for a signal, so offers
 * meanwhile need not signal.
 *
 * @param <R> the report type
 */
public final class ReportQueue<R> {

	private final Queue<R> reports = new ConcurrentLinkedQueue<>();

	private final AtomicInteger size = new AtomicInteger();

	private final AtomicBoolean signalled = new AtomicBoolean();

	private final Wakeup wakeup;

	public ReportQueue(Wakeup wakeup) {
		this.wakeup = wakeup;
	}

	/** Adds a report; signals the wake-up if the queue had no outstanding signal. Never blocks. */
	public void offer(R report) {
		// Counted before it is visible so that size() never goes below zero.
		this.size.incrementAndGet();
		this.reports.add(report);
		if (!this.signalled.get() && this.signalled.compareAndSet(false, true)) {
			this.wakeup.signal();
		}
	}

	/**
	 * Hands reports to {@code dispatcher} until the queue is empty or {@code System.nanoTime()} passes
	 * {@code deadlineNanos} (checked after each report, so at least one is dispatched).
	 * @return {@code true} when the queue was found empty, {@code false} when the deadline stopped the
	 * drain and the caller must drain again without waiting for a signal
	 */
	public boolean drain(long deadlineNanos, Consumer<? super R> dispatcher) {
		this.signalled.set(false);
		R report;
		while ((report = this.reports.poll()) != null) {
			// Counted out when taken: the report being dispatched no longer waits, and its dispatch may let a
			// producer send another one (size() must stay within what the producer may hold).
			this.size.decrementAndGet();
			dispatcher.accept(report);
			if (System.nanoTime() - deadlineNanos >= 0) {
				this.signalled.set(true);
				return false;
			}
		}
		return true;
	}

	/** Reports waiting for dispatch. */
	public int size() {
		return this.size.get();
	}

}
