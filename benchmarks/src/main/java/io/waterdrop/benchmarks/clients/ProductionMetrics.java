package io.waterdrop.benchmarks.clients;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.micrometer.core.instrument.observation.DefaultMeterObservationHandler;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import org.apache.kafka.clients.producer.Producer;

import org.springframework.kafka.core.MicrometerProducerListener;
import org.springframework.scheduling.concurrent.ConcurrentTaskScheduler;

/**
 * The instrumentation a production application runs with, for the "production" rows: one
 * {@link SimpleMeterRegistry}, Kafka's own client meters ({@code kafka.producer.*}) bound for every
 * client, and an {@link ObservationRegistry} recording into the meter registry.
 * <p>
 * Kafka client meters of all clients share one rescan thread, as WaterDrop's starter does (a
 * {@link KafkaClientMetrics} without a scheduler starts a thread per client), so that both production
 * rows pay the same for them.
 */
final class ProductionMetrics implements AutoCloseable {

	private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

	private final ObservationRegistry observations = ObservationRegistry.create();

	private final ScheduledExecutorService rescans = Executors.newSingleThreadScheduledExecutor((task) -> {
		Thread thread = new Thread(task, "bench-kafka-metrics");
		thread.setDaemon(true);
		return thread;
	});

	private final List<KafkaClientMetrics> clientMetrics = new CopyOnWriteArrayList<>();

	ProductionMetrics() {
		this.observations.observationConfig().observationHandler(new DefaultMeterObservationHandler(this.registry));
	}

	MeterRegistry registry() {
		return this.registry;
	}

	ObservationRegistry observations() {
		return this.observations;
	}

	/** Binds Kafka's client meters of {@code client}; they are closed with this object. */
	<P extends Producer<?, ?>> P bindClient(P client) {
		KafkaClientMetrics metrics = new KafkaClientMetrics(client, List.of(), this.rescans);
		metrics.bindTo(this.registry);
		this.clientMetrics.add(metrics);
		return client;
	}

	/** spring-kafka's listener that binds the same client meters, on the same rescan thread. */
	MicrometerProducerListener<byte[], byte[]> producerListener() {
		return new MicrometerProducerListener<>(this.registry, new ConcurrentTaskScheduler(this.rescans));
	}

	@Override
	public void close() {
		this.clientMetrics.forEach(KafkaClientMetrics::close);
		this.rescans.shutdownNow();
		try {
			// The next trial counts the threads it starts with: this one must be gone by then.
			this.rescans.awaitTermination(5, TimeUnit.SECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
		this.registry.close();
	}

}
