package io.waterdrop;

/**
 * Lets a transactional producer's work join a transaction managed outside WaterDrop, such as a Spring
 * transaction. Set with {@code ProducerConfig.Builder#transactionJoiner}.
 * <p>
 * Called on the calling thread when a {@code produce*} or {@code flush*} call, or
 * {@link Producer#transaction transaction(...)}, on a transactional producer finds no transaction of that
 * producer open on the thread. To have the work join an outer transaction, begin one with
 * {@link Producer#beginTransaction()}, arrange for the outer transaction to commit or abort it later (on
 * this thread or another), and return {@code true}; return {@code false} to let the producer run the work
 * in a transaction of its own, as without a joiner. An exception is thrown to the caller of the producer,
 * nothing sent.
 */
@FunctionalInterface
public interface TransactionJoiner {

	/**
	 * @param producer the transactional producer about to run a transaction of its own
	 * @return whether a transaction bound to the calling thread was begun for the work to join
	 */
	boolean joinOuterTransaction(Producer producer);

}
