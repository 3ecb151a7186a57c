package io.waterdrop;

import java.util.List;

/**
 * A batch ({@code produceMany*}, {@code flush*}) was refused part-way: the messages before the refused one
 * had been handed to Kafka already and cannot be taken back. {@link #sent()} holds their handles, in the
 * batch's order; each gets its one outcome as usual. The cause is the refusal ({@link DeliveryFailedException}
 * when Kafka's client refused the message, {@link ProducerClosedException} when the producer closed
 * meanwhile); nothing after the refused message was sent. A batch refused before any message was sent throws
 * the refusal itself.
 * <p>
 * On a transactional producer the messages sent share their transaction's fate. A {@link Producer#transaction}
 * block that ends with this exception aborts, so the block throws the refusal instead (nothing of the batch
 * remains sent); so does a batch run in a transaction of its own (a {@code produceMany*} or {@code flush*}
 * outside a transaction). Inside a transaction that goes on (one bound to the thread, or a block that catches
 * this), the messages sent commit or abort with it.
 */
public class BatchPartlySentException extends WaterDropException {

	private static final long serialVersionUID = 1L;

	/** Not serialized: handles belong to the producer that sent them. */
	private final transient List<DeliveryHandle> sent;

	private final int batchSize;

	public BatchPartlySentException(String producerId, List<DeliveryHandle> sent, int batchSize,
			RuntimeException refusal) {
		super("Producer '" + producerId + "' sent " + sent.size() + " of a batch of " + batchSize
				+ " messages, then refused message " + (sent.size() + 1) + ": " + refusal.getMessage()
				+ ". The first " + sent.size() + " will be reported as usual (sent()); the rest were not sent",
				refusal);
		this.sent = List.copyOf(sent);
		this.batchSize = batchSize;
	}

	/** Handles of the messages sent before the refusal, in the batch's order; empty once deserialized. */
	public List<DeliveryHandle> sent() {
		return (this.sent != null) ? this.sent : List.of();
	}

	/** Messages in the refused batch, sent or not. */
	public int batchSize() {
		return this.batchSize;
	}

	/** Why the message after those sent was refused (the cause). */
	public RuntimeException refusal() {
		return (RuntimeException) getCause();
	}

}
