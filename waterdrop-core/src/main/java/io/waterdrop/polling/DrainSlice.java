package io.waterdrop.polling;

import java.util.concurrent.atomic.AtomicLong;

/**
 * When one drain of one producer must end. Reused by its polling thread for every drain (no allocation);
 * confined to that thread.
 * <p>
 * A slice ends when it has run {@code maxTime}, or — on a shared {@link Poller} — when it has run at least
 * {@code minTime} and another producer of the Poller has signalled since the Poller last collected the
 * signalled producers ({@link #collecting()}, before each round of slices). The second rule is read from a
 * Poller-wide counter of wake-up signals, one volatile read per report and no system call; the draining
 * producer cannot move that counter itself, because its queue does not signal while it is being drained.
 * The count is the one before the round's collection, not the one when the slice began: a producer that
 * signals between the two (during an earlier slice of the round, after that slice's last look) is not in
 * the round, and would otherwise wait out this whole slice.
 */
public final class DrainSlice {

	/** How a slice ended, for statistics. */
	public enum End {

		/** The queue was empty. */
		EMPTY,

		/** {@code maxTime} ran out with reports still waiting. */
		MAX_TIME,

		/** Another producer signalled and {@code minTime} had passed. */
		PRODUCER_WAITING

	}

	/** Signals of the Poller's producers; {@code null} where a slice never ends early (thread mode). */
	private final AtomicLong signals;

	private long startNanos;

	private long deadlineNanos;

	private long earliestCutNanos;

	/** The signal count before the current round's producers were collected. */
	private long signalsAtCollection;

	private End end;

	public DrainSlice(AtomicLong signals) {
		this.signals = signals;
	}

	/** A slice that ends only by its deadline. */
	public static DrainSlice untilDeadline() {
		return new DrainSlice(null);
	}

	/**
	 * Notes the signals counted so far; the Poller calls it right before it collects the producers that
	 * signalled, so a signal counted later comes from a producer that is not in the coming round (or, rarely,
	 * one collected in the instant between: a slice then yields once without need, after its minTime).
	 */
	void collecting() {
		this.signalsAtCollection = this.signals.get();
	}

	/** Starts a slice at {@code nowNanos}; {@code minTimeNanos} is capped at {@code maxTimeNanos}. */
	public DrainSlice begin(long nowNanos, long maxTimeNanos, long minTimeNanos) {
		this.startNanos = nowNanos;
		this.deadlineNanos = nowNanos + maxTimeNanos;
		this.earliestCutNanos = nowNanos + Math.min(minTimeNanos, maxTimeNanos);
		this.end = End.EMPTY;
		return this;
	}

	/** When the slice began, as a {@code System.nanoTime()} value. */
	public long startNanos() {
		return this.startNanos;
	}

	/** Whether the drain must stop, given the time its last report finished. */
	public boolean isOver(long nowNanos) {
		if (nowNanos - this.deadlineNanos >= 0) {
			this.end = End.MAX_TIME;
			return true;
		}
		if (this.signals != null && nowNanos - this.earliestCutNanos >= 0
				&& this.signals.get() != this.signalsAtCollection) {
			this.end = End.PRODUCER_WAITING;
			return true;
		}
		return false;
	}

	/** How the last slice ended ({@link End#EMPTY} unless {@link #isOver} said it was over). */
	public End end() {
		return this.end;
	}

}
