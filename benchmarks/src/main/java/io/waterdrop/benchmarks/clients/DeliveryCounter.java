package io.waterdrop.benchmarks.clients;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Counts one producer's delivery reports down to zero, the inline counting callback of a throughput run.
 * A failed delivery fails the trial: figures with lost messages would compare nothing.
 */
public final class DeliveryCounter implements DeliveryListener {

	private final CountDownLatch remaining;

	private final AtomicReference<Throwable> failure = new AtomicReference<>();

	public DeliveryCounter(int expected) {
		this.remaining = new CountDownLatch(expected);
	}

	@Override
	public void delivered(Throwable error) {
		if (error != null) {
			this.failure.compareAndSet(null, error);
		}
		this.remaining.countDown();
	}

	/** The sender failed: records why and releases whoever waits. */
	public void abort(Throwable error) {
		this.failure.compareAndSet(null, error);
		while (this.remaining.getCount() > 0) {
			this.remaining.countDown();
		}
	}

	/** Waits for every expected report; throws if one failed or they did not all come in time. */
	public void await(Duration timeout) {
		try {
			if (!this.remaining.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
				throw new IllegalStateException(this.remaining.getCount() + " delivery report(s) missing after " + timeout);
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted while waiting for delivery reports", ex);
		}
		Throwable error = this.failure.get();
		if (error != null) {
			throw new IllegalStateException("A delivery failed", error);
		}
	}

}
