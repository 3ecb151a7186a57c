package io.waterdrop.autoconfigure.metrics;

import java.util.List;

import io.micrometer.core.instrument.MeterRegistry;

import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;
import io.waterdrop.autoconfigure.observation.WaterDropObservation.WaterDropLowCardinalityTags;
import io.waterdrop.instrumentation.micrometer.WaterDropMetrics;

/**
 * Binds WaterDrop's producer meters of each runtime producer ({@link WaterDropRuntimeProducers}) when it is
 * created, tagged with its name like a producer bean's. They are removed when it closes, as every producer's
 * meters are ({@link WaterDropMetrics}), so removing a runtime producer leaves none behind; Kafka's client
 * meters of its clients go when each client closes, and the meters its sends' observations made (Boot's
 * {@code DefaultMeterObservationHandler}: {@code waterdrop.send}, {@code waterdrop.send.active}, one per tag set)
 * go when it is removed, found by the {@code waterdrop.producer} tag of the default convention. A producer
 * created again under that name at that moment may see its first observations' meters started anew.
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

	@Override
	public void removed(String name, Producer producer) {
		String tag = WaterDropLowCardinalityTags.PRODUCER.asString();
		this.registry.getMeters()
			.stream()
			.filter((meter) -> name.equals(meter.getId().getTag(tag)))
			.toList()
			.forEach(this.registry::remove);
	}

}
