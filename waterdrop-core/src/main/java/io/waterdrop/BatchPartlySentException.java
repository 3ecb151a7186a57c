package io.waterdrop;

import java.util.List;

/**
 * A batch ({@code produceMany*}, {@code flush*}) was refused part-way: the messages before the refused one
 * had been handed to Kafka already and cannot be taken back. {@link #sent()} holds their handles, in the
 * batch's order; each gets its one outcome as usual (on a transactional producer, the failed transaction's).
 * The cause is the refusal ({@link DeliveryFailedException} when Kafka's client refused the message,
 * {@link ProducerClosedException} when the producer closed meanwhile); nothing after the refused message was
 * sent. A batch refused before any message was sent throws the refusal itself.
 */
public class BatchPartlySentException extends WaterDropException {

	private static final long serialVersionUID = 1L;

	private final transient List<DeliveryHandle> sent;

	private final int batchSize;

	public BatchPartlySentException(String producerId, List<DeliveryHandle> sent, int batchSize,
			RuntimeException refusal) {
		super("Producer '" + producerId + "' sent " + sent.size() + " of a batch of " + batchSize
				+ " messages, then refused message " + (sent.size() + 1) + ": " + refusal.getMessage()
				+ ". The first " + sent.size() + " will be reported as usual (sent()); the rest were not sent", refusal);
		this.sent = List.copyOf(sent);
		this.batchSize = batchSize;
	}

	/** Handles of the messages sent before the refusal, in the batch's order. */
	public List<DeliveryHandle> sent() {
		return this.sent;
	}

	/** Messages in the refused batch, sent or not. */
	public int batchSize() {
		return this.batchSize;
	}

}
