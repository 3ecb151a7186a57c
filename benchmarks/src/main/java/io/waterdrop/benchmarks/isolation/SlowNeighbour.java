package io.waterdrop.benchmarks.isolation;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerConfig;
import io.waterdrop.benchmarks.support.ClientSettings;
import io.waterdrop.polling.PollingMode;

/**
 * Producer A: an fd-mode producer on the global Poller whose callback takes 2 ms per report (a blocking
 * call, as a careless application would make), kept saturated by a thread that sends whenever one of its
 * {@value #IN_FLIGHT} in-flight slots is free. Its Poller therefore always has a backlog of A's reports.
 */
final class SlowNeighbour implements AutoCloseable {

	static final int IN_FLIGHT = 200;

	static final Duration CALLBACK_TIME = Duration.ofMillis(2);

	private static final Duration BACKLOG_TIMEOUT = Duration.ofSeconds(10);

	private final Producer producer;

	private final Thread sender;

	private final AtomicReference<RuntimeException> failure = new AtomicReference<>();

	private volatile boolean stopping;

	SlowNeighbour(ClientSettings settings, String id, Integer lingerMs, Integer maxTimeMs, boolean yields,
			String topic, byte[] payload) {
		ProducerConfig.Builder config = ProducerConfig.builder()
			.id(id)
			.kafka(settings.producer(id, lingerMs))
			.pollingMode(PollingMode.FD)
			.maxInFlight(IN_FLIGHT);
		Duration maxTime = (maxTimeMs != null) ? Duration.ofMillis(maxTimeMs) : ProducerConfig.DEFAULT_MAX_TIME;
		config.maxTime(maxTime);
		if (!yields) {
			config.minTime(maxTime); // the slice rule off: A keeps every slice for its whole max-time
		}
		this.producer = new Producer(config.build());
		this.producer.connect();
		long callbackNanos = CALLBACK_TIME.toNanos();
		Message message = Message.of(topic, payload);
		this.sender = Thread.ofPlatform().name("bench-slow-neighbour").start(() -> {
			try {
				while (!this.stopping) {
					this.producer.produceAsync(message, (report, error) -> LockSupport.parkNanos(callbackNanos));
				}
			}
			catch (RuntimeException ex) {
				this.failure.set(ex);
			}
		});
	}

	/** Waits until most of A's slots are taken, i.e. its backlog is there. */
	void awaitBacklog() {
		long deadline = System.nanoTime() + BACKLOG_TIMEOUT.toNanos();
		while (this.producer.inFlight() < IN_FLIGHT * 3 / 4) {
			if (this.failure.get() != null) {
				throw this.failure.get();
			}
			if (System.nanoTime() > deadline) {
				throw new IllegalStateException("Producer A built no backlog within " + BACKLOG_TIMEOUT);
			}
			LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
		}
	}

	/** Stops sending, then closes A once its backlog is dispatched. */
	@Override
	public void close() {
		this.stopping = true;
		try {
			this.sender.join();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
		this.producer.close();
		if (this.failure.get() != null) {
			throw this.failure.get();
		}
	}

}
