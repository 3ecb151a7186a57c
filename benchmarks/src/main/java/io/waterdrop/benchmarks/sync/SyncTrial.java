package io.waterdrop.benchmarks.sync;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import io.waterdrop.benchmarks.clients.ProducerFleet;
import io.waterdrop.benchmarks.support.ClientSettings;
import io.waterdrop.benchmarks.support.Latencies;
import io.waterdrop.benchmarks.support.Threads;

/**
 * One run of one sync case: the shape's threads share the messages and send them synchronously, each
 * recording how long every send took. The clock runs from the release of all threads until the last one
 * finished.
 */
final class SyncTrial {

	private final ClientSettings settings;

	private final int messages;

	private final int lingerMs;

	private final byte[] payload;

	SyncTrial(ClientSettings settings, int messages, int lingerMs, byte[] payload) {
		this.settings = settings;
		this.messages = messages;
		this.lingerMs = lingerMs;
		this.payload = payload;
	}

	SyncResult run(SyncCase c) {
		SyncShape shape = c.shape();
		try (ProducerFleet fleet = c.kind().open(this.settings, shape.producers(), c.topic(), this.lingerMs)) {
			fleet.prime(this.payload);
			CountDownLatch start = new CountDownLatch(1);
			AtomicReference<RuntimeException> failure = new AtomicReference<>();
			List<Latencies> latencies = new ArrayList<>();
			List<Thread> threads = new ArrayList<>();
			for (int t = 0; t < shape.threads(); t++) {
				int share = this.messages / shape.threads() + ((t < this.messages % shape.threads()) ? 1 : 0);
				Latencies recorded = new Latencies(share);
				latencies.add(recorded);
				int producer = t % shape.producers();
				Thread.Builder builder = shape.virtual() ? Thread.ofVirtual() : Thread.ofPlatform();
				threads.add(builder.name("bench-sync-" + t).start(() -> {
					Threads.await(start);
					try {
						for (int m = 0; m < share; m++) {
							long sent = System.nanoTime();
							fleet.sendSync(producer, this.payload);
							recorded.record(System.nanoTime() - sent);
						}
					}
					catch (RuntimeException ex) {
						failure.compareAndSet(null, ex);
					}
				}));
			}
			long started = System.nanoTime();
			start.countDown();
			Threads.join(threads);
			long elapsed = System.nanoTime() - started;
			if (failure.get() != null) {
				throw failure.get();
			}
			Latencies all = Latencies.merge(latencies);
			return new SyncResult(this.messages / (elapsed / 1e9), all.percentileMillis(50), all.percentileMillis(99));
		}
	}

}
