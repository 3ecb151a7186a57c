package io.waterdrop;

/**
 * A message was not delivered. The cause is the exception Kafka reported (for example a
 * {@code TimeoutException} after {@code delivery.timeout.ms}).
 */
public class DeliveryFailedException extends WaterDropException {

	private static final long serialVersionUID = 1L;

	private final transient Message undelivered;

	public DeliveryFailedException(String description, Message undelivered, Throwable cause) {
		super(description, cause);
		this.undelivered = undelivered;
	}

	/** The message that was not delivered. */
	public Message undelivered() {
		return this.undelivered;
	}

	/** The message's label. */
	public Object label() {
		return (this.undelivered != null) ? this.undelivered.label() : null;
	}

}
