package io.waterdrop;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A future of a delivery whose blocking methods refuse to run on the thread that dispatches the producer's
 * reports: waiting there for a report only that thread can dispatch would block it forever, and with it
 * every producer it serves. Stages derived from it are guarded too.
 */
final class PollingThreadGuardedFuture<T> extends CompletableFuture<T> {

	private final Producer producer;

	PollingThreadGuardedFuture(Producer producer) {
		this.producer = producer;
	}

	@Override
	public <U> CompletableFuture<U> newIncompleteFuture() {
		return new PollingThreadGuardedFuture<>(this.producer);
	}

	@Override
	public T get() throws InterruptedException, ExecutionException {
		checkMayWait();
		return super.get();
	}

	@Override
	public T get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
		checkMayWait();
		return super.get(timeout, unit);
	}

	@Override
	public T join() {
		checkMayWait();
		return super.join();
	}

	private void checkMayWait() {
		if (!isDone()) {
			this.producer.checkMayWait("wait for a delivery report");
		}
	}

}
