package io.waterdrop.benchmarks.lean;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;

/**
 * One producer's delivery reports on their way to the Selector thread: an intrusive lock-free stack that
 * the draining thread takes whole and reverses (multi-producer, single-consumer), plus an edge-triggered
 * {@link Pipe} signal.
 * <p>
 * The single field {@code top} encodes the state: {@code null} means empty and nobody draining; the
 * {@link #DRAINING} marker means the Selector thread is draining (reports pushed meanwhile stack up on the
 * marker). A push that finds {@code null} is the empty → non-empty edge and the only push that writes to the
 * pipe; while the Selector thread is awake and draining, no push writes. The Selector thread goes back to
 * {@code null} only by a CAS from a bare marker, so a report pushed at that moment makes the CAS fail and is
 * drained at once: no wake-up is lost, and there is exactly one pipe byte per idle → busy transition.
 */
public final class LeanReportQueue {

	/** The bottom of the stack while the Selector thread drains; never dispatched. */
	private static final LeanReport DRAINING = new LeanReport(null, null);

	private static final VarHandle TOP;

	static {
		try {
			TOP = MethodHandles.lookup().findVarHandle(LeanReportQueue.class, "top", LeanReport.class);
		}
		catch (ReflectiveOperationException ex) {
			throw new ExceptionInInitializerError(ex);
		}
	}

	private final Pipe pipe;

	private final ByteBuffer signal = ByteBuffer.allocate(1);

	private final ByteBuffer discard = ByteBuffer.allocate(64);

	@SuppressWarnings("unused") // accessed through TOP
	private volatile LeanReport top;

	public LeanReportQueue() {
		try {
			this.pipe = Pipe.open();
			this.pipe.source().configureBlocking(false);
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not open a pipe", ex);
		}
	}

	/** The end the Selector watches. */
	Pipe.SourceChannel source() {
		return this.pipe.source();
	}

	/** Any thread: queues the report; writes to the pipe only if the queue was idle and empty. */
	void push(LeanReport report) {
		LeanReport current;
		do {
			current = (LeanReport) TOP.getAcquire(this);
			report.next = current;
		}
		while (!TOP.compareAndSet(this, current, report));
		if (current == null) {
			signal();
		}
	}

	/**
	 * Selector thread, after the pipe was selected: clears the pipe and dispatches every report, including
	 * those pushed while it drains, in the order each producing thread pushed them.
	 * @return reports dispatched
	 */
	int drain() {
		clearPipe();
		int dispatched = 0;
		while (true) {
			LeanReport taken = (LeanReport) TOP.getAndSet(this, DRAINING);
			if (taken == DRAINING) {
				if (TOP.compareAndSet(this, DRAINING, null)) {
					return dispatched;
				}
				continue; // a report arrived between the two: drain it without a pipe round trip
			}
			dispatched += dispatchInPushOrder(taken);
		}
	}

	/** Reverses the taken stack (newest first) down to its bottom (null or the marker) and dispatches it. */
	private static int dispatchInPushOrder(LeanReport newest) {
		LeanReport oldest = null;
		LeanReport node = newest;
		while (node != null && node != DRAINING) {
			LeanReport older = node.next;
			node.next = oldest;
			oldest = node;
			node = older;
		}
		int count = 0;
		for (LeanReport report = oldest; report != null; report = report.next) {
			report.dispatch();
			count++;
		}
		return count;
	}

	private void signal() {
		try {
			synchronized (this.signal) {
				this.signal.clear();
				this.pipe.sink().write(this.signal);
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not signal the pipe", ex);
		}
	}

	private void clearPipe() {
		try {
			do {
				this.discard.clear();
			}
			while (this.pipe.source().read(this.discard) > 0);
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not read the pipe", ex);
		}
	}

	void close() {
		try {
			this.pipe.sink().close();
			this.pipe.source().close();
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not close the pipe", ex);
		}
	}

}
