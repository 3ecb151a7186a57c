package io.waterdrop.benchmarks.throughput;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import io.waterdrop.benchmarks.clients.DeliveryCounter;
import io.waterdrop.benchmarks.clients.ProducerFleet;
import io.waterdrop.benchmarks.support.ClientSettings;
import io.waterdrop.benchmarks.support.Resources;
import io.waterdrop.benchmarks.support.Threads;

/**
 * One run of one case: N producers, each driven by its own platform thread (a worker with its own
 * producer), each sending M messages with an asynchronous send and an inline counting callback. The clock
 * runs from the moment all senders are released until the last report has reached its callback.
 */
final class ThroughputTrial {

	private static final Duration DELIVERY_TIMEOUT = Duration.ofMinutes(5);

	private final ClientSettings settings;

	private final int messages;

	private final byte[] payload;

	ThroughputTrial(ClientSettings settings, int messages, byte[] payload) {
		this.settings = settings;
		this.messages = messages;
		this.payload = payload;
	}

	ThroughputResult run(ThroughputCase c) {
		Resources.Snapshot before = Resources.snapshot();
		try (ProducerFleet fleet = c.kind().open(this.settings, c.producers(), c.topic(), null)) {
			fleet.prime(this.payload);
			List<DeliveryCounter> counters = new ArrayList<>();
			List<Thread> senders = new ArrayList<>();
			CountDownLatch start = new CountDownLatch(1);
			for (int i = 0; i < c.producers(); i++) {
				DeliveryCounter counter = new DeliveryCounter(this.messages);
				counters.add(counter);
				int index = i;
				senders.add(Thread.ofPlatform().name("bench-sender-" + i).start(() -> {
					Threads.await(start);
					try {
						for (int m = 0; m < this.messages; m++) {
							fleet.sendAsync(index, this.payload, counter);
						}
					}
					catch (RuntimeException ex) {
						counter.abort(ex);
					}
				}));
			}
			long allocatedBefore = Resources.allocatedBytes();
			long started = System.nanoTime();
			start.countDown();
			counters.forEach((counter) -> counter.await(DELIVERY_TIMEOUT));
			long elapsed = System.nanoTime() - started;
			long allocated = Resources.allocatedBytes() - allocatedBefore;
			Threads.join(senders);
			int clientThreads = Resources.peakThreads() - before.liveThreads() - c.producers();
			Resources.Snapshot after = Resources.snapshot();
			long total = (long) c.producers() * this.messages;
			return new ThroughputResult(total / (elapsed / 1e9), clientThreads, after.heapBytes() - before.heapBytes(),
					(before.rssBytes() < 0) ? -1 : after.rssBytes() - before.rssBytes(), (double) allocated / total);
		}
	}

}
