package io.waterdrop;

import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * A Kafka transaction begun with {@link Producer#beginTransaction()} and left open: every {@code produce*}
 * and {@code flush*} call on the producer from the thread that began it joins it (as inside a
 * {@link Producer#transaction transaction} block) until it is committed or aborted. For transaction managers,
 * such as Spring's, that begin a transaction in one call and end it in another.
 * <p>
 * The rules of {@link Producer#transaction} apply: one transaction at a time per producer (other threads
 * wait until this one ends, so end it in a {@code finally}), commit and abort retried on timeouts, the client
 * rebuilt after fatal errors that allow it.
 * <p>
 * Threading: the thread that began it produces into it and may {@link #suspend()}, {@link #resume()} and
 * {@link #markAsConsumed mark offsets}; any thread but a polling one may end it, once (Spring calls a
 * synchronization's {@code afterCompletion} on a JTA transaction manager's own thread when that rolls back
 * on a timeout). Once its end is claimed, as the commit or abort begins, what the owner produces no longer
 * joins it: it runs as outside a transaction, in one of its own or one its {@link TransactionJoiner} begins,
 * which waits until this one has ended. A message the owner is handing to Kafka at the very moment another
 * thread claims the end is taken into the transaction first (the claim waits for it) or refused unsent with
 * a {@link DeliveryFailedException}; a flush that joined it puts back what it had not sent.
 * <p>
 * A transaction manager whose inner scope sets the outer transaction aside (Spring's {@code REQUIRES_NEW}
 * and {@code NOT_SUPPORTED}) {@link #suspend() suspends} it for that scope: what the thread then produces on
 * the producer does not join it but is refused, since the producer cannot run another transaction while
 * this one is open. A transactional pool's member joined to it is given back on the thread that ends it.
 */
public final class BoundTransaction {

	private final Transactions transactions;

	private final Producer producer;

	private final Thread owner;

	/**
	 * The stage, open, then claimed by the one commit or abort let through (whichever thread calls it), then
	 * ended once that has given up the producer's turn; and the action to run after the end. Replaced whole.
	 *
	 * <pre>
	 * stage   | commit() or abort()      | end action set (a pool's hand-back, by the owner)
	 * open    | claimed, then ended      | kept: it runs once ended, on the ending thread
	 * claimed | IllegalStateException    | kept, as when open (the member stays with the ending transaction)
	 * ended   | IllegalStateException    | runs at once, on the owner
	 * </pre>
	 */
	private final AtomicReference<End> end = new AtomicReference<>(new End(Stage.OPEN, null));

	/** Set and cleared by the owner; read by the owner's work, which it then refuses. */
	private volatile boolean suspended;

	BoundTransaction(Transactions transactions, Producer producer, Thread owner) {
		this.transactions = transactions;
		this.producer = producer;
		this.owner = owner;
	}

	/** The producer whose transaction this is. */
	public Producer producer() {
		return this.producer;
	}

	/** Whether the transaction is still open: neither committed nor aborted (nor being so). */
	public boolean isOpen() {
		return this.end.get().stage() == Stage.OPEN;
	}

	/**
	 * Whether the calling thread is the one that began it, whose work joins it while it is open. Any thread;
	 * stays {@code true} for the owner after the end: check {@link #isOpen()}.
	 */
	public boolean isOwnedByCurrentThread() {
		return Thread.currentThread() == this.owner;
	}

	/**
	 * Commits (Kafka's {@code commitTransaction}, which first sends everything produced in it). Ends the
	 * transaction whatever happens: if Kafka refuses the commit, the transaction is aborted and a
	 * {@link TransactionFailedException} thrown ({@link TransactionOutcomeUnknownException} if it kept
	 * timing out).
	 * @throws IllegalStateException if the transaction is no longer open
	 * @throws IllegalCallerException if called on a thread that dispatches delivery reports
	 */
	public void commit() {
		claimEnd("commit");
		this.transactions.commitBound(this);
	}

	/**
	 * Aborts: nothing produced in the transaction becomes visible to {@code read_committed} consumers, and
	 * messages still in flight fail as purged. Ends the transaction whatever happens (a client that cannot
	 * abort is rebuilt where the settings allow it, which aborts on the broker).
	 * @throws IllegalStateException if the transaction is no longer open
	 * @throws IllegalCallerException if called on a thread that dispatches delivery reports
	 */
	public void abort() {
		claimEnd("abort");
		this.transactions.abortBound(this);
	}

	/** Whether the transaction is suspended: open, but taking no work. */
	public boolean isSuspended() {
		return isOpen() && this.suspended;
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
	}

	/**
	 * Ends a {@link #suspend()}: the thread's work joins the transaction again.
	 * @throws IllegalStateException if the transaction is no longer open or the caller is not the thread
	 * that began it
	 */
	public void resume() {
		checkOpenOnOwner("resume");
		this.suspended = false;
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

	/** Whether the owner's work is refused rather than joining. */
	boolean takesNoWork() {
		return this.suspended;
	}

	/**
	 * Runs {@code action} once the transaction has ended: after its end, on the thread that ends it (also when
	 * that thread is committing or aborting it now), or now, on this thread, if it has ended already. At most
	 * one.
	 */
	void whenEnded(Runnable action) {
		for (End now = this.end.get(); now.stage() != Stage.ENDED; now = this.end.get()) {
			if (now.afterEnd() != null) {
				throw new IllegalStateException(this + " has an end action already");
			}
			if (this.end.compareAndSet(now, new End(now.stage(), action))) {
				return;
			}
		}
		action.run();
	}

	/**
	 * The one claim of the end: refuses a transaction whose end was claimed already, and takes the transaction
	 * from its owner once the owner's sends under way are in Kafka (see {@link Transactions#claimBoundEnd}).
	 */
	private void claimEnd(String action) {
		this.producer.checkMayTransact(action + " a transaction");
		this.transactions.claimBoundEnd(() -> {
			End now;
			do {
				now = this.end.get();
				if (now.stage() != Stage.OPEN) {
					throw endedAlready(action);
				}
			}
			while (!this.end.compareAndSet(now, new End(Stage.CLAIMED, now.afterEnd())));
		});
	}

	/** The commit or abort has ended it and given up the turn: runs the end action, if any, on this thread. */
	void ended() {
		Runnable afterEnd = this.end.getAndSet(new End(Stage.ENDED, null)).afterEnd();
		if (afterEnd != null) {
			afterEnd.run();
		}
	}

	private void checkOpenOnOwner(String action) {
		if (!isOpen()) {
			throw endedAlready(action);
		}
		if (Thread.currentThread() != this.owner) {
			throw new IllegalStateException("Cannot " + action + " the transaction of producer '" + this.producer.id()
					+ "' on thread '" + Thread.currentThread().getName() + "': only the thread that began it, '"
					+ this.owner.getName() + "', may");
		}
	}

	private IllegalStateException endedAlready(String action) {
		return new IllegalStateException("Cannot " + action + " the transaction of producer '" + this.producer.id()
				+ "': it has ended already");
	}

	@Override
	public String toString() {
		Stage now = this.end.get().stage();
		return "BoundTransaction of producer '" + this.producer.id() + "' on thread '" + this.owner.getName() + "' ("
				+ ((now != Stage.OPEN) ? ((now == Stage.CLAIMED) ? "ending" : "ended")
						: (this.suspended ? "suspended" : "open"))
				+ ")";
	}

	private enum Stage {

		OPEN, CLAIMED, ENDED

	}

	private record End(Stage stage, Runnable afterEnd) {
	}

}
