package io.waterdrop;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The pending outcome of one message handed to {@link Producer#produceAsync}: completes with a
 * {@link DeliveryReport} when the broker acknowledged it, or with a {@link DeliveryFailedException}
 * ({@link MessagePurgedException} if a forced close removed it).
 * <p>
 * Threading: wait from any thread except the one that dispatches this producer's reports (that would
 * deadlock, so it throws {@link IllegalCallerException}). The handle completes on that dispatching thread;
 * stages attached with {@link #toCompletableFuture()} before completion run there too, so keep them short.
 * Waiting parks the thread (no monitor is held), which suits virtual threads.
 */
public final class DeliveryHandle implements Future<DeliveryReport> {

	private final CompletableFuture<DeliveryReport> outcome = new CompletableFuture<>();

	private final Producer producer;

	private final Message message;

	private final DeliveryCallback callback;

	private final long producedNanos = System.nanoTime();

	DeliveryHandle(Producer producer, Message message, DeliveryCallback callback) {
		this.producer = producer;
		this.message = message;
		this.callback = callback;
	}

	/** The message this handle tracks. */
	public Message message() {
		return this.message;
	}

	/** The message's label. */
	public Object label() {
		return this.message.label();
	}

	/** Waits up to the producer's {@code maxWaitTimeout}. */
	public DeliveryReport await() {
		return await(this.producer.config().maxWaitTimeout());
	}

	/**
	 * Waits for the report.
	 * @throws DeliveryFailedException if the message was not delivered
	 * @throws DeliveryTimeoutException if no report came within {@code timeout}
	 * @throws IllegalCallerException if called on the thread that must dispatch the report
	 */
	public DeliveryReport await(Duration timeout) {
		this.producer.checkMayWait("wait for a delivery report");
		try {
			return this.outcome.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
		}
		catch (ExecutionException ex) {
			throw (DeliveryFailedException) ex.getCause();
		}
		catch (TimeoutException ex) {
			throw new DeliveryTimeoutException(this.message, timeout);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new WaterDropException("Interrupted while waiting for the delivery report of a message to '"
					+ this.message.topic() + "'", ex);
		}
	}

	/**
	 * A future completing with this handle; completing or cancelling it does not affect the handle.
	 */
	public CompletableFuture<DeliveryReport> toCompletableFuture() {
		return this.outcome.copy();
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
		return this.outcome.isDone();
	}

	@Override
	public DeliveryReport get() throws InterruptedException, ExecutionException {
		this.producer.checkMayWait("wait for a delivery report");
		return this.outcome.get();
	}

	@Override
	public DeliveryReport get(long timeout, TimeUnit unit)
			throws InterruptedException, ExecutionException, TimeoutException {
		this.producer.checkMayWait("wait for a delivery report");
		return this.outcome.get(timeout, unit);
	}

	long producedNanos() {
		return this.producedNanos;
	}

	DeliveryCallback callback() {
		return this.callback;
	}

	/** Whether the message is known not to have been delivered. */
	boolean failed() {
		return this.outcome.isCompletedExceptionally();
	}

	void complete(DeliveryReport report) {
		this.outcome.complete(report);
	}

	void fail(DeliveryFailedException failure) {
		this.outcome.completeExceptionally(failure);
	}

	@Override
	public String toString() {
		return "DeliveryHandle[topic=" + this.message.topic() + ", done=" + isDone() + "]";
	}

}
