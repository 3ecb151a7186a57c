package io.waterdrop;

import java.time.Duration;

/**
 * A synchronous call stopped waiting for a delivery report. The message may still be delivered later;
 * its report is still dispatched to listeners when it arrives. Thrown out of a transaction of the producer's
 * own (a block, or the one a synchronous send outside a transaction runs in), it rolls that transaction back,
 * and comes as the cause of a {@link TransactionFailedException} that says so.
 */
public class DeliveryTimeoutException extends WaterDropException {

	private static final long serialVersionUID = 1L;

	public DeliveryTimeoutException(Message message, Duration waited) {
		super("No delivery report for the message to '" + message.topic() + "' within " + waited
				+ "; it may still be delivered");
	}

}
