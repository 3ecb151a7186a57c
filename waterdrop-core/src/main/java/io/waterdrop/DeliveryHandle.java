package io.waterdrop;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;

/**
 * The pending outcome of one message handed to {@link Producer#produceAsync}: completes with a
 * {@link DeliveryReport} when the broker acknowledged it, or with a {@link DeliveryFailedException}
 * ({@link MessagePurgedException} if a forced close removed it). Every accepted message gets exactly one
 * outcome, even when Kafka's client reports one record twice.
 * <p>
 * Threading: wait from any thread except the one that dispatches this producer's reports (that would
 * deadlock, so {@link #await}, {@link #get} and the {@code get}/{@code join} of
 * {@link #toCompletableFuture()} throw {@link IllegalCallerException} there). The handle completes on that
 * dispatching thread; stages attached with {@link #toCompletableFuture()} before completion run there too,
 * so keep them short. Waiting parks the thread (no monitor is held), which suits virtual threads.
 */
public sealed interface DeliveryHandle extends Future<DeliveryReport> permits Delivery {

	/** The message this handle tracks. */
	Message message();

	/** The message's label. */
	default Object label() {
		return message().label();
	}

	/** Waits up to the producer's {@code maxWaitTimeout}. */
	DeliveryReport await();

	/**
	 * Waits for the report.
	 * @throws DeliveryFailedException if the message was not delivered
	 * @throws DeliveryTimeoutException if no report came within {@code timeout}
	 * @throws WaterDropException if interrupted before the report came, the flag kept set; it says whether Kafka
	 * has answered for the message yet (the report still comes, to the callback and listeners)
	 * @throws IllegalCallerException if called on the thread that must dispatch the report
	 */
	DeliveryReport await(Duration timeout);

	/**
	 * A future completing with this handle; completing or cancelling it does not affect the handle. Its
	 * blocking methods refuse to run on the thread that dispatches the report.
	 */
	CompletableFuture<DeliveryReport> toCompletableFuture();

}
