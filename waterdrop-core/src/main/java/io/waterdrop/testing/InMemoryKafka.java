package io.waterdrop.testing;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.metrics.KafkaMetric;
import org.apache.kafka.common.utils.Utils;

/**
 * A Kafka stand-in for users' unit tests (WaterDrop's {@code deliver: false} and buffered client): plug it
 * in with {@code ProducerConfig.builder().clientFactory(inMemoryKafka)} and every message is "stored" at
 * once with a realistic report — per-partition offsets from 0, keyed messages partitioned by murmur2 like
 * Kafka's default partitioner — and kept for assertions. Transactions are honoured: messages of an aborted
 * transaction are dropped, as a {@code read_committed} consumer would never see them.
 * <p>
 * Threading: thread-safe. Kafka's callback runs on the sending thread, as soon as the message is sent; the
 * producer then dispatches the report on its polling thread, as with a broker.
 */
public final class InMemoryKafka implements Function<Map<String, Object>, Producer<byte[], byte[]>> {

	private final Map<String, Integer> partitionCounts = new ConcurrentHashMap<>();

	private final Map<TopicPartition, AtomicLong> nextOffsets = new ConcurrentHashMap<>();

	private final List<ProducerRecord<byte[], byte[]>> committed = new CopyOnWriteArrayList<>();

	private final Map<TopicPartition, OffsetAndMetadata> consumedOffsets = new ConcurrentHashMap<>();

	private final int defaultPartitions;

	/** Every topic has one partition unless {@link #topic(String, int)} says otherwise. */
	public InMemoryKafka() {
		this(1);
	}

	public InMemoryKafka(int defaultPartitions) {
		this.defaultPartitions = requirePartitions(defaultPartitions, "the default partition count");
	}

	/** Gives a topic its partition count. */
	public InMemoryKafka topic(String topic, int partitions) {
		this.partitionCounts.put(topic, requirePartitions(partitions, "topic '" + topic + "'"));
		return this;
	}

	private static int requirePartitions(int partitions, String of) {
		if (partitions < 1) {
			throw new IllegalArgumentException("A topic has at least one partition, but " + of + " was given "
					+ partitions);
		}
		return partitions;
	}

	/** Messages stored, committed ones only for transactional producers, in the order they were stored. */
	public List<ProducerRecord<byte[], byte[]>> records() {
		return List.copyOf(this.committed);
	}

	/** Messages stored to one topic. */
	public List<ProducerRecord<byte[], byte[]>> records(String topic) {
		return this.committed.stream().filter((record) -> record.topic().equals(topic)).toList();
	}

	/** Payloads stored to one topic, as UTF-8 text ({@code null} for tombstones). */
	public List<String> payloads(String topic) {
		return records(topic).stream()
			.map((record) -> (record.value() != null) ? new String(record.value(), StandardCharsets.UTF_8) : null)
			.toList();
	}

	/** Consumer offsets committed through transactions ({@code markAsConsumed}). */
	public Map<TopicPartition, OffsetAndMetadata> consumedOffsets() {
		return Map.copyOf(this.consumedOffsets);
	}

	/** Forgets every stored message and offset. */
	public void clear() {
		this.committed.clear();
		this.nextOffsets.clear();
		this.consumedOffsets.clear();
	}

	@Override
	public Producer<byte[], byte[]> apply(Map<String, Object> properties) {
		return new Client(properties.containsKey(ProducerConfig.TRANSACTIONAL_ID_CONFIG));
	}

	private int partitions(String topic) {
		return this.partitionCounts.getOrDefault(topic, this.defaultPartitions);
	}

	/** One producer's client. Its transaction state is guarded by WaterDrop's transaction lock. */
	private final class Client implements Producer<byte[], byte[]> {

		private final boolean transactional;

		private final AtomicInteger roundRobin = new AtomicInteger();

		private final List<ProducerRecord<byte[], byte[]>> uncommitted = new CopyOnWriteArrayList<>();

		private final Map<TopicPartition, OffsetAndMetadata> uncommittedOffsets = new ConcurrentHashMap<>();

		private volatile boolean inTransaction;

		private volatile boolean closed;

		Client(boolean transactional) {
			this.transactional = transactional;
		}

		@Override
		public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
			if (this.closed) {
				throw new IllegalStateException("Cannot perform operation after producer has been closed");
			}
			if (this.transactional && !this.inTransaction) {
				throw new IllegalStateException("Cannot send a record outside a transaction");
			}
			int partition = partitionOf(record);
			TopicPartition topicPartition = new TopicPartition(record.topic(), partition);
			long offset = InMemoryKafka.this.nextOffsets.computeIfAbsent(topicPartition, (key) -> new AtomicLong())
				.getAndIncrement();
			long timestamp = (record.timestamp() != null) ? record.timestamp() : System.currentTimeMillis();
			ProducerRecord<byte[], byte[]> stored = new ProducerRecord<>(record.topic(), partition, timestamp,
					record.key(), record.value(), record.headers());
			(this.transactional ? this.uncommitted : InMemoryKafka.this.committed).add(stored);
			RecordMetadata metadata = new RecordMetadata(topicPartition, offset, 0, timestamp,
					(record.key() != null) ? record.key().length : -1,
					(record.value() != null) ? record.value().length : -1);
			if (callback != null) {
				callback.onCompletion(metadata, null);
			}
			return CompletableFuture.completedFuture(metadata);
		}

		private int partitionOf(ProducerRecord<byte[], byte[]> record) {
			if (record.partition() != null) {
				return record.partition();
			}
			int partitions = partitions(record.topic());
			if (record.key() != null) {
				return Utils.toPositive(Utils.murmur2(record.key())) % partitions;
			}
			return Utils.toPositive(this.roundRobin.getAndIncrement()) % partitions;
		}

		@Override
		public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record) {
			return send(record, null);
		}

		@Override
		public void initTransactions() {
		}

		@Override
		public void beginTransaction() {
			this.inTransaction = true;
		}

		@Override
		public void sendOffsetsToTransaction(Map<TopicPartition, OffsetAndMetadata> offsets,
				ConsumerGroupMetadata groupMetadata) {
			this.uncommittedOffsets.putAll(offsets);
		}

		@Override
		public void commitTransaction() {
			InMemoryKafka.this.committed.addAll(new ArrayList<>(this.uncommitted));
			InMemoryKafka.this.consumedOffsets.putAll(this.uncommittedOffsets);
			endTransaction();
		}

		@Override
		public void abortTransaction() {
			endTransaction();
		}

		private void endTransaction() {
			this.uncommitted.clear();
			this.uncommittedOffsets.clear();
			this.inTransaction = false;
		}

		@Override
		public void flush() {
		}

		@Override
		public List<PartitionInfo> partitionsFor(String topic) {
			List<PartitionInfo> infos = new ArrayList<>();
			for (int partition = 0; partition < partitions(topic); partition++) {
				infos.add(new PartitionInfo(topic, partition, null, null, null));
			}
			return infos;
		}

		@Override
		public Map<MetricName, ? extends Metric> metrics() {
			return Map.of();
		}

		@Override
		public Uuid clientInstanceId(Duration timeout) {
			return Uuid.ZERO_UUID;
		}

		@Override
		public void registerMetricForSubscription(KafkaMetric metric) {
		}

		@Override
		public void unregisterMetricFromSubscription(KafkaMetric metric) {
		}

		@Override
		public void close() {
			this.closed = true;
		}

		@Override
		public void close(Duration timeout) {
			this.closed = true;
		}

	}

}
