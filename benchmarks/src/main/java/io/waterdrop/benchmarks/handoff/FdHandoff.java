package io.waterdrop.benchmarks.handoff;

import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingSession;
import io.waterdrop.polling.ReportQueue;
import io.waterdrop.polling.WakeupPipe;

/**
 * Fd mode's path: the queue's edge-triggered signal writes a byte to an OS pipe (only while the Poller
 * sleeps; an awake Poller collects the announced pipe itself), and a Poller thread
 * waiting in its selector wakes, clears the pipe and drains the queue.
 */
final class FdHandoff implements Handoff {

	private final Poller poller = new Poller(PollerConfig.named("jmh"));

	private final WakeupPipe pipe = this.poller.openPipe(); // writes only while the Poller sleeps, as a producer's

	private final ReportQueue<CountingPollable.Report> queue = new ReportQueue<>(this.pipe);

	private final CountingPollable pollable = new CountingPollable(this.queue);

	private final PollingSession session = this.poller.register(this.pollable, this.pipe);

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
		this.session.detach().join();
	}

}
