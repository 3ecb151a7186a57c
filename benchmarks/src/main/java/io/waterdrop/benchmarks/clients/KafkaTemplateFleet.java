package io.waterdrop.benchmarks.clients;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;

/**
 * spring-kafka's {@link KafkaTemplate}, one template (and so one shared Kafka producer) per producer, each
 * send's future completed on the network thread, as a Spring user would write it without WaterDrop. With
 * {@link ProductionMetrics}, as Boot sets it up with observability on: a {@code MicrometerProducerListener}
 * on the factory (Kafka's client meters) and the template's observation of every send.
 */
final class KafkaTemplateFleet implements ProducerFleet {

	private final List<DefaultKafkaProducerFactory<byte[], byte[]>> factories;

	private final List<KafkaTemplate<byte[], byte[]>> templates;

	private final ProductionMetrics metrics;

	private final String topic;

	/** @param metrics the instrumentation to turn on, or {@code null} for bare templates */
	KafkaTemplateFleet(List<Map<String, Object>> kafka, String topic, ProductionMetrics metrics) {
		this.factories = kafka.stream().map((properties) -> {
			DefaultKafkaProducerFactory<byte[], byte[]> factory = new DefaultKafkaProducerFactory<>(properties,
					new ByteArraySerializer(), new ByteArraySerializer());
			if (metrics != null) {
				factory.addListener(metrics.producerListener());
			}
			return factory;
		}).toList();
		this.templates = this.factories.stream().map((factory) -> {
			KafkaTemplate<byte[], byte[]> template = new KafkaTemplate<>(factory);
			if (metrics != null) {
				template.setObservationEnabled(true);
				template.setObservationRegistry(metrics.observations());
			}
			return template;
		}).toList();
		this.metrics = metrics;
		this.topic = topic;
	}

	@Override
	public int size() {
		return this.templates.size();
	}

	@Override
	public void sendAsync(int index, byte[] payload, DeliveryListener listener) {
		this.templates.get(index).send(this.topic, payload).whenComplete((result, error) -> listener.delivered(error));
	}

	@Override
	public void sendSync(int index, byte[] payload) {
		try {
			this.templates.get(index).send(this.topic, payload).get();
		}
		catch (ExecutionException ex) {
			throw new IllegalStateException("Delivery failed", ex.getCause());
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted while waiting for a delivery", ex);
		}
	}

	@Override
	public void close() {
		this.factories.forEach(DefaultKafkaProducerFactory::destroy);
		if (this.metrics != null) {
			this.metrics.close();
		}
	}

}
