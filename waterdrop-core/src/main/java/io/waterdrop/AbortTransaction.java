package io.waterdrop;

/**
 * Thrown inside a {@link Producer#transaction transaction} block to roll the transaction back quietly: the
 * transaction is aborted and {@code transaction} returns {@code null} instead of rethrowing.
 */
public final class AbortTransaction extends RuntimeException {

	private static final long serialVersionUID = 1L;

	public AbortTransaction() {
		super("Transaction aborted on request", null, false, false);
	}

}
