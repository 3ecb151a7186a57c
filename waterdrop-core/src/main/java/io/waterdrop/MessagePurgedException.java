package io.waterdrop;

import org.apache.kafka.common.errors.TransactionAbortedException;

/**
 * A message was removed undelivered on purpose: its transaction was aborted, or its producer purged what it
 * had not delivered ({@link Producer#purge()}, a forced close, a close whose wait ran out).
 */
public class MessagePurgedException extends DeliveryFailedException {

	private static final long serialVersionUID = 1L;

	public MessagePurgedException(String producerId, Message undelivered, Throwable cause) {
		super("Message to '" + undelivered.topic() + "' was purged undelivered: "
				+ ((cause instanceof TransactionAbortedException) ? "its transaction on producer '" + producerId
						+ "' was aborted"
						: "producer '" + producerId + "' purged what it had not delivered (purge(), or a close "
								+ "that did not wait for it)"),
				undelivered, cause);
	}

}
