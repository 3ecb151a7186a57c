package io.waterdrop;

import java.time.Duration;

/**
 * A synchronous call stopped waiting for a delivery report. The message may still be delivered later;
 * its report is still dispatched to listeners when it arrives. Thrown out of a transaction block of the
 * producer that sent the message in that transaction (or out of the transaction a synchronous send outside
 * one runs in), it rolls that transaction back, and comes as the cause of a {@link TransactionFailedException}
 * that says so. A Spring-managed transaction that rolls back because of it does the same to the message, but
 * the exception comes as it is.
 */
public class DeliveryTimeoutException extends WaterDropException {

	private static final long serialVersionUID = 1L;

	/** The message waited for, when WaterDrop threw this: whose transaction a rollback takes it with. */
	private final transient Delivery delivery;

	public DeliveryTimeoutException(Message message, Duration waited) {
		super("No delivery report for the message to '" + message.topic() + "' within " + waited
				+ "; it may still be delivered");
		this.delivery = null;
	}

	DeliveryTimeoutException(Delivery delivery, Duration waited, boolean answered) {
		super("No delivery report for the message to '" + delivery.message().topic() + "' within " + waited
				+ (answered ? "; Kafka has answered for it, and its report is still dispatched (to its callback and "
						+ "listeners)" : "; it may still be delivered"));
		this.delivery = delivery;
	}

	/** Whether the message timed out was sent in the transaction of {@code transactions} open (or last begun). */
	boolean timedOutIn(Transactions transactions) {
		return this.delivery != null && this.delivery.sentInCurrent(transactions);
	}

}
