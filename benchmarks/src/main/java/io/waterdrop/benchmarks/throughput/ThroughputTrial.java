package io.waterdrop.benchmarks.throughput;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

import io.waterdrop.benchmarks.clients.ClientKind;
import io.waterdrop.benchmarks.clients.DeliveryListener;
import io.waterdrop.benchmarks.clients.ProducerFleet;
import io.waterdrop.benchmarks.support.ClientSettings;
import io.waterdrop.benchmarks.support.CpuWork;
import io.waterdrop.benchmarks.support.HostCpu;
import io.waterdrop.benchmarks.support.Resources;
import io.waterdrop.benchmarks.support.ThreadCosts;
import io.waterdrop.benchmarks.support.Threads;

/**
 * One throughput trial: N producers, each driven by its own platform thread, each sending asynchronously
 * until the {@link TrialLimit} with at most a window of messages in flight ({@link SendWindow}); every
 * report goes to a counting callback, after optional CPU work ({@link CpuWork}). The rate is measured while
 * the senders send, the costs per message until the last report (see {@link Measurement}).
 */
public final class ThroughputTrial {

	/** Long enough for a 100-producer fleet with 50 µs callbacks to drain its windows on a busy machine. */
	private static final Duration DELIVERY_TIMEOUT = Duration.ofMinutes(5);

	/** Numbers the trials' topics within this JVM. */
	private static final AtomicInteger trials = new AtomicInteger();

	private final ClientSettings settings;

	private final TrialLimit limit;

	private final int window;

	private final byte[] payload;

	private final HostCpu hostCpu;

	/** @param window messages each producer may have in flight */
	public ThroughputTrial(ClientSettings settings, TrialLimit limit, int window, byte[] payload) {
		this.settings = settings;
		this.limit = limit;
		this.window = window;
		this.payload = payload;
		this.hostCpu = new HostCpu(settings.brokerPid());
	}

	/**
	 * Opens a fleet on a topic of its own, primes it, runs one measurement, closes it and deletes the topic
	 * (a trial writes hundreds of megabytes; a full run would otherwise fill the disk).
	 * @param topicPrefix names the trial's topic, {@code <prefix>-<trial number>}
	 * @param callbackIterations {@link CpuWork} loop iterations every callback runs (0 for none)
	 */
	public ThroughputResult run(ClientKind kind, int producers, String topicPrefix, long callbackIterations) {
		String topic = topicPrefix + "-" + trials.incrementAndGet();
		this.settings.createTopics(List.of(topic));
		try {
			// After the topic's admin client has gone: the snapshot counts the threads the trial starts with.
			Resources.Snapshot before = Resources.snapshot();
			try (ProducerFleet fleet = kind.open(this.settings, producers, topic, null)) {
				fleet.prime(this.payload);
				Measurement measurement = measure(fleet, callbackIterations);
				long rss = Resources.rss();
				int liveThreads = Resources.peakThreads();
				Resources.Snapshot after = Resources.snapshot();
				return new ThroughputResult(measurement, liveThreads - before.liveThreads() - producers, liveThreads,
						rss, (before.rssBytes() < 0 || after.rssBytes() < 0) ? -1 : after.rssBytes() - before.rssBytes(),
						after.heapBytes() - before.heapBytes());
			}
		}
		finally {
			this.settings.deleteTopics(List.of(topic));
		}
	}

	/** One timed run with an open, primed fleet (the profiler's entry point: it records only this). */
	public Measurement measure(ProducerFleet fleet, long callbackIterations) {
		int producers = fleet.size();
		List<SendWindow> windows = new ArrayList<>();
		List<Thread> senders = new ArrayList<>();
		CountDownLatch start = new CountDownLatch(1);
		// One deadline for all senders, which the rate's span also ends at; set just before the release.
		long[] stopAt = new long[1];
		// What each sender cost, written by the sender as it ends (read after joining it).
		ThreadCosts.Cost[] senderCosts = new ThreadCosts.Cost[producers];
		for (int i = 0; i < producers; i++) {
			SendWindow window = new SendWindow(this.window);
			windows.add(window);
			DeliveryListener listener = (callbackIterations == 0) ? window : (error) -> {
				CpuWork.run(callbackIterations);
				window.delivered(error);
			};
			int index = i;
			senders.add(Thread.ofPlatform()
				.name("bench-sender-" + i)
				.start(() -> {
					ThreadCosts.Cost atStart = ThreadCosts.ofCurrentThread();
					send(fleet, index, window, listener, start, stopAt);
					senderCosts[index] = ThreadCosts.ofCurrentThread().minus(atStart);
				}));
		}
		ThreadCosts costsBefore = ThreadCosts.read();
		long allocatedBefore = Resources.allocatedBytes();
		long cpuBefore = Resources.cpuNanos();
		HostCpu.Reading hostBefore = this.hostCpu.read();
		long started = System.nanoTime();
		stopAt[0] = started + this.limit.duration().toNanos();
		start.countDown(); // publishes stopAt to the senders
		long rateMessages = -1;
		long rateNanos = -1;
		if (this.limit.timed()) {
			sleepUntil(stopAt[0]);
			rateNanos = System.nanoTime() - started;
			rateMessages = windows.stream().mapToLong(SendWindow::delivered).sum();
		}
		Threads.join(senders);
		long lastDelivery = started;
		for (SendWindow window : windows) {
			lastDelivery = Math.max(lastDelivery, window.awaitAll(DELIVERY_TIMEOUT));
		}
		long cpu = Resources.cpuNanos() - cpuBefore;
		HostCpu.Usage host = this.hostCpu.read().since(hostBefore);
		long allocated = Resources.allocatedBytes() - allocatedBefore;
		ThreadCosts.Split byThread = ThreadCosts.read()
			.since(costsBefore, Stream.of(senderCosts).reduce(ThreadCosts.Cost.NONE, ThreadCosts.Cost::plus),
					new ThreadCosts.Cost(cpu, allocated));
		long messages = windows.stream().mapToLong(SendWindow::total).sum();
		long elapsed = lastDelivery - started;
		return (rateNanos < 0) ? new Measurement(messages, elapsed, messages, elapsed, allocated, cpu, byThread, host)
				: new Measurement(messages, elapsed, rateMessages, rateNanos, allocated, cpu, byThread, host);
	}

	private void send(ProducerFleet fleet, int index, SendWindow window, DeliveryListener listener,
			CountDownLatch start, long[] stopAt) {
		long sent = 0;
		try {
			Threads.await(start);
			boolean timed = this.limit.timed();
			long deadline = stopAt[0];
			long max = this.limit.maxMessages();
			sending: while (sent < max) {
				long room = Math.min(window.room(sent, DELIVERY_TIMEOUT), max - sent);
				for (long i = 0; i < room; i++) {
					fleet.sendAsync(index, this.payload, listener);
					sent++;
					if (timed && sent % TrialLimit.CLOCK_CHECK_INTERVAL == 0 && System.nanoTime() - deadline >= 0) {
						break sending;
					}
				}
			}
		}
		catch (RuntimeException ex) {
			window.abort(ex);
		}
		finally {
			window.finish(sent);
		}
	}

	private static void sleepUntil(long deadlineNanos) {
		long remaining;
		while ((remaining = deadlineNanos - System.nanoTime()) > 0) {
			LockSupport.parkNanos(remaining);
			if (Thread.interrupted()) {
				throw new IllegalStateException("Interrupted during a trial");
			}
		}
	}

}
