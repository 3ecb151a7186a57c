package io.waterdrop;

import java.util.List;

/**
 * A batch ({@code produceMany*}, {@code flush*}) was refused part-way: its first messages had been handed to
 * Kafka already and cannot be taken back, the rest were not sent. {@link #sent()} holds the handles of those
 * sent, in the batch's order; each gets its one outcome as usual. The cause is the refusal
 * ({@link DeliveryFailedException} when Kafka's client refused a message, {@link InvalidMessageException}
 * for a message found invalid, {@link ProducerClosedException} when the producer closed meanwhile); the
 * message names the refused message's position when the refusal names a message. A batch refused before any
 * message was sent throws the refusal itself.
 * <p>
 * On a transactional producer the messages sent share their transaction's fate. A {@link Producer#transaction}
 * block that ends with this exception of its own producer aborts, so the block throws the refusal instead
 * (nothing of the batch remains sent; another producer's batch stays sent, and this exception is thrown); so
 * does a batch run in a transaction of its own (a {@code produceMany*} or {@code flush*} outside a
 * transaction). Inside a transaction that goes on (one bound to the thread, or a block that catches this), the
 * messages sent commit or abort with it.
 */
public class BatchPartlySentException extends WaterDropException {

	private static final long serialVersionUID = 1L;

	/** Not serialized: handles belong to the producer that sent them. */
	private final transient List<DeliveryHandle> sent;

	private final int batchSize;

	public BatchPartlySentException(String producerId, List<DeliveryHandle> sent, List<Message> batch,
			RuntimeException refusal) {
		super("Producer '" + producerId + "' sent " + sent.size() + " of a batch of " + batch.size()
				+ " messages, then refused " + refused(batch, refusal) + ": " + refusal.getMessage() + ". The first "
				+ sent.size() + " will be reported as usual (sent()); the rest were not sent", refusal);
		this.sent = List.copyOf(sent);
		this.batchSize = batch.size();
	}

	/** "message 3" when the refusal names a message of the batch, else "the rest". */
	private static String refused(List<Message> batch, RuntimeException refusal) {
		Message named = (refusal instanceof InvalidMessageException invalid) ? invalid.refused()
				: (refusal instanceof DeliveryFailedException failed) ? failed.undelivered() : null;
		for (int i = 0; named != null && i < batch.size(); i++) {
			if (batch.get(i) == named) {
				return "message " + (i + 1);
			}
		}
		return "the rest";
	}

	/** Handles of the messages sent before the refusal, in the batch's order; empty once deserialized. */
	public List<DeliveryHandle> sent() {
		return (this.sent != null) ? this.sent : List.of();
	}

	/** Messages in the refused batch, sent or not. */
	public int batchSize() {
		return this.batchSize;
	}

	/** Why the rest were not sent (the cause). */
	public RuntimeException refusal() {
		return (RuntimeException) getCause();
	}

}
