package io.waterdrop.autoconfigure;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A Kafka client factory whose clients hold every record in flight until {@link #release()} is called, or
 * until they are closed, which fails what they still hold with the plain {@code KafkaException} Kafka's client
 * fails unfinished batches with when closed with no time left (which WaterDrop reports as purged). {@code flush()} completes nothing: it returns once the records are released or the client closes. So a test decides when deliveries end, and a
 * producer's close shows which timeout it was given: with nothing released, its close ends with its
 * timeout, the held messages purged.
 */
public final class HoldingKafka implements Function<Map<String, Object>, Producer<byte[], byte[]>> {

	private final List<HoldingClient> clients = new CopyOnWriteArrayList<>();

	@Override
	public Producer<byte[], byte[]> apply(Map<String, Object> properties) {
		HoldingClient client = new HoldingClient();
		this.clients.add(client);
		return client;
	}

	/** Completes every record held so far, successfully. */
	public void release() {
		for (HoldingClient client : this.clients) {
			while (client.completeNext()) {
				// next
			}
		}
	}

	private static final class HoldingClient extends MockProducer<byte[], byte[]> {

		private final AtomicInteger pending = new AtomicInteger();

		private volatile boolean closing;

		HoldingClient() {
			super(false, null, new ByteArraySerializer(), new ByteArraySerializer());
		}

		@Override
		public synchronized Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
			this.pending.incrementAndGet();
			return super.send(record, (metadata, error) -> {
				this.pending.decrementAndGet();
				if (callback != null) {
					callback.onCompletion(metadata, error);
				}
			});
		}

		/** As Kafka's: returns once every record sent before has completed (released, or failed by a close). */
		@Override
		public void flush() {
			while (this.pending.get() > 0 && !this.closing) {
				LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
			}
		}

		@Override
		public void close(Duration timeout) {
			this.closing = true;
			synchronized (this) {
				// What Kafka's client fails unfinished batches with on a forced close (abortIncompleteBatches).
				while (errorNext(new KafkaException("Producer is closed forcefully."))) {
					// next
				}
			}
			super.close(timeout);
		}

	}

}
