package io.waterdrop.autoconfigure.observation;

import io.micrometer.common.KeyValues;

import org.springframework.kafka.support.micrometer.KafkaTemplateObservation.TemplateLowCardinalityTags;

import io.waterdrop.autoconfigure.observation.WaterDropObservation.WaterDropLowCardinalityTags;

/**
 * The default {@link WaterDropObservationConvention}: observation {@code waterdrop.send}, contextual name
 * {@code "<topic> send"}, and as low-cardinality key values those of spring-kafka's {@code KafkaTemplate}
 * observation ({@code spring.kafka.template.name} holding the producer's name, {@code messaging.system},
 * {@code messaging.operation}, {@code messaging.destination.kind}, {@code messaging.destination.name}) plus
 * {@code waterdrop.producer} and {@code waterdrop.poller}.
 * <p>
 * The name differs from {@code KafkaTemplate}'s ({@code spring.kafka.template}) on purpose: its meters have
 * more tag keys, and a meter name with two tag sets (a template and a WaterDrop producer in one application)
 * is refused by Prometheus.
 */
public class DefaultWaterDropObservationConvention implements WaterDropObservationConvention {

	/** A shared instance. */
	public static final DefaultWaterDropObservationConvention INSTANCE = new DefaultWaterDropObservationConvention();

	@Override
	public String getName() {
		return WaterDropObservation.SEND.getName();
	}

	@Override
	public String getContextualName(WaterDropSenderContext context) {
		return context.getDestination() + " send";
	}

	@Override
	public KeyValues getLowCardinalityKeyValues(WaterDropSenderContext context) {
		return KeyValues.of(TemplateLowCardinalityTags.BEAN_NAME.withValue(context.getProducerName()),
				TemplateLowCardinalityTags.MESSAGING_SYSTEM.withValue("kafka"),
				TemplateLowCardinalityTags.MESSAGING_OPERATION.withValue("publish"),
				TemplateLowCardinalityTags.MESSAGING_DESTINATION_KIND.withValue("topic"),
				TemplateLowCardinalityTags.MESSAGING_DESTINATION_NAME.withValue(context.getDestination()),
				WaterDropLowCardinalityTags.PRODUCER.withValue(context.getProducerName()),
				WaterDropLowCardinalityTags.POLLER.withValue(context.getPollerName()));
	}

}
