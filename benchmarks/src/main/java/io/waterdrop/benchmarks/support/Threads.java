package io.waterdrop.benchmarks.support;

import java.util.Collection;
import java.util.concurrent.CountDownLatch;

/** Waiting for latches and threads in a harness that treats an interrupt as the end of the run. */
public final class Threads {

	private Threads() {
	}

	public static void await(CountDownLatch latch) {
		try {
			latch.await();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted", ex);
		}
	}

	public static void join(Collection<Thread> threads) {
		try {
			for (Thread thread : threads) {
				thread.join();
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted", ex);
		}
	}

}
