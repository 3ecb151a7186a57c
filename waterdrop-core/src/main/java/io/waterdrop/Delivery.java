package io.waterdrop;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.RecordMetadata;

import io.waterdrop.polling.ReportQueue;

/**
 * One message on its way: the only object WaterDrop creates per message on the hot path. It is the
 * {@link DeliveryHandle} the caller holds, the Kafka {@link Callback} of the send, and the node of the
 * producer's report queue.
 * <p>
 * Exactly one outcome per message is enforced here and nowhere else: the first of Kafka's callback and
 * a refusal on the sender's thread claims the message ({@link #claim}); anything later for the same record
 * (Kafka calls back twice on some fenced and aborted-transaction paths) is ignored.
 * <p>
 * States, moved only forward:
 * <table>
 * <caption>Delivery states</caption>
 * <tr><th>state</th><th>entered by</th><th>on which thread</th><th>what happens</th></tr>
 * <tr><td>SENDING</td><td>construction</td><td>sender</td><td>handed to {@code KafkaProducer.send}</td></tr>
 * <tr><td>CLAIMED</td><td>first {@link #onCompletion} or {@link #claimRefused()}</td><td>Kafka's network
 * thread, or the sender</td><td>metadata or error stored; queued for dispatch (callback) or thrown to the
 * sender (refusal, never dispatched)</td></tr>
 * <tr><td>PURGED</td><td>first {@link #onCompletion}, with an error that is WaterDrop's own removal of the
 * message</td><td>Kafka's network thread</td><td>as CLAIMED; dispatched as a purge, not a failure (judged
 * when Kafka reports it: whether a purge is under way changes later)</td></tr>
 * <tr><td>DONE</td><td>{@link #finish}</td><td>polling thread</td><td>outcome visible to waiters, futures
 * completed</td></tr>
 * </table>
 * <p>
 * Size: one field, {@code outcome}, holds what each state needs (Kafka's metadata or error once claimed;
 * the metadata or the {@link DeliveryFailedException} once done), and the produce timestamp lives in the
 * {@link Timed} subclass, created only while a latency meter or listener wants it: 56 bytes per message
 * with compressed references (64 timed), header and queue link included.
 * <p>
 * Threading: fields without {@code volatile} are written before the state or queue hand-off that publishes
 * them (claim, then offer; outcome, then {@code DONE}) and read after it.
 */
sealed class Delivery extends ReportQueue.Node implements DeliveryHandle, Callback permits Delivery.Timed {

	static final int SENDING = 0;

	static final int CLAIMED = 1;

	static final int PURGED = 2;

	static final int DONE = 3;

	private static final VarHandle STATE;

	private static final VarHandle FUTURE;

	static {
		try {
			MethodHandles.Lookup lookup = MethodHandles.lookup();
			STATE = lookup.findVarHandle(Delivery.class, "state", int.class);
			FUTURE = lookup.findVarHandle(Delivery.class, "future", CompletableFuture.class);
		}
		catch (ReflectiveOperationException ex) {
			throw new ExceptionInInitializerError(ex);
		}
	}

	private final Producer producer;

	private final Message message;

	private final DeliveryCallback callback;

	/**
	 * Which of the producer's Kafka clients it was handed to (they are replaced by reloads). Written before the
	 * send (by the relay too, after it reconnected), read after the report: Kafka's callback publishes it.
	 */
	int clientGeneration;

	/** What the producer's {@code DeliveryObserver} returned for this message; {@code null} without one. */
	Object observation;

	/** The number of the transaction it was sent in ({@link Transactions#current()}); 0 outside one. */
	int transaction;

	/**
	 * Claimed: Kafka's {@link RecordMetadata}, or the {@link Exception} it reported. Done: the metadata, or the
	 * {@link DeliveryFailedException} the message failed with.
	 */
	private Object outcome;

	@SuppressWarnings("unused") // through STATE
	private volatile int state;

	/** Created only when somebody waits or asks for a future. */
	private volatile CompletableFuture<DeliveryReport> future;

	Delivery(Producer producer, Message message, DeliveryCallback callback, int clientGeneration) {
		this.producer = producer;
		this.message = message;
		this.callback = callback;
		this.clientGeneration = clientGeneration;
	}

	/** Whether this message was sent in {@code transactions}' producer's transactions. */
	boolean sentIn(Transactions transactions) {
		return this.producer.runsTransactionsOf(transactions);
	}

	/** Whether this message was sent in the transaction of {@code transactions} open (or last begun). */
	boolean sentInCurrent(Transactions transactions) {
		return sentIn(transactions) && this.transaction == transactions.current();
	}

	/** When the message was produced ({@link System#nanoTime()}), or 0 when nobody wanted it taken. */
	long producedNanos() {
		return 0;
	}

	/**
	 * Kafka's callback, on its network thread (or on the sender's, when {@code send} fails early): the first
	 * call queues the report; later ones for the same record do nothing. Does the least possible here.
	 */
	@Override
	public void onCompletion(RecordMetadata metadata, Exception exception) {
		complete((exception != null && this.producer.isPurge(exception)) ? PURGED : CLAIMED,
				(exception != null) ? exception : metadata);
	}

	/** The relay could not send it because the producer's close had gone past draining: purged, not failed. */
	void purgedBeforeSent(Exception cause) {
		complete(PURGED, cause);
	}

	private void complete(int claimed, Object outcome) {
		if (!STATE.compareAndSet(this, SENDING, claimed)) {
			return;
		}
		this.outcome = outcome;
		this.producer.reports().offer(this);
	}

	/**
	 * Claims the message for a refusal on the sender's thread ({@code send} threw).
	 * @return {@code false} if Kafka has called back already: the report is queued and will be dispatched,
	 * so the sender must not report a refusal as well
	 */
	boolean claimRefused() {
		return STATE.compareAndSet(this, SENDING, CLAIMED);
	}

	/** The error Kafka reported, or {@code null}; polling thread, after the claim and before {@link #finish}. */
	Exception error() {
		return (this.outcome instanceof Exception error) ? error : null;
	}

	/** Whether the error is a purge rather than a delivery failure; polling thread, before {@link #finish}. */
	boolean purged() {
		return (int) STATE.get(this) == PURGED;
	}

	DeliveryCallback callback() {
		return this.callback;
	}


	/**
	 * Makes the outcome visible: {@code failure} is {@code null} when the message was delivered. Polling
	 * thread only, once.
	 */
	void finish(DeliveryFailedException failure) {
		if (failure != null) {
			this.outcome = failure;
		}
		STATE.setVolatile(this, DONE);
		// Read after publishing DONE; a waiter publishes its future before reading the state (see future()).
		wakeWaiter();
	}

	/** Completes the waiter's future, if any, with the outcome of this done message; again does nothing. */
	void wakeWaiter() {
		CompletableFuture<DeliveryReport> waiting = this.future;
		if (waiting != null) {
			completeFuture(waiting);
		}
	}

	/**
	 * Registers the sender's wait before the send ({@code produceSync}): a report that Kafka answers and the
	 * polling thread dispatches before the sender starts waiting is still dispatched as awaited (outcome
	 * counted and slot back before the sender sees it). Costs nothing extra: the wait would create the future.
	 */
	void expectWaiter() {
		future();
	}

	/** Whether somebody waits for this outcome (a {@code produceSync}, {@code await}, {@code get}, a future). */
	boolean hasWaiter() {
		return this.future != null;
	}

	/** A new report of the acknowledged message (its fields are the metadata Kafka returned). */
	DeliveryReport report() {
		RecordMetadata landed = (RecordMetadata) this.outcome;
		return new DeliveryReport(landed.topic(), landed.partition(), landed.offset(),
				Instant.ofEpochMilli(landed.timestamp()), this.message.label());
	}

	/** The failure of a done message, or {@code null} if it was delivered. */
	DeliveryFailedException failure() {
		return (this.outcome instanceof DeliveryFailedException failure) ? failure : null;
	}

	private void completeFuture(CompletableFuture<DeliveryReport> target) {
		DeliveryFailedException failure = failure();
		if (failure != null) {
			target.completeExceptionally(failure);
		}
		else {
			target.complete(report());
		}
	}

	private CompletableFuture<DeliveryReport> future() {
		CompletableFuture<DeliveryReport> current = this.future;
		if (current != null) {
			return current;
		}
		CompletableFuture<DeliveryReport> created = new PollingThreadGuardedFuture<>(this.producer);
		if (!FUTURE.compareAndSet(this, null, created)) {
			return this.future;
		}
		if (isDone()) {
			completeFuture(created); // finish() may have looked before the future existed
		}
		return created;
	}

	@Override
	public Message message() {
		return this.message;
	}

	@Override
	public DeliveryReport await() {
		return await(this.producer.config().maxWaitTimeout());
	}

	@Override
	public DeliveryReport await(Duration timeout) {
		Timeouts.require(timeout, "wait for a delivery report");
		if (!isDone()) {
			checkMayWait();
			try {
				future().get(Timeouts.nanos(timeout), TimeUnit.NANOSECONDS);
			}
			catch (ExecutionException ex) {
				// reported below from the outcome itself
			}
			catch (TimeoutException ex) {
				if (!isDone()) { // done meanwhile: its outcome, not "may still be delivered"
					throw new DeliveryTimeoutException(this, timeout, (int) STATE.getVolatile(this) != SENDING);
				}
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				if (!isDone()) {
					throw new DeliveryInterruptedException(this, (int) STATE.getVolatile(this) != SENDING, ex);
				}
			}
		}
		DeliveryFailedException failure = failure();
		if (failure != null) {
			throw failure;
		}
		return report();
	}

	@Override
	public CompletableFuture<DeliveryReport> toCompletableFuture() {
		return future().copy();
	}

	/** A sent message cannot be recalled: always {@code false}. */
	@Override
	public boolean cancel(boolean mayInterruptIfRunning) {
		return false;
	}

	@Override
	public boolean isCancelled() {
		return false;
	}

	@Override
	public boolean isDone() {
		return (int) STATE.getVolatile(this) == DONE;
	}

	/** Whether the message is known not to have been delivered. */
	boolean failed() {
		return isDone() && failure() != null;
	}

	/** Whether the message is done and was purged undelivered ({@code purge()}, a forced close). */
	boolean purgedWhenDone() {
		return isDone() && failure() instanceof MessagePurgedException;
	}

	@Override
	public DeliveryReport get() throws InterruptedException, ExecutionException {
		if (!isDone()) {
			checkMayWait();
		}
		return future().get();
	}

	@Override
	public DeliveryReport get(long timeout, TimeUnit unit)
			throws InterruptedException, ExecutionException, TimeoutException {
		if (!isDone()) {
			checkMayWait();
		}
		return future().get(timeout, unit);
	}

	/** Refuses a wait on the thread that dispatches this report; reading a done handle waits for nothing. */
	private void checkMayWait() {
		this.producer.checkMayWait("wait for a delivery report");
	}

	@Override
	public String toString() {
		return "DeliveryHandle[topic=" + this.message.topic() + ", done=" + isDone() + "]";
	}

	/** A delivery whose produce time is taken, for the latency meter or an acknowledgement listener. */
	static final class Timed extends Delivery {

		private final long producedNanos;

		Timed(Producer producer, Message message, DeliveryCallback callback, int clientGeneration,
				long producedNanos) {
			super(producer, message, callback, clientGeneration);
			this.producedNanos = producedNanos;
		}

		@Override
		long producedNanos() {
			return this.producedNanos;
		}

	}

}
