package io.waterdrop.benchmarks.handoff;

import java.util.concurrent.atomic.AtomicLong;

import io.waterdrop.benchmarks.clients.DeliveryListener;
import io.waterdrop.benchmarks.lean.LeanReport;
import io.waterdrop.benchmarks.lean.LeanReportQueue;
import io.waterdrop.benchmarks.lean.LeanSelectorThread;

/**
 * The lean hand-off's path: one {@link LeanReport} per report pushed on a lock-free stack, a pipe byte
 * only when the Selector thread is idle, and that thread draining; the floor of fd mode's path.
 */
final class LeanHandoff implements Handoff {

	private final AtomicLong dispatched = new AtomicLong();

	/** One listener for all reports, so that each offer allocates the report alone. */
	private final DeliveryListener counter = (error) -> this.dispatched.incrementAndGet();

	private final LeanSelectorThread selectorThread = new LeanSelectorThread("jmh-lean");

	private final LeanReportQueue queue = this.selectorThread.newQueue();

	LeanHandoff() {
		this.selectorThread.start();
	}

	@Override
	public void offer(Object report) {
		new LeanReport(this.queue, this.counter).onCompletion(null, null);
	}

	@Override
	public long dispatched() {
		return this.dispatched.get();
	}

	@Override
	public void close() {
		this.selectorThread.close();
	}

}
