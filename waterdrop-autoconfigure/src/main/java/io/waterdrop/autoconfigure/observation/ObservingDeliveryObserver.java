package io.waterdrop.autoconfigure.observation;

import java.util.function.Supplier;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.jspecify.annotations.Nullable;

import io.waterdrop.DeliveryReport;
import io.waterdrop.Message;
import io.waterdrop.instrumentation.DeliveryObserver;

/**
 * Starts a {@code waterdrop.send} observation for each message on the producing thread just before Kafka's
 * send (its parent is the observation current there, so a trace continues; tracing handlers write the
 * context into the record's headers when it starts), and stops it when the delivery report is dispatched on
 * the polling thread, with the error on failure. Its scope is open around the delivery of the outcome (the
 * callback, the future's dependents), as {@code KafkaTemplate}'s is around its future's completion.
 */
final class ObservingDeliveryObserver implements DeliveryObserver {

	private final ObservationRegistry registry;

	private final @Nullable WaterDropObservationConvention convention;

	private final String producerName;

	private final Supplier<String> pollerName;

	ObservingDeliveryObserver(ObservationRegistry registry, @Nullable WaterDropObservationConvention convention,
			String producerName, Supplier<String> pollerName) {
		this.registry = registry;
		this.convention = convention;
		this.producerName = producerName;
		this.pollerName = pollerName;
	}

	@Override
	public Object beforeSend(String producerId, Message message, ProducerRecord<byte[], byte[]> record) {
		WaterDropSenderContext context = new WaterDropSenderContext(record, this.producerName, this.pollerName.get(),
				message);
		return WaterDropObservation.SEND
			.observation(this.convention, DefaultWaterDropObservationConvention.INSTANCE, () -> context, this.registry)
			.start();
	}

	@Override
	public void afterOutcome(Object observation, DeliveryReport report, Throwable error) {
		if (!(observation instanceof Observation started)) {
			return;
		}
		if (started.getContext() instanceof WaterDropSenderContext context) {
			context.setReport(report);
		}
		if (error != null) {
			started.error(error);
		}
		started.stop();
	}

	@Override
	public Object openScope(Object observation) {
		return (observation instanceof Observation started) ? started.openScope() : null;
	}

	@Override
	public void closeScope(Object scope) {
		((Observation.Scope) scope).close();
	}

}
