package io.waterdrop;

/**
 * A transaction's commit did not finish: it kept timing out, or the producer closed its client while the
 * commit was under way. The transaction may have been committed or not; {@code read_committed} consumers
 * will see all of it or none. Sending its messages again may duplicate them, so a flush does not put them
 * back into the buffer.
 */
public class TransactionOutcomeUnknownException extends TransactionFailedException {

	private static final long serialVersionUID = 1L;

	public TransactionOutcomeUnknownException(String description, Throwable cause) {
		super(description, cause);
	}

}
