package io.waterdrop.autoconfigure.observation;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.jspecify.annotations.Nullable;

import org.springframework.kafka.support.micrometer.KafkaRecordSenderContext;

import io.waterdrop.DeliveryReport;
import io.waterdrop.Message;

/**
 * The context of one message's {@code waterdrop.send} observation: spring-kafka's
 * {@link KafkaRecordSenderContext} (so tracing handlers propagate into the record's headers exactly as for
 * {@code KafkaTemplate}; its bean name is the producer's name), plus the WaterDrop producer, the Poller or
 * dispatch thread serving it, the message, and its delivery report once acknowledged.
 */
public class WaterDropSenderContext extends KafkaRecordSenderContext {

	private final String producerName;

	private final String pollerName;

	private final Message message;

	private volatile @Nullable DeliveryReport report;

	public WaterDropSenderContext(ProducerRecord<?, ?> record, String producerName, String pollerName,
			Message message) {
		super(record, producerName, () -> null);
		this.producerName = producerName;
		this.pollerName = pollerName;
		this.message = message;
	}

	/** Name of the WaterDrop producer (its bean name and id). */
	public String getProducerName() {
		return this.producerName;
	}

	/** Name of the Poller, or of the dispatch thread in thread mode, serving the producer. */
	public String getPollerName() {
		return this.pollerName;
	}

	/** The message as produced (after the middleware). */
	public Message getMessage() {
		return this.message;
	}

	/** Where the broker stored the message; {@code null} until acknowledged, and if it failed. */
	public @Nullable DeliveryReport getReport() {
		return this.report;
	}

	void setReport(@Nullable DeliveryReport report) {
		this.report = report;
	}

}
