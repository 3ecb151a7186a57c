package io.waterdrop.benchmarks.lean;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.List;

/**
 * The lean hand-off's one dispatching thread: waits in a {@link Selector} on the pipes of all its
 * {@link LeanReportQueue}s and drains each queue whose pipe signalled. No fairness slices, no periodic work,
 * no statistics: the bare design.
 * <p>
 * Queues are registered before the thread starts (registering with a selector another thread is blocked
 * in would block), which is all the benchmarks need: one fleet of producers per trial.
 */
public final class LeanSelectorThread implements AutoCloseable {

	private final Selector selector;

	private final List<LeanReportQueue> queues = new ArrayList<>();

	private final Thread thread;

	private volatile boolean running = true;

	public LeanSelectorThread(String name) {
		try {
			this.selector = Selector.open();
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not open a selector", ex);
		}
		this.thread = Thread.ofPlatform().name(name).daemon().unstarted(this::loop);
	}

	/** Creates a queue served by this thread; only before {@link #start()}. */
	public LeanReportQueue newQueue() {
		if (this.thread.getState() != Thread.State.NEW) {
			throw new IllegalStateException("Queues are registered before the thread starts");
		}
		LeanReportQueue queue = new LeanReportQueue();
		try {
			queue.source().register(this.selector, SelectionKey.OP_READ, queue);
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not register a pipe", ex);
		}
		this.queues.add(queue);
		return queue;
	}

	public void start() {
		this.thread.start();
	}

	private void loop() {
		try {
			while (this.running) {
				this.selector.select((key) -> ((LeanReportQueue) key.attachment()).drain());
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Selector failed", ex);
		}
	}

	/**
	 * Stops the thread after it has dispatched what was queued; close the producers first, so that every
	 * report has been pushed.
	 */
	@Override
	public void close() {
		this.running = false;
		this.selector.wakeup();
		try {
			this.thread.join();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
		this.queues.forEach(LeanReportQueue::drain);
		this.queues.forEach(LeanReportQueue::close);
		try {
			this.selector.close();
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not close the selector", ex);
		}
	}

}
