package io.waterdrop.benchmarks.handoff;

import java.time.Duration;

import io.waterdrop.polling.DispatchThread;
import io.waterdrop.polling.ReportQueue;

/** Thread mode's path: the queue's edge-triggered signal unparks the producer's own dispatch thread. */
final class ThreadHandoff implements Handoff {

	private final DispatchThread thread = new DispatchThread("jmh", Duration.ofSeconds(1));

	private final ReportQueue<CountingPollable.Report> queue = new ReportQueue<>(this.thread);

	private final CountingPollable pollable = new CountingPollable(this.queue);

	ThreadHandoff() {
		this.thread.start(this.pollable);
	}

	@Override
	public void offer(Object report) {
		this.queue.offer(new CountingPollable.Report(report)); // a node per report, as a Delivery per message
	}

	@Override
	public long dispatched() {
		return this.pollable.dispatched();
	}

	@Override
	public void close() {
		this.thread.detach().join();
	}

}
