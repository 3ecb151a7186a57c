package io.waterdrop;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kafka's {@code flush()} on a thread of its own, shared by the callers who ask for one meanwhile: at most one
 * runs per producer, and one more waits for those who ask while it runs (it began before their call, so it may
 * not cover their messages). A flush each would cost a platform thread per caller, each blocked in Kafka, and
 * keep Kafka sending every batch at once (it ignores {@code linger.ms} while any flush is in progress).
 * <p>
 * Threading: thread-safe. A flush reads the producer's client when it begins: one replaced meanwhile (a purge, a
 * rebuild) has completed or failed what it held when it closed.
 */
final class SharedFlush {

	private static final Logger logger = LoggerFactory.getLogger(SharedFlush.class);

	private final String producerId;

	private final Supplier<org.apache.kafka.clients.producer.Producer<byte[], byte[]>> client;

	private final Consumer<Runnable> threadStarter;

	private final ReentrantLock lock = new ReentrantLock();

	/** The flush under way, or null; under the lock. */
	private CompletableFuture<Boolean> running;

	/** The flush to begin once the running one ends, or null; under the lock. */
	private CompletableFuture<Boolean> next;

	SharedFlush(String producerId, Supplier<org.apache.kafka.clients.producer.Producer<byte[], byte[]>> client,
			Consumer<Runnable> threadStarter) {
		this.producerId = producerId;
		this.client = client;
		this.threadStarter = threadStarter;
	}

	/**
	 * A flush that begins after this call.
	 * @return completes with whether Kafka's flush returned normally; {@code null} if no thread could be
	 * started for it (the JVM out of native threads)
	 */
	CompletableFuture<Boolean> request() {
		this.lock.lock();
		try {
			if (this.running != null) {
				if (this.next == null) {
					this.next = new CompletableFuture<>();
				}
				return this.next;
			}
			CompletableFuture<Boolean> first = new CompletableFuture<>();
			try {
				this.threadStarter.accept(() -> run(first)); // it takes the lock only after this call returns
			}
			catch (OutOfMemoryError ex) {
				logger.warn("Producer '{}' could not start a thread to flush", this.producerId, ex);
				return null;
			}
			this.running = first;
			return first;
		}
		finally {
			this.lock.unlock();
		}
	}

	private void run(CompletableFuture<Boolean> first) {
		CompletableFuture<Boolean> current = first;
		try {
			while (current != null) {
				current.complete(flushOnce());
				current = takeNext();
			}
		}
		finally {
			if (current != null) { // an Error ended the thread: nobody may wait for ever
				CompletableFuture<Boolean> queued;
				this.lock.lock();
				try {
					queued = this.next;
					this.next = null;
					this.running = null;
				}
				finally {
					this.lock.unlock();
				}
				current.complete(false);
				if (queued != null) {
					queued.complete(false);
				}
			}
		}
	}

	/** The queued flush, now the running one; {@code null} (and none running) if none was asked for. */
	private CompletableFuture<Boolean> takeNext() {
		this.lock.lock();
		try {
			this.running = this.next;
			this.next = null;
			return this.running;
		}
		finally {
			this.lock.unlock();
		}
	}

	private boolean flushOnce() {
		org.apache.kafka.clients.producer.Producer<byte[], byte[]> current = this.client.get();
		if (current == null) {
			return true; // disconnected: Kafka holds nothing of this producer's
		}
		try {
			current.flush();
			return true;
		}
		catch (RuntimeException ex) {
			logger.debug("Producer '{}': flush ended with an error", this.producerId, ex);
			return false;
		}
	}

}
