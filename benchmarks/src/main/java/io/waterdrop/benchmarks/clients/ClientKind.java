package io.waterdrop.benchmarks.clients;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import io.waterdrop.benchmarks.support.ClientSettings;
import io.waterdrop.polling.PollingMode;

/** The client libraries compared: WaterDrop in each polling mode, and what a Java user would pick instead. */
public enum ClientKind {

	WATERDROP_THREAD("WaterDrop thread", "thread"),

	WATERDROP_FD("WaterDrop fd", "fd"),

	RAW_KAFKA("raw kafka-clients", "raw"),

	KAFKA_TEMPLATE("spring-kafka KafkaTemplate", "template");

	/** Keeps client ids unique within the JVM (Kafka registers an MBean per client id). */
	private static final AtomicInteger sequence = new AtomicInteger();

	private final String label;

	private final String key;

	ClientKind(String label, String key) {
		this.label = label;
		this.key = key;
	}

	public String label() {
		return this.label;
	}

	/** Short name for topics and client ids. */
	public String key() {
		return this.key;
	}

	/**
	 * Creates and connects {@code count} producers writing to {@code topic}.
	 * @param lingerMs {@code linger.ms}, or {@code null} for the client's default
	 */
	public ProducerFleet open(ClientSettings settings, int count, String topic, Integer lingerMs) {
		List<Map<String, Object>> kafka = new ArrayList<>();
		for (int i = 0; i < count; i++) {
			kafka.add(settings.producer("bench-" + this.key + "-" + sequence.incrementAndGet(), lingerMs));
		}
		return switch (this) {
			case WATERDROP_THREAD -> new WaterDropFleet(PollingMode.THREAD, kafka, topic);
			case WATERDROP_FD -> new WaterDropFleet(PollingMode.FD, kafka, topic);
			case RAW_KAFKA -> new RawKafkaFleet(kafka, topic);
			case KAFKA_TEMPLATE -> new KafkaTemplateFleet(kafka, topic);
		};
	}

	@Override
	public String toString() {
		return this.label;
	}

}
