package io.waterdrop;

/** A message was removed undelivered because its producer was closed forcefully. */
public class MessagePurgedException extends DeliveryFailedException {

	private static final long serialVersionUID = 1L;

	public MessagePurgedException(String producerId, Message undelivered, Throwable cause) {
		super("Message to '" + undelivered.topic() + "' was purged undelivered: producer '" + producerId
				+ "' was closed forcefully", undelivered, cause);
	}

}
