package io.waterdrop;

/**
 * Where a producer is in its life: {@code CONFIGURED → CONNECTED → CLOSING → CLOSED}. Only a
 * {@code CONFIGURED} or {@code CONNECTED} producer accepts messages (the first one connects it).
 */
public enum ProducerStatus {

	/** Built; the Kafka client is not created yet. */
	CONFIGURED,

	/** The Kafka client exists and reports are being dispatched. */
	CONNECTED,

	/** Close began: no new messages; in-flight ones are finished and their reports dispatched. */
	CLOSING,

	/** Every report was dispatched; the client and polling resources are released. */
	CLOSED

}
