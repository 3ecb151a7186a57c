package io.waterdrop.autoconfigure.transaction;

import org.jspecify.annotations.Nullable;

import org.springframework.transaction.support.ResourceHolderSupport;

import io.waterdrop.BoundTransaction;

/**
 * The Kafka transaction of a producer bound to a Spring transaction, kept as the transaction resource
 * under the producer as key (as spring-kafka keeps a {@code KafkaResourceHolder} under its producer
 * factory). Over a test's mock in the producer's place there is no Kafka transaction ({@link #forMock()}): the
 * holder is open until committed or aborted, so that Spring scopes join and nest as they would, and does
 * nothing else.
 */
final class ProducerTransactionHolder extends ResourceHolderSupport {

	private final @Nullable BoundTransaction transaction;

	/** A mock's: open until its commit or abort. */
	private boolean mockOpen;

	ProducerTransactionHolder(BoundTransaction transaction) {
		this.transaction = transaction;
	}

	private ProducerTransactionHolder() {
		this.transaction = null;
		this.mockOpen = true;
	}

	/** The holder of a Spring transaction over a test's mock: no Kafka transaction. */
	static ProducerTransactionHolder forMock() {
		return new ProducerTransactionHolder();
	}

	boolean isTransactionOpen() {
		return (this.transaction != null) ? this.transaction.isOpen() : this.mockOpen;
	}

	/** Commits if still open (an earlier failure ended it already). */
	void commit() {
		if (this.transaction == null) {
			this.mockOpen = false;
		}
		else if (this.transaction.isOpen()) {
			this.transaction.commit();
		}
	}

	/** Sets the open Kafka transaction aside while an inner Spring scope suspends the outer one. */
	void suspend() {
		if (this.transaction != null && this.transaction.isOpen()) {
			this.transaction.suspend();
		}
	}

	/**
	 * Stops the Kafka transaction taking work once the Spring transaction will not commit it. On the thread
	 * that began it, it is suspended until its abort after the other synchronizations; on another thread (a
	 * JTA transaction manager's, rolling back on a timeout) it is aborted at once: the synchronizations
	 * running there produce as that thread, which must not wait for the turn this transaction holds.
	 */
	void refuseWork() {
		if (this.transaction != null && this.transaction.isOpen()) {
			if (this.transaction.isOwnedByCurrentThread()) {
				this.transaction.suspend();
			}
			else {
				this.transaction.abort();
			}
		}
	}

	/** Lets the thread's work join the Kafka transaction again when the outer Spring scope resumes. */
	void resume() {
		if (this.transaction != null && this.transaction.isOpen()) {
			this.transaction.resume();
		}
	}

	/** Aborts if still open. */
	void abort() {
		if (this.transaction == null) {
			this.mockOpen = false;
		}
		else if (this.transaction.isOpen()) {
			this.transaction.abort();
		}
	}

}
