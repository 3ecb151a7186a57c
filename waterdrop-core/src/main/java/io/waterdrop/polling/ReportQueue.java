package io.waterdrop.polling;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A producer's queue of delivery reports waiting for dispatch, with an edge-triggered wake-up. The reports
 * are the queue's nodes ({@link Node}): queueing one allocates nothing.
 * <p>
 * Threading: any number of threads {@link #offer} (Kafka's network thread, a closing thread, a caller on
 * whose thread Kafka completed a send); exactly one thread at a time {@link #poll}s and {@link #settle}s
 * (the polling thread serving the producer). A node is offered at most once in its life.
 * <p>
 * Queue: Vyukov's multi-producer single-consumer linked queue. {@code offer} swaps itself in as the tail
 * (one atomic exchange) and then links the previous tail to itself; {@code poll} follows {@code head.next}.
 * Between the exchange and the link the queue looks empty to the consumer; the signal protocol covers
 * that window, because an offer reads the signal flag only after linking, with a volatile store of the
 * link (a release store could be reordered after the read of the flag; the JMH round-trip benchmark lost
 * a wake-up that way).
 * <p>
 * Signal protocol (why no report is stranded): {@code signalled} is true while someone owns the duty to
 * drain: a wake-up is outstanding, or a drain is running or was cut short and promised to come back.
 * {@code offer} links the report first, then writes the wake-up only if it flips {@code signalled}
 * false → true; so a busy consumer costs its producers no signals at all. The consumer keeps the flag set
 * while it drains and clears it only in {@link #settle()}, when {@code poll} found nothing: it clears the
 * flag, then looks again. Both sides write one volatile and then read the other's, so at least one sees the
 * other: either the offer sees the flag cleared (and signals), or {@code settle} sees the report (and
 * re-takes the flag to keep draining, or finds that the offer took it and signalled). A drain that stops
 * for its deadline leaves the flag set; its caller must drain again without waiting for a signal.
 *
 * @param <N> the report type
 */
public final class ReportQueue<N extends ReportQueue.Node> {

	private static final VarHandle TAIL;

	private static final VarHandle NEXT;

	private static final VarHandle HEAD;

	static {
		try {
			MethodHandles.Lookup lookup = MethodHandles.lookup();
			TAIL = lookup.findVarHandle(ReportQueue.class, "tail", Node.class);
			NEXT = lookup.findVarHandle(Node.class, "next", Node.class);
			HEAD = lookup.findVarHandle(ReportQueue.class, "head", Node.class);
		}
		catch (ReflectiveOperationException ex) {
			throw new ExceptionInInitializerError(ex);
		}
	}

	/**
	 * Consumer-owned: the last node taken (or the initial stub); its successor is the first report. Written
	 * with release semantics so that {@link #size()} may walk from it on another thread.
	 */
	@SuppressWarnings("unused") // through HEAD
	private Node head;

	/** The last node offered; swapped by offers. */
	@SuppressWarnings("unused") // through TAIL
	private volatile Node tail;

	private final AtomicBoolean signalled = new AtomicBoolean();

	private final Wakeup wakeup;

	/** How many reports a drain dispatches between two {@link Dispatcher#flush} calls at most. */
	static final int FLUSH_EVERY = 64;

	/**
	 * How long a drain goes without a {@link Dispatcher#flush} at most: with slow callbacks, a sender waiting
	 * for a slot must not wait for 64 of them.
	 */
	static final long FLUSH_AFTER_NANOS = TimeUnit.MICROSECONDS.toNanos(100);

	public ReportQueue(Wakeup wakeup) {
		this.wakeup = wakeup;
		Node stub = new Node();
		HEAD.set(this, stub);
		this.tail = stub;
	}

	/** Adds a report; signals the wake-up if nobody owns the duty to drain. Never blocks. */
	public void offer(N report) {
		Node previous = (Node) TAIL.getAndSet(this, report);
		// A volatile store, not a release: the flag is read next, and a release store may still sit in the
		// store buffer when that read happens (store-load reordering), letting a settle miss this report while
		// this offer misses the settle's clear. See the class comment.
		NEXT.setVolatile(previous, report);
		if (!this.signalled.get() && this.signalled.compareAndSet(false, true)) {
			this.wakeup.signal();
		}
	}

	/** The oldest report, or {@code null} if none is visible. Consumer only. */
	@SuppressWarnings("unchecked")
	N poll() {
		Node next = (Node) NEXT.getAcquire((Node) HEAD.get(this));
		if (next == null) {
			return null;
		}
		HEAD.setRelease(this, next);
		return (N) next;
	}

	/**
	 * Called by the consumer when {@link #poll()} returned {@code null}: gives up the duty to drain unless a
	 * report arrived meanwhile.
	 * @return {@code true} if the consumer may stop (the queue is empty, or a new report has signalled),
	 * {@code false} if it must poll again (a report arrived and the duty is still the consumer's)
	 */
	boolean settle() {
		this.signalled.set(false);
		if (NEXT.getVolatile((Node) HEAD.get(this)) == null) {
			return true;
		}
		return !this.signalled.compareAndSet(false, true);
	}

	/**
	 * Dispatches reports until none is left or {@code slice} is over (checked after each report, so at least
	 * one is dispatched when any is waiting). Consumer only.
	 * @return {@code true} when the queue was found empty, {@code false} when the slice ended the drain and
	 * the caller must drain again without waiting for a signal
	 */
	public boolean drain(DrainSlice slice, Dispatcher<? super N> dispatcher) {
		long now = slice.startNanos();
		long flushedAt = now;
		int sinceFlush = 0;
		try {
			while (true) {
				N report = poll();
				if (report == null) {
					if (settle()) {
						return true;
					}
					continue;
				}
				sinceFlush++;
				now = dispatcher.dispatch(report, now);
				if (slice.isOver(now)) {
					return false;
				}
				if (sinceFlush == FLUSH_EVERY || now - flushedAt >= FLUSH_AFTER_NANOS) {
					flush(dispatcher, sinceFlush);
					sinceFlush = 0;
					flushedAt = now;
				}
			}
		}
		finally {
			flush(dispatcher, sinceFlush);
		}
	}

	/** Like {@link #drain(DrainSlice, Dispatcher)}, for a consumer that needs no timing. */
	public boolean drainTo(DrainSlice slice, Consumer<? super N> consumer) {
		return drain(slice, (Dispatcher<N>) (report, startNanos) -> {
			consumer.accept(report);
			return System.nanoTime();
		});
	}

	private void flush(Dispatcher<? super N> dispatcher, int dispatched) {
		if (dispatched > 0) {
			dispatcher.flush(dispatched);
		}
	}

	/**
	 * Whether a drain is owed: a signal is outstanding or a drain was cut short. Consumer only, for
	 * assertions and diagnostics.
	 */
	boolean signalOutstanding() {
		return this.signalled.get();
	}

	/**
	 * Reports waiting for dispatch, counted by walking the queue (a moment's estimate while reports move). It
	 * costs a walk rather than a counter that Kafka's network thread would update on every report: it is read
	 * by gauges and diagnostics, rarely.
	 */
	public int size() {
		int size = 0;
		for (Node node = (Node) NEXT.getAcquire((Node) HEAD.getAcquire(this)); node != null
				&& size < Integer.MAX_VALUE; node = (Node) NEXT.getAcquire(node)) {
			size++;
		}
		return size;
	}

	/**
	 * Dispatches the reports of one queue; runs on its consumer thread.
	 *
	 * @param <N> the report type
	 */
	@FunctionalInterface
	public interface Dispatcher<N> {

		/**
		 * Dispatches one report whose dispatch started at {@code startNanos} (the end of the previous one).
		 * @return {@code System.nanoTime()} read when this dispatch ended
		 */
		long dispatch(N report, long startNanos);

		/**
		 * Publishes the effects counted over the last {@code dispatched} reports (counters, released slots):
		 * called after at most {@value ReportQueue#FLUSH_EVERY} reports or 100 µs of dispatching, and when a
		 * drain ends, so shared state is written once per batch, not once per report.
		 */
		default void flush(int dispatched) {
		}

	}

	/**
	 * A report that links itself into a {@link ReportQueue}: the queue needs no node of its own. Offer each
	 * at most once.
	 */
	public static class Node {

		@SuppressWarnings("unused") // through NEXT
		private volatile Node next;

	}

}
