package io.waterdrop;

/**
 * Where a producer is in its life: {@code CONFIGURED → CONNECTED ⇄ DISCONNECTED → CLOSING → CLOSED}.
 * Only a {@code CONFIGURED}, {@code CONNECTED} or {@code DISCONNECTED} producer accepts messages (which
 * connect it).
 */
public enum ProducerStatus {

	/** Built; the Kafka client is not created yet. */
	CONFIGURED,

	/** The Kafka client exists and reports are being dispatched. */
	CONNECTED,

	/**
	 * Idle, with its Kafka client closed to save a network thread, sockets and buffer; the next message
	 * connects again.
	 */
	DISCONNECTED,

	/** Close began: no new messages; in-flight ones are finished and their reports dispatched. */
	CLOSING,

	/** Every report was dispatched; the client and polling resources are released. */
	CLOSED

}
