package io.waterdrop;

/** A message was refused because its producer is closing or closed. Nothing was queued. */
public class ProducerClosedException extends WaterDropException {

	private static final long serialVersionUID = 1L;

	public ProducerClosedException(String producerId, ProducerStatus status) {
		super("Producer '" + producerId + "' is " + status.name().toLowerCase(java.util.Locale.ROOT)
				+ " and accepts no more messages");
	}

}
