package io.waterdrop.testing;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.Partitioner;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerInterceptor;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.metrics.KafkaMetric;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Kafka stand-in for users' unit tests (WaterDrop's {@code deliver: false} and buffered client): plug it
 * in with {@code ProducerConfig.builder().clientFactory(inMemoryKafka)} and every message is "stored" at
 * once with a realistic report — per-partition offsets from 0, taken as messages are sent (an aborted
 * transaction's leave gaps, as in Kafka) and in the order stored; keyed messages partitioned by murmur2 like
 * Kafka's default partitioner — and kept for assertions, a transaction's at its commit (so concurrent
 * transactions appear in the order they commit). The client
 * settings that decide what is stored work as in Kafka's client: {@code partitioner.class},
 * {@code partitioner.ignore.keys} and {@code interceptor.classes}. Transactions are honoured: messages of
 * an aborted transaction are dropped, as a {@code read_committed} consumer would never see them.
 * <p>
 * Threading: thread-safe. Kafka's callback runs on the sending thread, as soon as the message is sent; the
 * producer then dispatches the report on its polling thread, as with a broker.
 */
public final class InMemoryKafka implements Function<Map<String, Object>, Producer<byte[], byte[]>> {

	private static final Logger logger = LoggerFactory.getLogger(InMemoryKafka.class);

	/** The one "broker": leader and replica of every partition, for partitioners that ask. */
	private static final Node BROKER = new Node(0, "in-memory", 9092);

	/** The settings of Kafka's client that change what is stored; the others do not apply here. */
	private static final ConfigDef CLIENT_SETTINGS = new ConfigDef()
		.define(ProducerConfig.PARTITIONER_CLASS_CONFIG, ConfigDef.Type.CLASS, null, ConfigDef.Importance.LOW,
				"Kafka's partitioner.class")
		.define(ProducerConfig.PARTITIONER_IGNORE_KEYS_CONFIG, ConfigDef.Type.BOOLEAN, false,
				ConfigDef.Importance.LOW, "Kafka's partitioner.ignore.keys")
		.define(ProducerConfig.INTERCEPTOR_CLASSES_CONFIG, ConfigDef.Type.LIST, List.of(), ConfigDef.Importance.LOW,
				"Kafka's interceptor.classes");

	private final Map<String, Integer> partitionCounts = new ConcurrentHashMap<>();

	/**
	 * Guards the log: an offset is taken and its message stored in one step, so that the stored order is
	 * the offsets' order within each partition, whatever threads send at once.
	 */
	private final ReentrantLock logLock = new ReentrantLock();

	private final Map<TopicPartition, Long> nextOffsets = new HashMap<>();

	private final List<ProducerRecord<byte[], byte[]>> committed = new ArrayList<>();

	private final Map<TopicPartition, OffsetAndMetadata> consumedOffsets = new HashMap<>();

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
		this.logLock.lock();
		try {
			return List.copyOf(this.committed);
		}
		finally {
			this.logLock.unlock();
		}
	}

	/** Messages stored to one topic. */
	public List<ProducerRecord<byte[], byte[]>> records(String topic) {
		return records().stream().filter((record) -> record.topic().equals(topic)).toList();
	}

	/** Payloads stored to one topic, as UTF-8 text ({@code null} for tombstones). */
	public List<String> payloads(String topic) {
		return records(topic).stream()
			.map((record) -> (record.value() != null) ? new String(record.value(), StandardCharsets.UTF_8) : null)
			.toList();
	}

	/** Consumer offsets committed through transactions ({@code markAsConsumed}). */
	public Map<TopicPartition, OffsetAndMetadata> consumedOffsets() {
		this.logLock.lock();
		try {
			return Map.copyOf(this.consumedOffsets);
		}
		finally {
			this.logLock.unlock();
		}
	}

	/** Forgets every stored message and offset. */
	public void clear() {
		this.logLock.lock();
		try {
			this.committed.clear();
			this.nextOffsets.clear();
			this.consumedOffsets.clear();
		}
		finally {
			this.logLock.unlock();
		}
	}

	/**
	 * A client for one producer. Its settings are checked as Kafka's client checks them: a partitioner or
	 * interceptor class that cannot be loaded fails here with Kafka's {@code ConfigException}.
	 */
	@Override
	public Producer<byte[], byte[]> apply(Map<String, Object> properties) {
		return new Client(properties);
	}

	private int partitions(String topic) {
		return this.partitionCounts.getOrDefault(topic, this.defaultPartitions);
	}

	private List<PartitionInfo> partitionInfos(String topic) {
		List<PartitionInfo> infos = new ArrayList<>();
		Node[] replicas = { BROKER };
		for (int partition = 0; partition < partitions(topic); partition++) {
			infos.add(new PartitionInfo(topic, partition, BROKER, replicas, replicas));
		}
		return infos;
	}

	/** Takes the partition's next offset and stores the message, in one step. */
	private long store(ProducerRecord<byte[], byte[]> stored, TopicPartition partition,
			List<ProducerRecord<byte[], byte[]>> into) {
		this.logLock.lock();
		try {
			long offset = this.nextOffsets.merge(partition, 1L, Long::sum) - 1;
			into.add(stored);
			return offset;
		}
		finally {
			this.logLock.unlock();
		}
	}

	private void commit(List<ProducerRecord<byte[], byte[]>> records,
			Map<TopicPartition, OffsetAndMetadata> offsets) {
		this.logLock.lock();
		try {
			this.committed.addAll(records);
			this.consumedOffsets.putAll(offsets);
		}
		finally {
			this.logLock.unlock();
		}
	}

	/**
	 * One producer's client. Its transaction state is guarded by WaterDrop's transaction lock; its list of
	 * uncommitted messages by the log's lock.
	 */
	private final class Client implements Producer<byte[], byte[]> {

		private final boolean transactional;

		private final Partitioner partitioner;

		private final boolean partitionerIgnoresKeys;

		private final List<ProducerInterceptor<byte[], byte[]>> interceptors;

		private final AtomicInteger roundRobin = new AtomicInteger();

		private final List<ProducerRecord<byte[], byte[]>> uncommitted = new ArrayList<>();

		private final Map<TopicPartition, OffsetAndMetadata> uncommittedOffsets = new ConcurrentHashMap<>();

		private volatile boolean inTransaction;

		private final AtomicBoolean closed = new AtomicBoolean();

		/** The error of a send that failed in the open transaction: Kafka's client then refuses the commit. */
		private volatile RuntimeException abortableError;

		/**
		 * As Kafka's client: a setting that cannot be parsed (a partitioner class that is not there) fails with
		 * {@code ConfigException}; one that fails as the client makes what it names (an interceptor that is no
		 * interceptor) with "Failed to construct kafka producer", after what was made is closed.
		 */
		@SuppressWarnings("unchecked")
		Client(Map<String, Object> properties) {
			this.transactional = properties.containsKey(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
			AbstractConfig settings = new AbstractConfig(CLIENT_SETTINGS, properties, false);
			this.partitionerIgnoresKeys = settings.getBoolean(ProducerConfig.PARTITIONER_IGNORE_KEYS_CONFIG);
			Partitioner made = null;
			List<?> interceptorsMade;
			try {
				made = settings.getConfiguredInstance(ProducerConfig.PARTITIONER_CLASS_CONFIG, Partitioner.class);
				interceptorsMade = settings.getConfiguredInstances(ProducerConfig.INTERCEPTOR_CLASSES_CONFIG,
						ProducerInterceptor.class);
			}
			catch (Throwable ex) { // the interceptors made before a failing one are closed by Kafka's config
				if (made != null) {
					Utils.closeQuietly(made, "partitioner");
				}
				throw new KafkaException("Failed to construct kafka producer", ex);
			}
			this.partitioner = made;
			this.interceptors = (List<ProducerInterceptor<byte[], byte[]>>) interceptorsMade;
		}

		@Override
		public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
			// As Kafka's client: the interceptors see the record first, and hear of a refusal before it is thrown.
			ProducerRecord<byte[], byte[]> intercepted = intercept(record);
			int partition;
			try {
				if (this.closed.get()) {
					throw new IllegalStateException("Cannot perform operation after producer has been closed");
				}
				if (this.transactional && !this.inTransaction) {
					throw new IllegalStateException("Cannot send a record outside a transaction");
				}
				partition = partitionOf(intercepted, partitions(intercepted.topic()));
				RuntimeException failed = this.abortableError;
				if (failed != null) { // as Kafka's client: the transaction can only be aborted now
					throw new KafkaException("Cannot perform send because at least one previous transactional or "
							+ "idempotent request has failed with errors.", failed);
				}
			}
			catch (RuntimeException ex) {
				acknowledge(unsent(intercepted.topic(), intercepted.partition()), ex);
				throw ex;
			}
			int partitions = partitions(intercepted.topic());
			TopicPartition topicPartition = new TopicPartition(intercepted.topic(), partition);
			if (partition >= partitions) {
				// Kafka's client queues it for a partition its metadata lacks; it expires after delivery.timeout.ms.
				TimeoutException expired = new TimeoutException("Partition %d of topic %s with partition count %d "
						.formatted(partition, intercepted.topic(), partitions)
						+ "is not present in InMemoryKafka; give the topic more with topic(name, partitions)");
				if (this.inTransaction) {
					this.abortableError = expired;
				}
				complete(unsent(intercepted.topic(), partition), expired, callback);
				return CompletableFuture.failedFuture(expired);
			}
			long timestamp = (intercepted.timestamp() != null) ? intercepted.timestamp() : System.currentTimeMillis();
			ProducerRecord<byte[], byte[]> stored = new ProducerRecord<>(intercepted.topic(), partition, timestamp,
					intercepted.key(), intercepted.value(), intercepted.headers());
			long offset = store(stored, topicPartition,
					this.transactional ? this.uncommitted : InMemoryKafka.this.committed);
			RecordMetadata metadata = new RecordMetadata(topicPartition, offset, 0, timestamp,
					(intercepted.key() != null) ? intercepted.key().length : -1,
					(intercepted.value() != null) ? intercepted.value().length : -1);
			complete(metadata, null, callback);
			return CompletableFuture.completedFuture(metadata);
		}

		/** As Kafka's client: each interceptor sees what the one before returned; one that throws is skipped. */
		private ProducerRecord<byte[], byte[]> intercept(ProducerRecord<byte[], byte[]> record) {
			ProducerRecord<byte[], byte[]> intercepted = record;
			for (ProducerInterceptor<byte[], byte[]> interceptor : this.interceptors) {
				try {
					intercepted = interceptor.onSend(intercepted);
				}
				catch (RuntimeException ex) {
					logger.warn("Error executing interceptor onSend callback for topic: {}", record.topic(), ex);
				}
			}
			return intercepted;
		}

		/** As Kafka's client: the interceptors hear of the outcome first, then the callback. */
		private void complete(RecordMetadata metadata, Exception exception, Callback callback) {
			acknowledge(metadata, exception);
			if (callback != null) {
				callback.onCompletion(metadata, exception);
			}
		}

		private void acknowledge(RecordMetadata metadata, Exception exception) {
			for (ProducerInterceptor<byte[], byte[]> interceptor : this.interceptors) {
				try {
					interceptor.onAcknowledgement(metadata, exception);
				}
				catch (RuntimeException ex) {
					logger.warn("Error executing interceptor onAcknowledgement callback", ex);
				}
			}
		}

		/** The metadata Kafka's client reports for a record it did not store. */
		private static RecordMetadata unsent(String topic, Integer partition) {
			return new RecordMetadata(new TopicPartition(topic, (partition != null) ? partition
					: RecordMetadata.UNKNOWN_PARTITION), -1, -1, RecordBatch.NO_TIMESTAMP, -1, -1);
		}

		private int partitionOf(ProducerRecord<byte[], byte[]> record, int partitions) {
			if (record.partition() != null) {
				return record.partition();
			}
			if (this.partitioner != null) {
				int partition = this.partitioner.partition(record.topic(), record.key(), record.key(), record.value(),
						record.value(), new Cluster("in-memory", List.of(BROKER), partitionInfos(record.topic()),
								Set.of(), Set.of()));
				if (partition < 0) {
					throw new IllegalArgumentException(("The partitioner generated an invalid partition number: %d. "
							+ "Partition number should always be non-negative.").formatted(partition));
				}
				return partition;
			}
			if (record.key() != null && !this.partitionerIgnoresKeys) {
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
			RuntimeException failed = this.abortableError;
			if (failed != null) {
				throw new KafkaException("Cannot execute transactional method because we are in an error state",
						failed);
			}
			this.uncommittedOffsets.putAll(offsets);
		}

		@Override
		public void commitTransaction() {
			RuntimeException failed = this.abortableError;
			if (failed != null) { // as Kafka's client: the transaction can only be aborted now
				throw new KafkaException("Cannot execute transactional method because we are in an error state",
						failed);
			}
			commit(this.uncommitted, this.uncommittedOffsets);
			endTransaction();
		}

		@Override
		public void abortTransaction() {
			endTransaction();
		}

		private void endTransaction() {
			InMemoryKafka.this.logLock.lock();
			try {
				this.uncommitted.clear();
			}
			finally {
				InMemoryKafka.this.logLock.unlock();
			}
			this.uncommittedOffsets.clear();
			this.abortableError = null;
			this.inTransaction = false;
		}

		@Override
		public void flush() {
		}

		@Override
		public List<PartitionInfo> partitionsFor(String topic) {
			return partitionInfos(topic);
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
			close(Duration.ZERO);
		}

		/** As Kafka's client, closes the partitioner and interceptors it made, once. */
		@Override
		public void close(Duration timeout) {
			if (this.closed.compareAndSet(false, true)) {
				this.interceptors.forEach((interceptor) -> Utils.closeQuietly(interceptor, "interceptor"));
				if (this.partitioner != null) {
					Utils.closeQuietly(this.partitioner, "partitioner");
				}
			}
		}

	}

}
