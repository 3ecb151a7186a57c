package io.waterdrop.autoconfigure;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A Kafka client factory whose clients hold every record in flight until {@link #release()} is called, or
 * until they are closed, which fails what they still hold as Kafka's client fails unfinished batches when
 * closed with no time left (a plain {@code KafkaException}, "closed forcefully", which WaterDrop reports as
 * purged). {@code flush()} completes nothing. So a test decides when deliveries end, and a
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

		HoldingClient() {
			super(false, null, new ByteArraySerializer(), new ByteArraySerializer());
		}

		@Override
		public synchronized void flush() {
			// holds on
		}

		@Override
		public void close(Duration timeout) {
			synchronized (this) {
				// What Kafka's client does to the batches a close leaves unsent (RecordAccumulator).
				while (errorNext(new KafkaException("Producer is closed forcefully."))) {
					// next
				}
			}
			super.close(timeout);
		}

	}

}
