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
 * on the polling thread, around the delivery of the outcome. All must be quick and must not throw; an
 * exception is reported as {@code error.occurred} and otherwise ignored.
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
	 * Makes the message's observation current on the polling thread (a tracing scope) while its outcome is
	 * delivered, until {@link #closeScope}: its callback and its future's dependents see it (their log lines
	 * carry its trace, as in a {@code KafkaTemplate}'s {@code whenComplete}). Closed before
	 * {@link #afterOutcome}. Not around Kafka's send: a client that calls back inside {@code send} (an early
	 * error, an in-memory client) would have the outcome dispatched, and the observation stopped, while the
	 * producing thread still had its scope open.
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
