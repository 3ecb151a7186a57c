package io.waterdrop.polling;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A producer's queue of delivery reports waiting for dispatch, with an edge-triggered wake-up. The reports
 * are the queue's nodes ({@link Node}): queueing one allocates nothing.
 * <p>
 * Threading: any number of threads {@link #offer} (Kafka's network thread, a closing thread, a caller on
 * whose thread Kafka completed a send); exactly one thread at a time {@link #drain}s (the polling thread
 * serving the producer). A node is offered at most once in its life. {@link #size()} from any thread.
 * <p>
 * Queue: one word, {@code top}, holds both the reports and the duty to drain. An offer pushes its report
 * onto {@code top} with one compare-and-set (a lock-free stack, as in Treiber's); the consumer takes the
 * whole stack with one exchange and reverses it, so it dispatches in offer order and touches the offers'
 * cache line once per take rather than once per report. The stack's bottom tells who owns the duty to
 * drain:
 * <table>
 * <caption>States of {@code top}</caption>
 * <tr><th>{@code top}</th><th>meaning</th><th>an offer</th></tr>
 * <tr><td>{@code null}</td><td>idle: empty, nobody owes a drain</td><td>pushes and signals the wake-up (the
 * empty → non-empty edge)</td></tr>
 * <tr><td>reports on {@code null}</td><td>a wake-up is outstanding</td><td>pushes, no signal</td></tr>
 * <tr><td>{@code DRAINING}, or reports on it</td><td>the consumer is draining, or stopped for its deadline
 * and promised to come back</td><td>pushes, no signal</td></tr>
 * </table>
 * The consumer takes with {@code getAndSet(DRAINING)}; when a take finds nothing new, it goes idle only by
 * {@code compareAndSet(DRAINING, null)}, which fails if a report was pushed meanwhile (it then takes that
 * report). Every transition is one atomic operation on the one word, so no report is stranded: a push
 * either finds {@code null} and signals, or finds a non-{@code null} bottom whose owner will take it before
 * it can go idle. There is exactly one signal per idle → busy edge, and none while a drain runs. A drain that
 * stops for its deadline keeps {@code DRAINING} (and what it took but did not dispatch); its caller must
 * drain again without waiting for a signal.
 * <p>
 * Layout: the consumer's fields and {@code top} sit on cache lines of their own (laid out in
 * ReportQueueFields.java), so dispatching a report does not steal the line an offer writes next.
 *
 * @param <N> the report type
 */
public final class ReportQueue<N extends ReportQueue.Node> extends ReportQueueRightPadding {

	private static final VarHandle TOP;

	private static final VarHandle TAKEN_COUNT;

	static {
		try {
			MethodHandles.Lookup lookup = MethodHandles.lookup();
			TOP = lookup.findVarHandle(ReportQueueProducerSide.class, "top", Node.class);
			TAKEN_COUNT = lookup.findVarHandle(ReportQueueConsumerSide.class, "takenCount", int.class);
		}
		catch (ReflectiveOperationException ex) {
			throw new ExceptionInInitializerError(ex);
		}
	}

	/** The bottom of the stack while the consumer owns the duty to drain; never dispatched. */
	private static final Node DRAINING = new Node();

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
	}

	/** Adds a report; signals the wake-up if nobody owns the duty to drain. Never blocks. */
	public void offer(N report) {
		Node node = report;
		Node below;
		do {
			below = (Node) TOP.getAcquire(this);
			node.next = below;
			node.depth = (below == null) ? 1 : below.depth + 1;
		}
		while (!TOP.weakCompareAndSet(this, below, node));
		if (below == null) {
			this.wakeup.signal();
		}
	}

	/**
	 * Takes every report offered since the last take, oldest first. Consumer only.
	 * @return {@code false} if there was none and the consumer gave the duty to drain up (idle again)
	 */
	private boolean take() {
		while (true) {
			Node newest = (Node) TOP.getAndSet(this, DRAINING);
			if (newest == DRAINING || newest == null) {
				if (TOP.compareAndSet(this, DRAINING, null)) {
					return false;
				}
				continue; // a report came between the two
			}
			int count = newest.depth;
			Node oldest = null;
			for (Node node = newest; node != DRAINING && node != null;) {
				Node older = node.next;
				node.next = oldest;
				oldest = node;
				node = older;
			}
			this.taken = oldest;
			TAKEN_COUNT.setOpaque(this, count);
			return true;
		}
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
				Node next = this.taken;
				if (next == null) {
					if (!take()) {
						return true;
					}
					continue;
				}
				this.taken = next.next;
				next.next = null; // a handle kept by its caller must not keep the newer reports alive
				TAKEN_COUNT.setOpaque(this, this.takenCount - 1);
				sinceFlush++;
				@SuppressWarnings("unchecked")
				N report = (N) next;
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
		return this.top != null || this.taken != null;
	}

	/**
	 * Reports waiting for dispatch: those offered and not yet taken (the depth the newest one recorded) plus
	 * those taken and not yet dispatched. A moment's estimate while reports move; it costs no counter that
	 * Kafka's network thread and the consumer would both write on every report.
	 */
	public int size() {
		Node newest = (Node) TOP.getAcquire(this);
		int offered = (newest == null) ? 0 : newest.depth;
		return offered + (int) TAKEN_COUNT.getOpaque(this);
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

		/**
		 * Offered: the next older report (or the stack's bottom). Taken: the next newer one. Written before the
		 * compare-and-set that publishes the node, or by the consumer.
		 */
		private Node next;

		/** Reports in the stack from this one down, this one included (0 for the {@code DRAINING} mark). */
		private int depth;

	}

}
