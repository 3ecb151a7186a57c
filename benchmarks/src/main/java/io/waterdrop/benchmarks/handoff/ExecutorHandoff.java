package io.waterdrop.benchmarks.handoff;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What a Java user might write without WaterDrop: every callback submits a task to a single-thread
 * executor (a {@code LinkedBlockingQueue} whose lock and condition wake the worker).
 */
final class ExecutorHandoff implements Handoff {

	private final ExecutorService executor = Executors.newSingleThreadExecutor();

	private final AtomicLong dispatched = new AtomicLong();

	@Override
	public void offer(Object report) {
		this.executor.execute(this.dispatched::incrementAndGet);
	}

	@Override
	public long dispatched() {
		return this.dispatched.get();
	}

	@Override
	public void close() {
		this.executor.shutdown();
		try {
			this.executor.awaitTermination(10, TimeUnit.SECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
