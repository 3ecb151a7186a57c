package io.waterdrop;

import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * A Kafka transaction begun with {@link Producer#beginTransaction()} and left open: every {@code produce*}
 * and {@code flush*} call on the producer from the thread that began it joins it (as inside a
 * {@link Producer#transaction transaction} block) until that thread calls {@link #commit()} or
 * {@link #abort()}. For transaction managers, such as Spring's, that begin a transaction in one call and
 * end it in another.
 * <p>
 * The rules of {@link Producer#transaction} apply: one transaction at a time per producer (other threads
 * wait until this one ends, so end it in a {@code finally}), commit and abort retried on timeouts, the client
 * rebuilt after fatal errors that allow it. Not thread-safe: only the thread that began it may end it.
 * <p>
 * A transaction manager whose inner scope sets the outer transaction aside (Spring's {@code REQUIRES_NEW}
 * and {@code NOT_SUPPORTED}) {@link #suspend() suspends} it for that scope: what the thread then produces on
 * the producer does not join it but is refused, since the producer cannot run another transaction while
 * this one is open.
 */
public final class BoundTransaction {

	private final Transactions transactions;

	private final Producer producer;

	private final Thread owner;

	private boolean open = true;

	private boolean suspended;

	BoundTransaction(Transactions transactions, Producer producer, Thread owner) {
		this.transactions = transactions;
		this.producer = producer;
		this.owner = owner;
	}

	/** The producer whose transaction this is. */
	public Producer producer() {
		return this.producer;
	}

	/** Whether the transaction is still open: neither committed nor aborted. */
	public boolean isOpen() {
		return this.open;
	}

	/**
	 * Commits (Kafka's {@code commitTransaction}, which first sends everything produced in it). Ends the
	 * transaction whatever happens: if Kafka refuses the commit, the transaction is aborted and a
	 * {@link TransactionFailedException} thrown (saying "outcome is unknown" if it kept timing out).
	 * @throws IllegalStateException if the transaction is no longer open or the caller is not the thread
	 * that began it
	 */
	public void commit() {
		checkOpenOnOwner("commit");
		this.open = false;
		this.transactions.commitBound();
	}

	/**
	 * Aborts: nothing produced in the transaction becomes visible to {@code read_committed} consumers, and
	 * messages still in flight fail as purged. Ends the transaction whatever happens (a client that cannot
	 * abort is rebuilt where the settings allow it, which aborts on the broker).
	 * @throws IllegalStateException if the transaction is no longer open or the caller is not the thread
	 * that began it
	 */
	public void abort() {
		checkOpenOnOwner("abort");
		this.open = false;
		this.transactions.abortBound();
	}

	/** Whether the transaction is suspended: open, but taking no work. */
	public boolean isSuspended() {
		return this.open && this.suspended;
	}

	/**
	 * Sets the transaction aside until {@link #resume()}: meanwhile every {@code produce*}, {@code flush*} and
	 * {@code transaction(...)} call on the producer from this thread throws {@code IllegalStateException}
	 * (nothing sent) instead of joining it. A commit or abort ends it suspended or not.
	 * @throws IllegalStateException if the transaction is no longer open or the caller is not the thread
	 * that began it
	 */
	public void suspend() {
		checkOpenOnOwner("suspend");
		this.suspended = true;
		this.transactions.suspendBound(true);
	}

	/**
	 * Ends a {@link #suspend()}: the thread's work joins the transaction again.
	 * @throws IllegalStateException if the transaction is no longer open or the caller is not the thread
	 * that began it
	 */
	public void resume() {
		checkOpenOnOwner("resume");
		this.suspended = false;
		this.transactions.suspendBound(false);
	}

	/**
	 * Commits consumer offsets with this transaction (consume-transform-produce): they count only if it
	 * commits.
	 * @throws IllegalStateException if the transaction has ended or is suspended, or the caller is not the
	 * thread that began it
	 */
	public void markAsConsumed(Map<TopicPartition, OffsetAndMetadata> offsets, ConsumerGroupMetadata group) {
		checkOpenOnOwner("mark offsets as consumed in");
		new Transaction(this.producer).markAsConsumed(offsets, group);
	}

	private void checkOpenOnOwner(String action) {
		if (!this.open) {
			throw new IllegalStateException("Cannot " + action + " the transaction of producer '" + this.producer.id()
					+ "': it has ended already");
		}
		if (Thread.currentThread() != this.owner) {
			throw new IllegalStateException("Cannot " + action + " the transaction of producer '" + this.producer.id()
					+ "' on thread '" + Thread.currentThread().getName() + "': only the thread that began it, '"
					+ this.owner.getName() + "', may end it");
		}
	}

	@Override
	public String toString() {
		return "BoundTransaction of producer '" + this.producer.id() + "' on thread '" + this.owner.getName() + "' ("
				+ (this.open ? (this.suspended ? "suspended" : "open") : "ended") + ")";
	}

}
