package io.waterdrop.benchmarks.isolation;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerConfig;
import io.waterdrop.benchmarks.support.ClientSettings;
import io.waterdrop.benchmarks.support.Latencies;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingMode;

/**
 * One run of one isolation setup: with A saturated (if present), producer B sends its messages at a steady
 * pace, one every millisecond, and records for each how long it took from the produce call to its
 * callback.
 */
final class IsolationTrial {

	static final Duration PACE = Duration.ofMillis(1);

	private static final Duration DELIVERY_TIMEOUT = Duration.ofMinutes(2);

	private static final AtomicInteger sequence = new AtomicInteger();

	private final ClientSettings settings;

	private final int messages;

	private final int lingerMs;

	private final byte[] payload;

	IsolationTrial(ClientSettings settings, int messages, int lingerMs, byte[] payload) {
		this.settings = settings;
		this.messages = messages;
		this.lingerMs = lingerMs;
		this.payload = payload;
	}

	IsolationResult run(IsolationSetup setup) {
		int run = sequence.incrementAndGet();
		SlowNeighbour neighbour = null;
		Producer measured = null;
		try {
			if (setup.slowNeighbour()) {
				neighbour = new SlowNeighbour(this.settings, "bench-isolation-a-" + run, this.lingerMs,
						setup.neighbourMaxTimeMs(), setup.neighbourYields(), IsolationScenario.TOPIC_A, this.payload);
				neighbour.awaitBacklog();
			}
			measured = new Producer(measuredConfig(setup, "bench-isolation-b-" + run));
			measured.produceSync(Message.of(IsolationScenario.TOPIC_B, this.payload));
			return measure(measured);
		}
		finally {
			if (measured != null) {
				measured.close();
			}
			if (neighbour != null) {
				neighbour.close();
			}
		}
	}

	private ProducerConfig measuredConfig(IsolationSetup setup, String id) {
		ProducerConfig.Builder config = ProducerConfig.builder().id(id).kafka(this.settings.producer(id, this.lingerMs));
		switch (setup.placement()) {
			case GLOBAL -> config.pollingMode(PollingMode.FD);
			// Its thread ends when B, its only producer, closes.
			case DEDICATED -> config.pollingMode(PollingMode.FD).poller(new Poller(PollerConfig.named("isolated")));
			case THREAD -> config.pollingMode(PollingMode.THREAD);
		}
		return config.build();
	}

	private IsolationResult measure(Producer producer) {
		Latencies latencies = new Latencies(this.messages);
		CountDownLatch done = new CountDownLatch(this.messages);
		AtomicReference<Throwable> failure = new AtomicReference<>();
		Message message = Message.of(IsolationScenario.TOPIC_B, this.payload);
		for (int i = 0; i < this.messages; i++) {
			long sent = System.nanoTime();
			// The callback runs on B's one dispatching thread, so the recorder needs no lock.
			producer.produceAsync(message, (report, error) -> {
				latencies.record(System.nanoTime() - sent);
				if (error != null) {
					failure.compareAndSet(null, error);
				}
				done.countDown();
			});
			LockSupport.parkNanos(PACE.toNanos());
		}
		try {
			if (!done.await(DELIVERY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
				throw new IllegalStateException("Producer B's reports did not all come within " + DELIVERY_TIMEOUT);
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted", ex);
		}
		if (failure.get() != null) {
			throw new IllegalStateException("A delivery of producer B failed", failure.get());
		}
		return new IsolationResult(latencies.percentileMillis(50), latencies.percentileMillis(99),
				latencies.percentileMillis(100));
	}

}
