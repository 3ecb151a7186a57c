package io.waterdrop;

/**
 * A synchronous call was interrupted while it waited for a delivery report; the thread keeps its interrupt flag.
 * The message is not recalled: unless Kafka has answered for it already, it may still be delivered, and its
 * report is still dispatched to listeners. Thrown out of a transaction block of the producer that sent the
 * message in that transaction (or out of the transaction a synchronous send outside one runs in), it rolls that
 * transaction back, and comes as the cause of a {@link TransactionFailedException} that says so, as a
 * {@link DeliveryTimeoutException} does. A Spring-managed transaction that rolls back because of it does the
 * same to the message, but the exception comes as it is.
 */
public class DeliveryInterruptedException extends WaterDropException {

	private static final long serialVersionUID = 1L;

	/** The message waited for: whose transaction a rollback takes it with. */
	private final transient Delivery delivery;

	DeliveryInterruptedException(Delivery delivery, boolean answered, InterruptedException cause) {
		super("Interrupted while waiting for the delivery report of a message to '" + delivery.message().topic()
				+ "'; " + (answered
						? "Kafka has answered for it, and its report is still dispatched (to its callback and "
								+ "listeners)"
						: "it was sent and may still be delivered (its report still comes, to listeners)"), cause);
		this.delivery = delivery;
	}

	/** Whether the message waited for was sent in the transaction of {@code transactions} open (or last begun). */
	boolean interruptedIn(Transactions transactions) {
		return this.delivery != null && this.delivery.sentInCurrent(transactions);
	}

}
