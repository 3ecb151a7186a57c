package io.waterdrop.instrumentation;

/**
 * What failed, in an {@link ProducerEvent.ErrorOccurred} event. {@link #id()} is the dotted name
 * WaterDrop uses for the {@code type} of {@code error.occurred}.
 */
public enum ErrorType {

	/** {@code produceSync} failed (refused, timed out or not delivered). */
	MESSAGE_PRODUCE_SYNC("message.produce_sync"),

	/** {@code produceAsync} was refused. */
	MESSAGE_PRODUCE_ASYNC("message.produce_async"),

	/** {@code produceManySync} failed. */
	MESSAGES_PRODUCE_MANY_SYNC("messages.produce_many_sync"),

	/** {@code produceManyAsync} was refused. */
	MESSAGES_PRODUCE_MANY_ASYNC("messages.produce_many_async"),

	/** The broker (or the client) reported that a message was not delivered. */
	DELIVERY("message.delivery"),

	/** {@code flushSync} left undelivered messages in the buffer. */
	BUFFER_FLUSH_SYNC("buffer.flush_sync"),

	/** {@code flushAsync} was refused; the messages stay buffered. */
	BUFFER_FLUSH_ASYNC("buffer.flush_async"),

	/** A transaction could not be committed. */
	TRANSACTION_COMMIT("transaction.commit"),

	/** A transaction could not be aborted. */
	TRANSACTION_ABORT("transaction.abort"),

	/**
	 * Connecting failed: the Kafka client could not be created (a transactional one's
	 * {@code initTransactions} timed out, say); the producer stays as it was, and the message that asked for
	 * the connect is refused with the error (a relayed one fails with it).
	 */
	PRODUCER_CONNECT("producer.connect"),

	/** The client hit a fatal error (fenced, ...) and was rebuilt, or could not be. */
	PRODUCER_RELOAD("producer.reload"),

	/** Code run while dispatching a delivery report threw: a handle callback. */
	CALLBACK("callbacks.delivery.error"),

	/** An event listener threw. */
	LISTENER("callbacks.listener.error"),

	/** Collecting statistics failed. */
	STATISTICS("statistics.emitted"),

	/** The Poller loop failed; see {@link PollerEvent.LoopError}. */
	POLLER_LOOP("poller.polling_loop"),

	/** Closing the producer failed or timed out. */
	PRODUCER_CLOSE("producer.close");

	private final String id;

	ErrorType(String id) {
		this.id = id;
	}

	/** Dotted WaterDrop name of the error type. */
	public String id() {
		return this.id;
	}

}
