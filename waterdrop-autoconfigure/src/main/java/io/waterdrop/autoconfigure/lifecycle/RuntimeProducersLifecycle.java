package io.waterdrop.autoconfigure.lifecycle;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.SmartLifecycle;

import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;

/**
 * Drains the context's runtime producers ({@link WaterDropRuntimeProducers}) when the context closes
 * ({@link ProducerDrains}): in the producers' phase ({@link ProducersLifecycle#PHASE}), at the same time as
 * the producer beans, so after the web server has drained its requests. They are closed when the context
 * destroys the {@code WaterDropRuntimeProducers} bean, before the Pollers are waited for. A stop that is not
 * a close ({@code context.stop()}, {@code restart()}, the pause of a cached test context) disconnects each
 * idle one, as it does the producer beans: its Kafka client and its hold on a {@code transactional.id} go,
 * and its next message connects it again.
 */
final class RuntimeProducersLifecycle implements SmartLifecycle {

	private final ConfigurableApplicationContext context;

	private final WaterDropRuntimeProducers producers;

	private volatile boolean running;

	RuntimeProducersLifecycle(ConfigurableApplicationContext context, WaterDropRuntimeProducers producers) {
		this.context = context;
		this.producers = producers;
	}

	@Override
	public void start() {
		this.running = true;
	}

	@Override
	public void stop() {
		stop(() -> {
		});
	}

	@Override
	public void stop(Runnable callback) {
		this.running = false;
		if (!this.context.isClosed()) {
			// context.stop(), restart() or a test context's pause: as the producer beans, idle ones disconnect.
			this.producers.asMap().forEach(ProducersLifecycle::disconnectIfIdle);
			callback.run();
			return;
		}
		ProducerDrains.drainAll(this.producers.asMap(), this.producers::closeTimeout)
			.whenComplete((result, ex) -> callback.run());
	}

	@Override
	public boolean isRunning() {
		return this.running;
	}

	@Override
	public int getPhase() {
		return ProducersLifecycle.PHASE;
	}

}
