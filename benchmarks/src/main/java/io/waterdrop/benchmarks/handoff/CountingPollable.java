package io.waterdrop.benchmarks.handoff;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import io.waterdrop.instrumentation.Monitor;
import io.waterdrop.polling.DrainSlice;
import io.waterdrop.polling.Pollable;
import io.waterdrop.polling.ReportQueue;

/**
 * A {@link Pollable} standing in for a producer: drains its report queue the way a producer's dispatcher
 * does, but only counts the reports.
 */
final class CountingPollable implements Pollable {

	private final ReportQueue<Report> queue;

	private final Monitor monitor = new Monitor("jmh");

	private final AtomicLong dispatched = new AtomicLong();

	CountingPollable(ReportQueue<Report> queue) {
		this.queue = queue;
	}

	long dispatched() {
		return this.dispatched.get();
	}

	@Override
	public String id() {
		return "jmh";
	}

	@Override
	public Duration maxTime() {
		return Duration.ofMillis(100);
	}

	@Override
	public Monitor monitor() {
		return this.monitor;
	}

	@Override
	public boolean drain(DrainSlice slice) {
		return this.queue.drainTo(slice, (report) -> this.dispatched.incrementAndGet());
	}

	/** A queued report: the queue links its nodes through the reports themselves. */
	static final class Report extends ReportQueue.Node {

		final Object payload;

		Report(Object payload) {
			this.payload = payload;
		}

	}

	@Override
	public void periodic(long nowNanos) {
	}

	@Override
	public void pollingTerminated(Throwable cause) {
	}

}
