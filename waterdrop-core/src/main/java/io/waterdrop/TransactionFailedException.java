package io.waterdrop;

/**
 * A transaction could not be committed and was rolled back (or, after a fatal error, the producer's client
 * was rebuilt): nothing of it is visible to {@code read_committed} consumers; unless it is a
 * {@link TransactionOutcomeUnknownException}, whose commit may have succeeded.
 */
public class TransactionFailedException extends WaterDropException {

	private static final long serialVersionUID = 1L;

	public TransactionFailedException(String description, Throwable cause) {
		super(description, cause);
	}

}
