package io.waterdrop;

import java.time.Duration;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A {@link MockProducer} whose sends stay pending until the test (or an {@link #startAcking acking thread},
 * standing in for Kafka's network thread) completes them, and that closes the way {@code KafkaProducer}
 * does: {@code close(Duration.ZERO)} fails every pending send ("closed forcefully"), which a plain
 * MockProducer does not (it fires no callback on close). {@code flush()} delivers everything pending, or, for
 * a {@link #stuck()} client whose broker is gone, waits until a forced close fails it.
 * <p>
 * Threading: thread-safe (MockProducer's methods are synchronized; flush waits without the lock).
 */
final class PendingKafka extends MockProducer<byte[], byte[]> {

	private final AtomicInteger pending = new AtomicInteger();

	private final AtomicInteger created = new AtomicInteger();

	private volatile boolean stuck;

	private volatile boolean closing;

	PendingKafka() {
		super(false, null, new ByteArraySerializer(), new ByteArraySerializer());
	}

	/** Like a client whose broker is unreachable: flush waits until a forced close fails what is pending. */
	PendingKafka stuck() {
		this.stuck = true;
		return this;
	}

	/** Sends not completed yet. */
	int pending() {
		return this.pending.get();
	}

	/** How many times a producer asked for this client (its client factory). */
	int created() {
		return this.created.get();
	}

	/** The client factory for {@code ProducerConfig.Builder.clientFactory}. */
	java.util.function.Function<java.util.Map<String, Object>, org.apache.kafka.clients.producer.Producer<byte[], byte[]>> factory() {
		return (properties) -> {
			this.created.incrementAndGet();
			return this;
		};
	}

	@Override
	public synchronized Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
		this.pending.incrementAndGet();
		try {
			return super.send(record, (metadata, error) -> {
				this.pending.decrementAndGet();
				if (callback != null) {
					callback.onCompletion(metadata, error);
				}
			});
		}
		catch (RuntimeException ex) {
			this.pending.decrementAndGet();
			throw ex;
		}
	}

	@Override
	public void flush() {
		if (!this.stuck) {
			super.flush();
			return;
		}
		while (this.pending.get() > 0 && !this.closing) {
			LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
		}
	}

	@Override
	public void close() {
		close(Duration.ofMillis(Long.MAX_VALUE));
	}

	@Override
	public void close(Duration timeout) {
		this.closing = true;
		synchronized (this) {
			if (this.stuck || timeout.isZero()) {
				while (errorNext(new KafkaException("Producer is closed forcefully."))) {
					// every pending send fails, as KafkaProducer's abortIncompleteBatches does
				}
			}
			else {
				while (completeNext()) {
					// a graceful close delivers what is pending first
				}
			}
		}
		super.close(timeout);
	}

	/**
	 * Starts a thread that completes pending sends, oldest first, until {@code limit} were completed or the
	 * returned handle is closed.
	 */
	Acking startAcking(int limit) {
		Acking acking = new Acking(limit);
		acking.thread.start();
		return acking;
	}

	/** A running acking thread. */
	final class Acking implements AutoCloseable {

		private final AtomicBoolean running = new AtomicBoolean(true);

		private final Thread thread;

		Acking(int limit) {
			this.thread = new Thread(() -> {
				int acked = 0;
				while (this.running.get() && acked < limit) {
					if (completeNext()) {
						acked++;
					}
					else {
						LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(100));
					}
				}
			}, "pending-kafka-acks");
			this.thread.setDaemon(true);
		}

		@Override
		public void close() throws InterruptedException {
			this.running.set(false);
			this.thread.join(TimeUnit.SECONDS.toMillis(10));
		}

	}

}
