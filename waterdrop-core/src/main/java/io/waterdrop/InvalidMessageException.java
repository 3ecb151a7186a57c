package io.waterdrop;

/**
 * A message was refused before anything was queued. {@link #violation()} says which rule it broke; the
 * message text names the offending value.
 */
public class InvalidMessageException extends WaterDropException {

	private static final long serialVersionUID = 1L;

	/** The rule a refused message broke. */
	public enum Violation {

		/** No message at all. */
		MESSAGE_MISSING,

		/** Topic null or blank. */
		TOPIC_MISSING,

		/**
		 * Topic longer than 249 characters, "." or "..", with characters other than [a-zA-Z0-9._-], or one of
		 * Kafka's internal topics ({@code __consumer_offsets}, {@code __transaction_state}, ...), which the
		 * broker refuses to every client.
		 */
		TOPIC_ILLEGAL,

		/** Serialized payload larger than the producer's {@code maxPayloadSize}. */
		PAYLOAD_TOO_LARGE,

		/** Null payload (a tombstone) without a key. */
		TOMBSTONE_WITHOUT_KEY,

		/** Payload or key of a type the producer's serializer cannot write. */
		NOT_SERIALIZABLE,

		/**
		 * Partition below zero. (One beyond the topic's partitions goes to Kafka, which waits for the topic to
		 * have it, as after partitions were added, and fails the message after {@code max.block.ms}.)
		 */
		PARTITION_OUT_OF_RANGE,

		/** Both {@code partition} and {@code partitionKey} set. */
		PARTITION_CONFLICT,

		/** A header with a null key. */
		HEADER_KEY_MISSING,

		/** Timestamp before the epoch or beyond what Kafka can store. */
		TIMESTAMP_OUT_OF_RANGE,

		/**
		 * Key, payload and headers together larger than Kafka's client takes as one record
		 * ({@code max.request.size}, or {@code buffer.memory} if smaller): a large key or large headers, the
		 * headers a {@code DeliveryObserver} adds (a trace context) included.
		 */
		RECORD_TOO_LARGE

	}

	private final transient Message refused;

	private final Violation violation;

	public InvalidMessageException(Violation violation, Message refused, String description) {
		super(description);
		this.violation = violation;
		this.refused = refused;
	}

	/** The rule the message broke. */
	public Violation violation() {
		return this.violation;
	}

	/** The refused message. */
	public Message refused() {
		return this.refused;
	}

}
