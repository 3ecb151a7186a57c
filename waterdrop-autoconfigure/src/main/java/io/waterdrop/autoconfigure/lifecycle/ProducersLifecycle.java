package io.waterdrop.autoconfigure.lifecycle;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.context.SmartLifecycle;

import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.WaterDropProducers;
import io.waterdrop.autoconfigure.WaterDropProperties;
import io.waterdrop.autoconfigure.WaterDropProperties.ProducerProperties;

/**
 * Connects every producer of {@link WaterDropProducers} on start and closes them on stop.
 * <p>
 * Phase {@link #PHASE}: started before and stopped after the web server (Boot's graceful shutdown runs in
 * {@code DEFAULT_PHASE - 1024}, the web server in {@code DEFAULT_PHASE - 2048}), so requests being drained
 * can still produce; stopped before the Pollers ({@link PollersLifecycle#PHASE}).
 * <p>
 * Threading: stopping closes all producers at once, each on a thread of its own named
 * {@code waterdrop.close-<name>}, and reports completion through the lifecycle callback, so that one slow
 * producer does not add its close timeout to the others'. A closed producer cannot be started again.
 */
final class ProducersLifecycle implements SmartLifecycle {

	static final int PHASE = DEFAULT_PHASE - 4096;

	private static final Log logger = LogFactory.getLog(ProducersLifecycle.class);

	private final WaterDropProducers producers;

	private final WaterDropProperties properties;

	private volatile boolean running;

	ProducersLifecycle(WaterDropProducers producers, WaterDropProperties properties) {
		this.producers = producers;
		this.properties = properties;
	}

	@Override
	public void start() {
		this.producers.asMap().values().forEach(Producer::connect);
		this.running = true;
	}

	@Override
	public void stop() {
		closeAll().join();
	}

	@Override
	public void stop(Runnable callback) {
		closeAll().whenComplete((result, ex) -> callback.run());
	}

	private CompletableFuture<Void> closeAll() {
		this.running = false;
		List<CompletableFuture<Void>> closes = new ArrayList<>();
		this.producers.asMap().forEach((name, producer) -> {
			CompletableFuture<Void> closed = new CompletableFuture<>();
			Thread closer = new Thread(() -> close(name, producer, closed), "waterdrop.close-" + name);
			closer.start();
			closes.add(closed);
		});
		return CompletableFuture.allOf(closes.toArray(CompletableFuture[]::new));
	}

	private void close(String name, Producer producer, CompletableFuture<Void> closed) {
		try {
			producer.close(closeTimeout(name));
		}
		catch (RuntimeException ex) {
			logger.warn("Closing WaterDrop producer '" + name + "' failed", ex);
		}
		finally {
			closed.complete(null);
		}
	}

	private Duration closeTimeout(String name) {
		ProducerProperties own = this.properties.getProducers().get(name);
		return (own != null && own.getCloseTimeout() != null) ? own.getCloseTimeout()
				: this.properties.getCloseTimeout();
	}

	@Override
	public boolean isRunning() {
		return this.running;
	}

	@Override
	public int getPhase() {
		return PHASE;
	}

}
