package io.waterdrop.instrumentation;

import org.apache.kafka.clients.producer.ProducerRecord;

import io.waterdrop.DeliveryReport;
import io.waterdrop.Message;

/**
 * Observes each message from its send to its outcome, for tracing: {@link #beforeSend} may start a span and
 * write its context into the record's headers, {@link #afterOutcome} ends it. A producer has at most one
 * observer ({@code ProducerConfig.Builder#observer}); without one, the hot path does nothing for it.
 * <p>
 * Threading: {@code beforeSend} runs on the producing thread, just before the record is handed to Kafka;
 * {@code afterOutcome} runs once per sent message, on the polling thread when its report is dispatched, or
 * on the producing thread when Kafka refused the record; {@code openScope} and {@code closeScope} run in pairs
 * on one thread, around the send and around the delivery of the outcome. All must be quick and must not throw;
 * an exception is reported as {@code error.occurred} and otherwise ignored.
 */
public interface DeliveryObserver {

	/**
	 * A message is about to be sent as {@code record} (its headers may still be added to).
	 * @return what {@link #afterOutcome} gets back for this message, e.g. the started observation
	 */
	Object beforeSend(String producerId, Message message, ProducerRecord<byte[], byte[]> record);

	/**
	 * The message's outcome: {@code report} when acknowledged, else {@code error} (a delivery failure, a
	 * purge, or Kafka's refusal of the send).
	 */
	void afterOutcome(Object observation, DeliveryReport report, Throwable error);

	/**
	 * Makes the message's observation current on this thread (a tracing scope) until {@link #closeScope}:
	 * around Kafka's send on the producing thread, so that Kafka's interceptors and partitioner see it, and
	 * around the delivery of its outcome on the polling thread, so that its callback and its future's dependents
	 * do (their log lines carry its trace, as in a {@code KafkaTemplate}'s {@code whenComplete}).
	 * @param observation what {@link #beforeSend} returned
	 * @return what {@link #closeScope} gets back; {@code null} (the default) for no scope
	 */
	default Object openScope(Object observation) {
		return null;
	}

	/** Closes, on the same thread, the scope {@link #openScope} returned (never {@code null}). */
	default void closeScope(Object scope) {
	}

}
