package io.waterdrop.benchmarks.clients;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import io.waterdrop.benchmarks.lean.LeanReport;
import io.waterdrop.benchmarks.lean.LeanReportQueue;
import io.waterdrop.benchmarks.lean.LeanSelectorThread;

/**
 * The lean hand-off: plain kafka-clients producers whose callbacks are {@link LeanReport}s, queued per
 * producer and dispatched by one {@link LeanSelectorThread} for the whole fleet. WaterDrop's fd design with
 * nothing else: the floor its fd mode is measured against.
 */
final class LeanHandoffFleet implements ProducerFleet {

	private final List<KafkaProducer<byte[], byte[]>> producers;

	private final List<LeanReportQueue> queues = new ArrayList<>();

	private final LeanSelectorThread selectorThread = new LeanSelectorThread("lean.selector");

	private final String topic;

	LeanHandoffFleet(List<Map<String, Object>> kafka, String topic) {
		this.producers = kafka.stream()
			.map((properties) -> new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer()))
			.toList();
		this.producers.forEach((producer) -> this.queues.add(this.selectorThread.newQueue()));
		this.selectorThread.start();
		this.topic = topic;
	}

	@Override
	public int size() {
		return this.producers.size();
	}

	@Override
	public void sendAsync(int index, byte[] payload, DeliveryListener listener) {
		this.producers.get(index)
			.send(new ProducerRecord<>(this.topic, payload), new LeanReport(this.queues.get(index), listener));
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
		this.selectorThread.close();
	}

}
