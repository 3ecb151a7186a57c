package io.waterdrop.benchmarks.clients;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;

/**
 * spring-kafka's {@link KafkaTemplate}, one template (and so one shared Kafka producer) per producer, each
 * send's future completed on the network thread, as a Spring user would write it without WaterDrop.
 */
final class KafkaTemplateFleet implements ProducerFleet {

	private final List<DefaultKafkaProducerFactory<byte[], byte[]>> factories;

	private final List<KafkaTemplate<byte[], byte[]>> templates;

	private final String topic;

	KafkaTemplateFleet(List<Map<String, Object>> kafka, String topic) {
		this.factories = kafka.stream()
			.map((properties) -> new DefaultKafkaProducerFactory<>(properties, new ByteArraySerializer(),
					new ByteArraySerializer()))
			.toList();
		this.templates = this.factories.stream().map(KafkaTemplate::new).toList();
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
	}

}
