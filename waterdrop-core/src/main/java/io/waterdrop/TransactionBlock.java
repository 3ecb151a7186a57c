package io.waterdrop;

/**
 * The work of one transaction. Returning commits; throwing aborts (and {@link AbortTransaction} aborts
 * quietly).
 *
 * @param <T> what the block returns
 */
@FunctionalInterface
public interface TransactionBlock<T> {

	T run(Transaction transaction);

}
