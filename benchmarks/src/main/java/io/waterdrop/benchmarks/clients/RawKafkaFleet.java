package io.waterdrop.benchmarks.clients;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Plain kafka-clients: {@code send} with the callback inline on the network thread. The transport's limit,
 * with no hand-off at all.
 */
final class RawKafkaFleet implements ProducerFleet {

	private final List<KafkaProducer<byte[], byte[]>> producers;

	private final String topic;

	RawKafkaFleet(List<Map<String, Object>> kafka, String topic) {
		this.producers = kafka.stream()
			.map((properties) -> new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer()))
			.toList();
		this.topic = topic;
	}

	@Override
	public int size() {
		return this.producers.size();
	}

	@Override
	public void sendAsync(int index, byte[] payload, DeliveryListener listener) {
		this.producers.get(index)
			.send(new ProducerRecord<>(this.topic, payload), (metadata, error) -> listener.delivered(error));
	}

	@Override
	public void sendSync(int index, byte[] payload) {
		try {
			this.producers.get(index).send(new ProducerRecord<>(this.topic, payload)).get();
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
		this.producers.forEach(KafkaProducer::close);
	}

}
