package io.waterdrop.autoconfigure.metrics;

import java.util.List;

import io.micrometer.core.instrument.MeterRegistry;

import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;
import io.waterdrop.instrumentation.micrometer.WaterDropMetrics;

/**
 * Binds WaterDrop's producer meters of each runtime producer ({@link WaterDropRuntimeProducers}) when it is
 * created, tagged with its name like a producer bean's. They are removed when it closes, as every producer's
 * meters are ({@link WaterDropMetrics}), so removing a runtime producer leaves none behind; Kafka's client
 * meters of its clients go when each client closes.
 */
final class RuntimeProducerMetrics implements WaterDropRuntimeProducers.Listener {

	private final MeterRegistry registry;

	RuntimeProducerMetrics(MeterRegistry registry) {
		this.registry = registry;
	}

	@Override
	public void added(String name, Producer producer) {
		new WaterDropMetrics(List.of(producer), List.of()).bindTo(this.registry);
	}

}
