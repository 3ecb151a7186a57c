package io.waterdrop;

import java.time.Duration;

/**
 * A synchronous call stopped waiting for a delivery report. The message may still be delivered later;
 * its report is still dispatched to listeners when it arrives.
 */
public class DeliveryTimeoutException extends WaterDropException {

	private static final long serialVersionUID = 1L;

	public DeliveryTimeoutException(Message message, Duration waited) {
		super("No delivery report for the message to '" + message.topic() + "' within " + waited
				+ " (maxWaitTimeout); it may still be delivered");
	}

}
