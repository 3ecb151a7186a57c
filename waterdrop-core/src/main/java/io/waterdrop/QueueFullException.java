package io.waterdrop;

import java.time.Duration;

/**
 * A message (or batch) was refused because its producer had too few free slots under {@code maxInFlight}
 * for it and not enough freed up in time (or waiting was off, or the caller is the polling thread, which
 * alone can free slots). Nothing was queued.
 */
public class QueueFullException extends WaterDropException {

	private static final long serialVersionUID = 1L;

	/** The batch could never fit: retrying it as it is cannot succeed. */
	private final boolean exceedsMaxInFlight;

	public QueueFullException(String producerId, int requested, long inFlight, int maxInFlight, Duration waited) {
		super("Producer '" + producerId + "' had no room for " + requested + " message(s): " + inFlight + " of its "
				+ maxInFlight + " slots (maxInFlight) were taken" + (waited.isZero() ? "" : " after waiting " + waited)
				+ "; refused, nothing was sent. Slow down, raise maxInFlight, or make delivery callbacks faster");
		this.exceedsMaxInFlight = false;
	}

	/** A batch larger than the producer can ever hold. */
	public QueueFullException(String producerId, int batchSize, int maxInFlight) {
		super("Producer '" + producerId + "' cannot take a batch of " + batchSize + " messages: maxInFlight is "
				+ maxInFlight + "; the batch was refused. Split it, or raise maxInFlight");
		this.exceedsMaxInFlight = true;
	}

	/**
	 * Whether the refused batch is larger than {@code maxInFlight}: unlike a full queue, this does not pass,
	 * so retrying the same batch is pointless.
	 */
	public boolean exceedsMaxInFlight() {
		return this.exceedsMaxInFlight;
	}

}
