package io.waterdrop.polling;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * Pollers whose thread cannot be started for a while, as when the JVM is out of native threads: the first
 * {@code failures} starts throw {@link OutOfMemoryError} from {@link Thread#start()}, later ones work.
 * Public so that producer tests in other packages can use it.
 */
public final class FailingThreads implements ThreadFactory {

	private final AtomicInteger failuresLeft;

	private FailingThreads(int failures) {
		this.failuresLeft = new AtomicInteger(failures);
	}

	/** A dedicated Poller whose first {@code failures} thread starts fail. */
	public static Poller poller(String name, int failures) {
		return new Poller(PollerConfig.named(name), "waterdrop.poller#test-" + name, new FailingThreads(failures));
	}

	/** A dedicated Poller whose thread starts fail while {@code failing} says so. */
	public static Poller poller(String name, BooleanSupplier failing) {
		return new Poller(PollerConfig.named(name), "waterdrop.poller#test-" + name,
				(task) -> failing.getAsBoolean() ? unstartable(task) : new Thread(task));
	}

	@Override
	public Thread newThread(Runnable task) {
		return (this.failuresLeft.getAndDecrement() > 0) ? unstartable(task) : new Thread(task);
	}

	/** A thread whose start fails as when the JVM is out of native threads. */
	public static Thread unstartable(Runnable task) {
		return new Thread(task) {
			@Override
			public synchronized void start() {
				throw new OutOfMemoryError("unable to create native thread: possibly out of memory (simulated)");
			}
		};
	}

}
