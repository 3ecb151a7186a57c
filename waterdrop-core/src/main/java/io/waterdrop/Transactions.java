package io.waterdrop;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.InvalidPidMappingException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.apache.kafka.common.errors.UnsupportedVersionException;

import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.ProducerEvent;

/**
 * A producer's transactions: creating a transactional client, running blocks one after another, commit,
 * abort, and rebuilding the client after a fatal error, which Kafka's client cannot recover from.
 * <p>
 * What Kafka's {@code TransactionManager} does and how this class answers it:
 * <ul>
 * <li>A commit or abort that times out (or is interrupted) must be retried as the same call; any other
 * transactional call throws {@code IllegalStateException} until then. So a timed-out command is retried up
 * to {@code maxAttemptsOnTransactionCommand} times; a commit still unfinished then has an unknown outcome
 * (it may have landed): the client is rebuilt and the caller told so.</li>
 * <li>Fatal errors (fenced, cluster or transactional-id authorization, unsupported version, ...) poison the
 * client: it is rebuilt (build the new one, swap, then close the old one, so a failed build leaves a pending
 * rebuild instead of a closed client), unless the error is in {@code nonReloadableErrors} — by default
 * fencing, because a rebuilt instance would fence the newer one in turn. Rebuilds after fatal errors in a row
 * are capped at {@code maxReloadAttempts}, {@code reloadBackoff} apart; those after a command that timed out
 * are not counted.</li>
 * </ul>
 * Threading: a fair turn admits one transaction at a time, in arrival order; the thread holding it may open
 * nested transactions, which join the open one. A {@link BoundTransaction} holds the turn from
 * {@link #beginBound()} until its commit or abort, which another thread may call: so the turn is a semaphore
 * with its holder beside it, not a lock only its owner may release. A {@link TransactionJoiner} may begin a
 * bound one when work finds no transaction open on its thread. The claim of a bound transaction's end takes
 * it from its owner at once, before the commit or abort, behind a send gate: a record or offsets commit
 * enters the open transaction only from the thread holding it, under the gate's read lock, and the claim
 * takes the write lock. So the owner's later work waits for the turn instead of joining a transaction being
 * ended, and what it is told was refused is in no transaction (Kafka appends a record before it checks the
 * transaction's state, so a record refused by a commit under way would be committed). The client is replaced
 * only during a turn, and the fields below are written during a turn, by its holder or by the thread that ends
 * its bound transaction; they are volatile because that thread need not be the one that wrote them when it
 * began.
 */
final class Transactions {

	/** What {@link #runJoined} returns when no transaction was open on the thread to join. */
	static final Object NOT_JOINED = new Object();

	private final Producer producer;

	private final boolean enabled;

	private final Semaphore turn = new Semaphore(1, true);

	/**
	 * The thread whose transaction is open: it took the turn, and its work joins the transaction. {@code null}
	 * once another thread claimed the end of its bound transaction, which holds the turn until it has ended.
	 */
	private volatile Thread holder;

	/**
	 * The send gate: a send into the open transaction holds the read lock (uncontended: only the holder sends),
	 * the claim of a bound transaction's end the write lock. Never held while waiting for the turn.
	 */
	private final ReentrantReadWriteLock sends = new ReentrantReadWriteLock();

	/**
	 * The threads running a block that {@link #runJoined} joined to their open transaction (a pool's member's):
	 * work in it whose transaction another thread ended is refused, not run in a new transaction on the member,
	 * which that thread gives back to the pool. Per thread, not one field: once that other thread gave the member
	 * back, the next borrower's joined block runs while the first one's still does. Each thread adds and removes
	 * only itself.
	 */
	private final Set<Thread> joinedBlocks = ConcurrentHashMap.newKeySet();

	/** Why the client must be rebuilt before the next transaction; {@code null} when it is usable. */
	private volatile Throwable pendingReload;

	/** Rebuilds since the last committed transaction. */
	private volatile int reloadsInARow;

	/** The bound transaction open now ({@link #beginBound}); {@code null} while none or a {@link #run} block's is. */
	private volatile BoundTransaction bound;

	/** How many transactions began on this producer: the number of the one open (see {@link #current()}). */
	private volatile int begun;

	/**
	 * What a nested block threw (its {@link AbortTransaction} too) in the {@link #run} block open now, first
	 * one only: that block's transaction is rolled back even if it caught the exception and returned. Only the
	 * thread holding the turn reads and writes it.
	 */
	private Throwable nestedFailure;

	/** Whether these are {@code producer}'s transactions (not those of the producer it was copied from). */
	boolean isOf(Producer producer) {
		return this.producer == producer;
	}

	Transactions(Producer producer) {
		this.producer = producer;
		this.enabled = producer.config().kafka().containsKey(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
	}

	boolean enabled() {
		return this.enabled;
	}

	/** Whether any thread runs a transaction now. */
	boolean isOpen() {
		return this.turn.availablePermits() == 0;
	}

	boolean isOpenOnThisThread() {
		return this.holder == Thread.currentThread();
	}

	/** Whether the transaction open on this thread is a bound one (which goes on after the work in it). */
	boolean runsBound() {
		return isOpenOnThisThread() && this.bound != null;
	}

	/**
	 * Waits for the turn, in arrival order, at most {@code maxWaitTimeout}.
	 * @throws TransactionWaitTimeoutException if another thread's transaction stayed open that long
	 */
	private void takeTurn() {
		Duration timeout = this.producer.config().maxWaitTimeout();
		try {
			if (!this.turn.tryAcquire(Timeouts.nanos(timeout), TimeUnit.NANOSECONDS)) {
				throw new TransactionWaitTimeoutException(this.producer.id(), timeout);
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new WaterDropException("Interrupted while waiting for its turn to run a transaction on producer '"
					+ this.producer.id() + "' (the thread's interrupt flag was set); no transaction began", ex);
		}
		this.holder = Thread.currentThread();
	}

	private void giveUpTurn() {
		this.holder = null;
		this.turn.release();
	}

	/**
	 * Whether work on this thread joins a transaction open on it.
	 * @throws IllegalStateException if the one open on it is suspended: it takes no work, and no other can
	 * begin on this producer until it ends
	 */
	boolean joinsOpenTransaction() {
		if (!isOpenOnThisThread()) {
			return false;
		}
		BoundTransaction open = this.bound;
		if (open != null && open.takesNoWork()) {
			throw new IllegalStateException("Producer '" + this.producer.id() + "' has a suspended transaction open "
					+ "on this thread (an inner scope such as Spring's REQUIRES_NEW or NOT_SUPPORTED suspended it, or "
					+ "the Spring transaction it joined rolled back and it is about to be aborted), "
					+ "which takes no work, and Kafka runs one transaction per transactional.id: produce in the outer "
					+ "scope, or use a transactional pool, whose other members take the inner scope's work");
		}
		return true;
	}

	/**
	 * Runs {@code block} in the transaction open on this thread, as a nested {@link #run} joins it; begins none.
	 * @param nested whether the block is a nested {@code transaction(...)}, whose failure dooms the transaction
	 * ({@link #runNested}), rather than one call's work ({@code produceSync}), whose failure is its caller's
	 * @return the block's value, or {@link #NOT_JOINED} (the block not run) if no transaction is open on this
	 * thread, for instance because another thread has claimed its end
	 * @throws IllegalStateException if the one open on this thread is suspended
	 */
	Object runJoined(TransactionBlock<?> block, boolean nested) {
		if (!joinsOpenTransaction()) {
			return NOT_JOINED;
		}
		boolean outermost = this.joinedBlocks.add(Thread.currentThread()); // a nested one leaves it to the outermost
		try {
			return nested ? runNested(block) : block.run(new Transaction(this.producer));
		}
		finally {
			if (outermost) {
				this.joinedBlocks.remove(Thread.currentThread());
			}
		}
	}

	/**
	 * Lets one send (a record, or offsets) into the transaction open on this thread through the gate; the
	 * caller hands it to Kafka and then calls {@link #exitSend()}. Not for a polling thread (it holds no turn).
	 * @throws EndClaimed if no transaction is open on this thread any more: another thread claimed the end of
	 * the one the work joined (nothing entered)
	 */
	void enterSend() {
		this.sends.readLock().lock();
		if (!isOpenOnThisThread()) {
			this.sends.readLock().unlock();
			throw new EndClaimed("The transaction of producer '" + this.producer.id() + "' that this thread's work "
					+ "joined ended on another thread (its commit or abort had begun); nothing was sent into it");
		}
	}

	/** After a send {@link #enterSend()} let through. */
	void exitSend() {
		this.sends.readLock().unlock();
	}

	/**
	 * Claims the end of the bound transaction open now for the calling thread, which then commits or aborts it:
	 * {@code claim} (which refuses a transaction ended already) runs once the sends under way into it are in
	 * Kafka, and none passes the gate after it; the owner no longer holds the transaction, so its later work
	 * waits for the turn (through its {@link TransactionJoiner}, or in a transaction of its own). A send under
	 * way may keep the claim waiting as long as Kafka's {@code send} blocks ({@code max.block.ms}, for metadata
	 * or buffer space). The caller must not be sending into it: a commit from a Kafka interceptor or partitioner
	 * would wait for itself.
	 */
	void claimBoundEnd(Runnable claim) {
		if (this.sends.getReadHoldCount() > 0) { // the write lock would wait for this very thread, for good
			throw new IllegalStateException("Producer '" + this.producer.id() + "': a transaction cannot end from "
					+ "inside a send into it (a Kafka interceptor or partitioner); end it after the send returns");
		}
		this.sends.writeLock().lock();
		try {
			claim.run();
			this.holder = null;
		}
		finally {
			this.sends.writeLock().unlock();
		}
	}

	/** Whether the transaction open on this thread is a suspended bound one. */
	boolean isSuspendedOnThisThread() {
		BoundTransaction open = this.bound;
		return isOpenOnThisThread() && open != null && open.takesNoWork();
	}

	/** A new Kafka client, with its transactions initialised when the producer is transactional. */
	org.apache.kafka.clients.producer.Producer<byte[], byte[]> newClient() {
		org.apache.kafka.clients.producer.Producer<byte[], byte[]> client = this.producer.config()
			.clientFactory()
			.apply(this.producer.config().clientProperties());
		if (this.enabled) {
			try {
				client.initTransactions();
			}
			catch (Throwable ex) { // a checked one too, sneaked out: the client must not leak its network thread
				try {
					client.close(Duration.ZERO);
				}
				catch (RuntimeException closeFailure) { // an interrupted thread's close throws too
					ex.addSuppressed(closeFailure);
				}
				throw ex;
			}
		}
		return client;
	}

	<T> T run(TransactionBlock<T> block) {
		return run(block, true);
	}

	/**
	 * As {@link #run(TransactionBlock)}; {@code nested} false for one call's work ({@code produceSync} on a pool),
	 * whose failure, should it join a transaction open on this thread, is its caller's to handle.
	 */
	<T> T run(TransactionBlock<T> block, boolean nested) {
		checkEnabled();
		if (joinsOpenTransaction()) {
			return nested ? runNested(block) : block.run(new Transaction(this.producer));
		}
		if (this.joinedBlocks.contains(Thread.currentThread())) {
			throw new EndClaimed("The transaction of producer '" + this.producer.id() + "' that this block joined "
					+ "ended on another thread (its commit or abort had begun); nothing more goes into it, and no "
					+ "transaction of its own begins on a pool's member that thread has given back");
		}
		if (joinedOuterTransaction()) {
			return block.run(new Transaction(this.producer));
		}
		this.producer.checkMayTransact("run a transaction");
		this.producer.checkNotClosing();
		takeTurn();
		boolean begun = false;
		try {
			begin();
			begun = true;
			this.nestedFailure = null;
			publish(new ProducerEvent.TransactionStarted(this.producer.id()));
			T result;
			try {
				result = block.run(new Transaction(this.producer));
			}
			catch (AbortTransaction ex) {
				abort();
				return null;
			}
			catch (BatchPartlySentException ex) {
				abort();
				// This producer's batch: what it sent before the refusal is aborted with the rest, so the refusal is
				// the outcome. Another producer's stays sent: the caller needs to know which.
				boolean ours = !ex.sent().isEmpty() && ((Delivery) ex.sent().get(0)).sentIn(this);
				throw ours ? ex.refusal() : ex;
			}
			catch (DeliveryTimeoutException ex) {
				abort();
				throw rolledBackIfSentIn(ex, ex.timedOutIn(this), "stopped waiting for its report");
			}
			catch (DeliveryInterruptedException ex) {
				abort();
				throw rolledBackIfSentIn(ex, ex.interruptedIn(this), "was interrupted while waiting for its report");
			}
			catch (Throwable ex) {
				// Checked exceptions too (Kotlin, sneaky throws): the transaction must not stay open.
				abort();
				throw ex;
			}
			if (this.nestedFailure != null) {
				abort();
				throw nestedFailed(this.nestedFailure);
			}
			commit();
			this.reloadsInARow = 0;
			return result;
		}
		finally {
			this.nestedFailure = null;
			if (begun) {
				publish(new ProducerEvent.TransactionFinished(this.producer.id()));
			}
			giveUpTurn();
		}
	}

	/**
	 * Runs a block nested in the transaction open on this thread. When it throws (or aborts), the {@link #run}
	 * block around it is doomed whatever it does with the exception, as Spring dooms a transaction whose
	 * participant failed: a caught {@code abort()} must not commit what it meant to roll back. In a bound
	 * transaction (a Spring one, {@link #beginBound}) the exception goes to whoever ends it.
	 */
	private <T> T runNested(TransactionBlock<T> block) {
		// Decided on entry, while this thread holds the turn: a bound transaction may be ended by another thread
		// meanwhile, whose next holder's field this must not write.
		boolean dooms = this.bound == null;
		try {
			return block.run(new Transaction(this.producer));
		}
		catch (Throwable ex) {
			if (dooms && this.nestedFailure == null) {
				this.nestedFailure = ex;
			}
			throw ex;
		}
	}

	private TransactionFailedException nestedFailed(Throwable nested) {
		boolean aborted = nested instanceof AbortTransaction;
		return new TransactionFailedException("Transaction of producer '" + this.producer.id() + "' was rolled back: "
				+ "a nested transaction(...) in it " + (aborted ? "called abort()" : "threw " + nested)
				+ ", and the block around it went on; nothing it sent will be delivered (to read_committed "
				+ "consumers)", aborted ? null : nested);
	}

	/**
	 * A synchronous send's "may still be delivered" no longer holds for a message of the transaction just
	 * aborted: it is rolled back with it, and the caller is told so.
	 * @param sentHere whether the message was sent in that transaction (not another producer's, nor one of an
	 * earlier transaction, which come as they are)
	 */
	private WaterDropException rolledBackIfSentIn(WaterDropException stoppedWaiting, boolean sentHere, String how) {
		if (!sentHere) {
			return stoppedWaiting;
		}
		return new TransactionFailedException("Transaction of producer '" + this.producer.id() + "' was rolled back "
				+ "because a synchronous send in it " + how + "; the messages it sent will not be delivered (to "
				+ "read_committed consumers) and may be sent again", stoppedWaiting);
	}

	private void checkEnabled() {
		if (!this.enabled) {
			throw new IllegalStateException("Producer '" + this.producer.id()
					+ "' is not transactional; set the Kafka property transactional.id to use transactions");
		}
	}

	/**
	 * Whether the producer's {@link TransactionJoiner} began a transaction bound to this thread for the work
	 * to join (checked when none is open on this thread).
	 */
	boolean joinedOuterTransaction() {
		TransactionJoiner joiner = this.producer.config().transactionJoiner();
		return joiner != null && joiner.joinOuterTransaction(this.producer) && isOpenOnThisThread();
	}

	/**
	 * Begins a transaction bound to the calling thread, which holds the turn until the returned handle
	 * commits or aborts it ({@link #commitBound}, {@link #abortBound}): as {@link #run}, split in three calls.
	 */
	BoundTransaction beginBound() {
		checkEnabled();
		if (isOpenOnThisThread()) {
			boolean suspended = isSuspendedOnThisThread();
			throw new IllegalStateException("Producer '" + this.producer.id() + "' has a "
					+ (suspended ? "suspended " : "") + "transaction open on this thread already; "
					+ (suspended ? "one runs at a time per producer" : "what the thread produces joins it"));
		}
		this.producer.checkMayTransact("begin a transaction");
		this.producer.checkNotClosing();
		takeTurn();
		try {
			begin();
		}
		catch (Throwable ex) { // a checked one too, sneaked out of a client factory: the turn must not stay taken
			giveUpTurn();
			throw ex;
		}
		BoundTransaction transaction = new BoundTransaction(this, this.producer, Thread.currentThread());
		this.bound = transaction;
		publish(new ProducerEvent.TransactionStarted(this.producer.id()));
		return transaction;
	}

	/**
	 * Commits the bound transaction whose end the calling thread claimed ({@link #claimBoundEnd}), on whichever
	 * thread its handle was called, and ends it whatever happens.
	 */
	void commitBound(BoundTransaction ending) {
		try {
			commit();
			this.reloadsInARow = 0;
		}
		finally {
			endBound(ending);
		}
	}

	/** Aborts the bound transaction whose end the calling thread claimed and ends it whatever happens. */
	void abortBound(BoundTransaction ending) {
		try {
			abort();
		}
		finally {
			endBound(ending);
		}
	}

	/**
	 * Runs {@code action} once the bound transaction this thread began ends (after its turn is given up, on
	 * the thread that ends it, also one committing or aborting it now; at once if another thread has just
	 * ended it). At most one.
	 * @return {@code false}, the action not taken, if no transaction this thread began is open or ending
	 */
	boolean whenBoundEnds(Runnable action) {
		BoundTransaction open = this.bound;
		if (open == null || !open.isOwnedByCurrentThread()) {
			return false;
		}
		open.whenEnded(action);
		return true;
	}

	private void endBound(BoundTransaction ending) {
		this.bound = null;
		publish(new ProducerEvent.TransactionFinished(this.producer.id()));
		giveUpTurn();
		ending.ended(); // its end action, after the turn: a pool's member is free to take it then
	}

	/**
	 * Begins on the current client. A client that needs rebuilding (a fatal error between transactions, or a
	 * rebuild that failed before) is rebuilt first, which is safe since nothing of this transaction was sent.
	 */
	private void begin() {
		this.producer.connectLocked(); // an idle disconnect may have closed the client since the caller connected
		if (this.pendingReload != null) {
			rebuildOrThrow(this.pendingReload);
		}
		try {
			this.producer.client().beginTransaction();
			this.begun++; // only the thread that holds the turn begins
		}
		catch (KafkaException | IllegalStateException ex) {
			if (!reloadable(ex)) {
				if (isFatal(ex)) { // fenced, say, and not to be rebuilt: every transaction fails so, which health sees
					publish(new ProducerEvent.ErrorOccurred(this.producer.id(), ErrorType.PRODUCER_RELOAD, ex, null,
							null));
				}
				throw ex;
			}
			rebuildOrThrow(ex);
			this.producer.client().beginTransaction();
			this.begun++;
		}
	}

	/** The number of the transaction open (or last begun), which a message sent in it records. */
	int current() {
		return this.begun;
	}

	private void rebuildOrThrow(Throwable cause) {
		RuntimeException failure = reload(cause);
		if (failure instanceof TransactionFailedException givenUp) {
			throw givenUp;
		}
		if (failure != null) {
			throw new TransactionFailedException("Producer '" + this.producer.id()
					+ "' could not rebuild its Kafka client after " + cause + "; no transaction was started", failure);
		}
	}

	private void commit() {
		int[] attempted = new int[1];
		try {
			retryingTimeouts(() -> {
				attempted[0]++;
				this.producer.client().commitTransaction();
			});
		}
		catch (CommandTimedOut ex) {
			publish(new ProducerEvent.ErrorOccurred(this.producer.id(), ErrorType.TRANSACTION_COMMIT, ex.getCause(),
					null, null));
			// The client accepts nothing but this commit now; a new one learns the outcome from the broker.
			RuntimeException reloadFailure = reload(ex.getCause());
			TransactionFailedException failure = new TransactionOutcomeUnknownException("Transaction of producer '"
					+ this.producer.id() + "' timed out while committing, " + attempts()
					+ " attempt(s); its outcome is unknown (it may have been committed)", ex.getCause());
			if (reloadFailure != null) {
				failure.addSuppressed(reloadFailure);
			}
			throw failure;
		}
		catch (KafkaException | IllegalStateException ex) {
			publish(new ProducerEvent.ErrorOccurred(this.producer.id(), ErrorType.TRANSACTION_COMMIT, ex, null, null));
			// A close past draining shuts the client at once, also under a commit already sent, which the broker
			// may have taken. Kafka refuses a commit on a client whose close began with an IllegalStateException,
			// before sending anything: not committed, unless an earlier attempt, timed out, had sent it.
			boolean mayHaveReachedTheBroker = !(ex instanceof IllegalStateException) || attempted[0] > 1;
			boolean outcomeUnknown = this.producer.closingClient() && mayHaveReachedTheBroker;
			TransactionFailedException failure = outcomeUnknown
					? new TransactionOutcomeUnknownException("Transaction of producer '" + this.producer.id()
							+ "' was cut short by the producer's close while committing; its outcome is unknown (it "
							+ "may have been committed): " + ex, ex)
					: new TransactionFailedException("Transaction of producer '" + this.producer.id()
							+ "' could not be committed and was rolled back: " + ex, ex);
			try {
				if (outcomeUnknown) {
					rollBack(); // for the client's sake; whether the broker committed, no event may say
				}
				else {
					abort();
				}
			}
			catch (RuntimeException abortFailure) {
				failure.addSuppressed(abortFailure);
			}
			throw failure;
		}
		publish(new ProducerEvent.TransactionCommitted(this.producer.id()));
	}

	/** Rolls back ({@link #rollBack}) and says so. */
	private void abort() {
		rollBack();
		publish(new ProducerEvent.TransactionAborted(this.producer.id()));
	}

	/**
	 * Rolls back. A client that cannot roll back (fatal error, a timed-out abort, a wedged state) is rebuilt
	 * instead, which aborts the transaction on the broker; nothing of it becomes visible either way.
	 * <p>
	 * Always asks the client, whatever the block threw: its exception may carry another client's fencing (a
	 * second producer's, an admin call's), which leaves this one's transaction to abort. A client in a fatal
	 * state refuses the abort at once with its own error (kafka-clients' {@code beginAbort}), which decides.
	 */
	private void rollBack() {
		try {
			retryingTimeouts(() -> this.producer.client().abortTransaction());
		}
		catch (CommandTimedOut ex) {
			publish(new ProducerEvent.ErrorOccurred(this.producer.id(), ErrorType.TRANSACTION_ABORT, ex.getCause(),
					null, null));
			reload(ex.getCause());
		}
		catch (KafkaException | IllegalStateException ex) {
			if (isFatal(ex)) {
				handleFatal(ex);
			}
			else {
				publish(new ProducerEvent.ErrorOccurred(this.producer.id(), ErrorType.TRANSACTION_ABORT, ex, null,
						null));
				if (allowedToReload(ex)) {
					reload(ex); // a client that cannot roll back is in no state to go on
				}
			}
		}
	}

	/** A fatal error during a transaction: rebuild unless the error is one that must not be answered so. */
	private void handleFatal(Throwable cause) {
		if (reloadable(cause)) {
			reload(cause);
		}
		else {
			publish(new ProducerEvent.ErrorOccurred(this.producer.id(), ErrorType.PRODUCER_RELOAD, cause, null, null));
		}
	}

	/**
	 * Whether {@code error} means the client must be rebuilt and the settings allow it: a fatal error not in
	 * {@code nonReloadableErrors}, or a client wedged by a command Kafka still wants retried.
	 */
	private boolean reloadable(Throwable error) {
		return allowedToReload(error) && (isFatal(error) || error instanceof IllegalStateException);
	}

	/** Whether the settings allow a rebuild for {@code error}: reloading is on and the error not excluded. */
	private boolean allowedToReload(Throwable error) {
		if (!this.producer.config().reloadOnTransactionFatalError()) {
			return false;
		}
		for (Throwable current = error; current != null; current = current.getCause()) {
			for (Class<? extends Throwable> excluded : this.producer.config().nonReloadableErrors()) {
				if (excluded.isInstance(current)) {
					return false;
				}
			}
		}
		return true;
	}

	/**
	 * Replaces the client (WaterDrop's reload): builds and initialises a new one (which fences and aborts
	 * what the old one left open), swaps it in, then closes the old one at once (its unfinished messages fail
	 * and are reported). A failed build leaves the old client in place and the rebuild pending.
	 * @return why the rebuild failed, or {@code null} if it succeeded
	 */
	private RuntimeException reload(Throwable cause) {
		publish(new ProducerEvent.ErrorOccurred(this.producer.id(), ErrorType.PRODUCER_RELOAD, cause, null, null));
		if (this.producer.status() != ProducerStatus.CONNECTED) {
			return notRebuilt(cause); // closing (or closed) while the transaction ran: no new client after close
		}
		this.pendingReload = cause;
		// The cap stops a loop of clients poisoned anew. A command that kept timing out (or was interrupted)
		// poisoned nothing: a slow or absent broker, or cancelled tasks, must not retire the producer for good.
		if (!(cause instanceof TimeoutException || cause instanceof InterruptException)) {
			int allowed = this.producer.config().maxReloadAttempts();
			if (this.reloadsInARow >= allowed) {
				return new TransactionFailedException("Producer '" + this.producer.id() + "' rebuilt its Kafka client "
						+ allowed + " time(s) without a committed transaction in between and gives up "
						+ "(max-reload-attempts); close it and create a new one", cause);
			}
			if (this.reloadsInARow > 0) {
				pause(this.producer.config().reloadBackoff());
			}
			this.reloadsInARow++;
		}
		// The cleanup of a command that may itself have been interrupted: on an interrupted thread Kafka's
		// initTransactions would fail at once and leave the broken client in place. The flag comes back after.
		boolean interrupted = Thread.interrupted();
		boolean replaced;
		try {
			replaced = this.producer.rebuildTransactionalClient();
		}
		catch (RuntimeException ex) {
			// The next transaction's rebuild answers this failure: counted, unless the build only timed out too.
			this.pendingReload = ex;
			return ex;
		}
		finally {
			if (interrupted) {
				Thread.currentThread().interrupt();
			}
		}
		if (!replaced) {
			return notRebuilt(cause); // the close began while the new client was being built
		}
		this.pendingReload = null;
		publish(new ProducerEvent.Reloaded(this.producer.id(), cause));
		return null;
	}

	/**
	 * The producer no longer serves with a client of its own (closing, closed, disconnected): its close or its
	 * next connect takes care of clients, and a rebuild pending from before is moot.
	 */
	private RuntimeException notRebuilt(Throwable cause) {
		this.pendingReload = null;
		ProducerClosedException refused = new ProducerClosedException(this.producer.id(), this.producer.status());
		refused.initCause(cause);
		return refused;
	}

	private int attempts() {
		return this.producer.config().maxAttemptsOnTransactionCommand();
	}

	/**
	 * Runs a transactional command, repeating it while it times out (Kafka keeps its result pending and
	 * accepts only the same call). An interrupt counts as a timeout. The flag is cleared for every attempt, the
	 * first too (a block's task cancelled before its commit), since Kafka's wait would fail at once, and
	 * restored afterwards.
	 */
	private void retryingTimeouts(Runnable command) {
		boolean interrupted = Thread.interrupted();
		try {
			RuntimeException last = null;
			for (int attempt = 0; attempt < attempts(); attempt++) {
				try {
					command.run();
					return;
				}
				catch (TimeoutException ex) {
					last = ex;
				}
				catch (InterruptException ex) {
					interrupted |= Thread.interrupted();
					last = ex;
				}
			}
			throw new CommandTimedOut(last);
		}
		finally {
			if (interrupted) {
				Thread.currentThread().interrupt();
			}
		}
	}

	private static void pause(Duration duration) {
		long nanos = Timeouts.nanos(duration);
		long start = System.nanoTime();
		boolean interrupted = false;
		for (long left = nanos; left > 0; left = nanos - (System.nanoTime() - start)) {
			LockSupport.parkNanos(left);
			interrupted |= Thread.interrupted();
		}
		if (interrupted) {
			Thread.currentThread().interrupt();
		}
	}

	/**
	 * Errors after which Kafka's producer cannot go on: those its {@code TransactionManager} (kafka-clients
	 * 4.1, {@code maybeTransitionToErrorState}) makes fatal, reported directly or as the cause of "in an error
	 * state", found in the cause chain. A topic's or group's authorization and an out-of-order sequence are
	 * abortable for a transactional producer: the abort recovers, and a new client would not help. Other
	 * fatal states show when the abort itself fails, which rebuilds too.
	 */
	private static boolean isFatal(Throwable error) {
		for (Throwable current = error; current != null; current = current.getCause()) {
			if (current instanceof ProducerFencedException || current instanceof ClusterAuthorizationException
					|| current instanceof TransactionalIdAuthorizationException
					|| current instanceof UnsupportedVersionException
					|| current instanceof InvalidPidMappingException) {
				return true;
			}
		}
		return false;
	}

	private void publish(ProducerEvent event) {
		this.producer.monitor().publish(event);
	}

	/** The send gate refused a send: another thread claimed the end of the transaction the work joined. */
	static final class EndClaimed extends IllegalStateException {

		private static final long serialVersionUID = 1L;

		EndClaimed(String message) {
			super(message);
		}

	}

	/** A transactional command still timed out after its last attempt; the cause is the last timeout. */
	private static final class CommandTimedOut extends RuntimeException {

		private static final long serialVersionUID = 1L;

		CommandTimedOut(RuntimeException lastTimeout) {
			super(lastTimeout.getMessage(), lastTimeout, false, false);
		}

	}

}
