package io.waterdrop;

import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A Kafka client that misbehaves the ways {@code KafkaProducer} 4.1 does on its failure paths (see
 * {@code KafkaProducer.doSend} and {@code TransactionManager.maybeAddPartition}), chosen by the record's
 * topic; other topics are acknowledged at once, on the sender's thread.
 * <ul>
 * <li>{@code fenced-twice}: calls back synchronously with {@code ProducerFencedException} and returns a failed
 * future (the record is appended already); {@link #failAppended} calls back again, as the batch abort does.</li>
 * <li>{@code throw-after-append}: appends, then throws "in an error state"; the callback comes later
 * ({@link #failAppended}).</li>
 * <li>{@code callback-then-throw}: calls back with a metadata timeout, then throws
 * {@code IllegalStateException} (an invalid transition in the transaction manager).</li>
 * <li>{@code error}: {@code send} throws an {@link Error}.</li>
 * <li>{@code interrupted}: {@code send} throws {@code InterruptException}, as when interrupted while it waits
 * for metadata or buffer space (the flag set, no callback).</li>
 * <li>{@code checked}: {@code send} throws a checked exception, as one sneaked out of a custom partitioner
 * passes through {@code KafkaProducer.doSend}'s {@code catch (Exception e) { throw e; }}.</li>
 * <li>{@code cluster-unauthorized}: fails with {@code ClusterAuthorizationException}, a fatal error of an
 * idempotent producer.</li>
 * <li>{@code pending}: appended; completed by {@link #failAppended} or a forced close, which fails every
 * other record with "closed forcefully" and the rest with a delivery timeout.</li>
 * <li>{@code blocking}: {@code send} blocks until {@link #unblock()} (metadata or buffer wait), then
 * acknowledges.</li>
 * <li>{@code partitions-error}: {@code partitionsFor} throws an {@link Error}.</li>
 * <li>{@code partitions-interrupted}: {@code partitionsFor} throws {@code InterruptException}, as when
 * interrupted while it waits for metadata.</li>
 * </ul>
 * Threading: thread-safe.
 */
final class MisbehavingKafka extends MockProducer<byte[], byte[]> {

	private final Queue<Callback> appended = new ConcurrentLinkedQueue<>();

	private final CountDownLatch unblocked = new CountDownLatch(1);

	private final CountDownLatch blockedSend = new CountDownLatch(1);

	MisbehavingKafka() {
		super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
	}

	@Override
	public List<PartitionInfo> partitionsFor(String topic) {
		if (topic.equals("partitions-error")) {
			throw new AssertionError("partitionsFor failed (simulated)");
		}
		if (topic.equals("partitions-interrupted")) {
			throw new InterruptException(new InterruptedException("simulated"));
		}
		return super.partitionsFor(topic);
	}

	@Override
	public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
		switch (record.topic()) {
			case "fenced-twice" -> {
				this.appended.add(callback);
				ProducerFencedException fenced = new ProducerFencedException("fenced (simulated)");
				callback.onCompletion(null, fenced);
				return CompletableFuture.failedFuture(fenced);
			}
			case "throw-after-append" -> {
				this.appended.add(callback);
				throw new KafkaException("Cannot execute transactional method because we are in an error state "
						+ "(simulated)");
			}
			case "callback-then-throw" -> {
				callback.onCompletion(null, new TimeoutException("Topic not present in metadata (simulated)"));
				throw new IllegalStateException(
						"Invalid transition attempted from state UNINITIALIZED to state ABORTABLE_ERROR (simulated)");
			}
			case "error" -> throw new StackOverflowError("simulated");
			case "interrupted" -> throw new InterruptException(new InterruptedException("simulated"));
			case "checked" -> throw MisbehavingKafka.<RuntimeException>sneaky(
					new java.io.IOException("partitioner failed (simulated)"));
			case "cluster-unauthorized" -> {
				ClusterAuthorizationException fatal = new ClusterAuthorizationException("not authorized (simulated)");
				callback.onCompletion(null, fatal);
				return CompletableFuture.failedFuture(fatal);
			}
			case "pending" -> {
				this.appended.add(callback);
				return new CompletableFuture<>();
			}
			case "blocking" -> {
				this.blockedSend.countDown();
				await(this.unblocked);
				return super.send(record, callback);
			}
			default -> {
				return super.send(record, callback);
			}
		}
	}

	@SuppressWarnings("unchecked")
	private static <T extends Throwable> T sneaky(Throwable checked) throws T {
		throw (T) checked;
	}

	/** Fails every appended record (again), as Kafka's network thread does when it aborts their batches. */
	void failAppended(Exception error) {
		Callback callback;
		while ((callback = this.appended.poll()) != null) {
			callback.onCompletion(null, error);
		}
	}

	/** Appended records not yet called back by {@link #failAppended}. */
	int appended() {
		return this.appended.size();
	}

	/** Waits until a {@code blocking} send has started. */
	void awaitBlockedSend() {
		await(this.blockedSend);
	}

	void unblock() {
		this.unblocked.countDown();
	}

	/**
	 * Like {@code KafkaProducer.close(Duration.ZERO)}: fails what is unsent before returning; every other
	 * record as aborted by the close, the rest with the delivery timeout that had expired meanwhile.
	 */
	@Override
	public void close(Duration timeout) {
		if (timeout.isZero()) {
			List<Callback> callbacks = List.copyOf(this.appended);
			this.appended.clear();
			for (int i = 0; i < callbacks.size(); i++) {
				callbacks.get(i).onCompletion(null, (i % 2 == 0) ? new KafkaException("Producer is closed forcefully.")
						: new TimeoutException("Expiring 1 record(s) for pending-0: 120000 ms has passed (simulated)"));
			}
		}
		super.close(timeout);
	}

	private static void await(CountDownLatch latch) {
		try {
			if (!latch.await(60, TimeUnit.SECONDS)) {
				throw new AssertionError("latch not released within 60 s");
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new AssertionError(ex);
		}
	}

}
