package io.waterdrop.autoconfigure.lifecycle;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.SmartLifecycle;

import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;

/**
 * Closes the context's runtime producers ({@link WaterDropRuntimeProducers}) when the context closes: in the
 * producers' phase ({@link ProducersLifecycle#PHASE}), at the same time as the producer beans, so after the
 * web server has drained its requests and before the Pollers are waited for. From then on no runtime producer
 * can be created. A stop that is not a close leaves them connected (the producer beans disconnect when idle).
 */
final class RuntimeProducersLifecycle implements SmartLifecycle {

	private static final Log logger = LogFactory.getLog(RuntimeProducersLifecycle.class);

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
			logger.debug("Context stopped but not closed: WaterDrop runtime producers stay connected");
			callback.run();
			return;
		}
		this.producers.closeAsync().whenComplete((result, ex) -> callback.run());
	}

	@Override
	public boolean isRunning() {
		return this.running;
	}

	/** Not pauseable, as the producer beans' lifecycle is not. */
	@Override
	public boolean isPauseable() {
		return false;
	}

	@Override
	public int getPhase() {
		return ProducersLifecycle.PHASE;
	}

}
