package io.waterdrop.benchmarks.clients;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import io.waterdrop.benchmarks.support.ClientSettings;
import io.waterdrop.polling.PollingMode;

/**
 * The clients compared: raw kafka-clients (the transport's limit), the lean hand-off (the fd design's
 * floor), WaterDrop in each polling mode, spring-kafka's KafkaTemplate, and the production rows (WaterDrop
 * fd and KafkaTemplate with their Micrometer instrumentation on).
 */
public enum ClientKind {

	RAW_KAFKA("raw kafka-clients", "raw"),

	LEAN_HANDOFF("lean hand-off", "lean"),

	WATERDROP_FD("WaterDrop fd", "fd"),

	WATERDROP_THREAD("WaterDrop thread", "thread"),

	KAFKA_TEMPLATE("spring-kafka KafkaTemplate", "template"),

	WATERDROP_FD_METERED("WaterDrop fd + meters", "fd-metered"),

	/** fd mode with the slice rule off (min-time = max-time): what "no loss from yielding" is measured against. */
	WATERDROP_FD_NO_YIELD("WaterDrop fd, no yielding", "fd-no-yield"),

	KAFKA_TEMPLATE_OBSERVED("KafkaTemplate + observation", "template-observed");

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

	/** The client whose {@link #key()} this is. */
	public static ClientKind ofKey(String key) {
		for (ClientKind kind : values()) {
			if (kind.key.equals(key)) {
				return kind;
			}
		}
		throw new IllegalArgumentException("Unknown client '" + key + "'; known: "
				+ Arrays.stream(values()).map(ClientKind::key).collect(Collectors.joining(", ")));
	}

	/** The uninstrumented client a production row is compared with; {@code this} for a bare client. */
	public ClientKind bare() {
		return switch (this) {
			case WATERDROP_FD_METERED -> WATERDROP_FD;
			case KAFKA_TEMPLATE_OBSERVED -> KAFKA_TEMPLATE;
			default -> this;
		};
	}

	/** Whether this is a production row: a client with its Micrometer instrumentation on. */
	public boolean instrumented() {
		return bare() != this;
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
			case RAW_KAFKA -> new RawKafkaFleet(kafka, topic);
			case LEAN_HANDOFF -> new LeanHandoffFleet(kafka, topic);
			case WATERDROP_FD -> new WaterDropFleet(PollingMode.FD, kafka, topic, null);
			case WATERDROP_FD_NO_YIELD -> new WaterDropFleet(PollingMode.FD, kafka, topic, null, false);
			case WATERDROP_THREAD -> new WaterDropFleet(PollingMode.THREAD, kafka, topic, null);
			case KAFKA_TEMPLATE -> new KafkaTemplateFleet(kafka, topic, null);
			case WATERDROP_FD_METERED -> new WaterDropFleet(PollingMode.FD, kafka, topic, new ProductionMetrics());
			case KAFKA_TEMPLATE_OBSERVED -> new KafkaTemplateFleet(kafka, topic, new ProductionMetrics());
		};
	}

	@Override
	public String toString() {
		return this.label;
	}

}
