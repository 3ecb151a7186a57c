package io.waterdrop.autoconfigure;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
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
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.kafka.autoconfigure.DefaultKafkaProducerFactoryCustomizer;
import org.springframework.context.ApplicationContext;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.ProducerFactory;

/**
 * Creates the Kafka clients of one WaterDrop producer through a spring-kafka
 * {@link DefaultKafkaProducerFactory} to which every {@link DefaultKafkaProducerFactoryCustomizer} is
 * applied, in order, as to Boot's own factory: what customizers set (configs, producer post-processors,
 * factory listeners such as Boot's Kafka client metrics) applies to WaterDrop's clients too.
 * <p>
 * Each client gets a factory of its own, used for that one client and not a bean. The factory's usual
 * {@code createProducer()} is bypassed: its shared {@code CloseSafeProducer} ignores {@code close()}, closes
 * the client by itself after some send errors, and turns a {@code transactional.id} into the prefix of a
 * cache of its own. WaterDrop owns its client's whole life, transactions and reloads included, so it gets the
 * raw client; the factory's listeners are told when it is added and when it is closed, with the id
 * {@code waterdrop.<producer name>} (where Boot's factory uses its bean name).
 * <p>
 * Each factory gets the {@link ApplicationContext}, as Boot's factory bean gets it: spring-kafka creates the
 * client with the context's class loader as the thread's context class loader, so that Kafka loads the
 * classes named in its settings (partitioner, interceptors, SASL callback handlers) from the application's
 * class loader, also under devtools' restart class loader and on whatever thread connects the producer.
 */
final class KafkaClientFactory implements Function<Map<String, Object>, Producer<byte[], byte[]>> {

	private final String producerName;

	private final List<DefaultKafkaProducerFactoryCustomizer> customizers;

	private final List<WaterDropKafkaClientFactoryCustomizer> clientFactoryCustomizers;

	private final @Nullable ApplicationContext applicationContext;

	KafkaClientFactory(String producerName, List<DefaultKafkaProducerFactoryCustomizer> customizers,
			List<WaterDropKafkaClientFactoryCustomizer> clientFactoryCustomizers,
			@Nullable ApplicationContext applicationContext) {
		this.producerName = producerName;
		this.customizers = customizers;
		this.clientFactoryCustomizers = clientFactoryCustomizers;
		this.applicationContext = applicationContext;
	}

	@Override
	public Producer<byte[], byte[]> apply(Map<String, Object> properties) {
		SingleClientFactory factory = new SingleClientFactory(properties, "waterdrop." + this.producerName);
		if (this.applicationContext != null) {
			factory.setApplicationContext(this.applicationContext);
		}
		this.customizers.forEach((customizer) -> customizer.customize(factory));
		this.clientFactoryCustomizers.forEach((customizer) -> customizer.customize(this.producerName, factory));
		return factory.createClient(properties);
	}

	private static final class SingleClientFactory extends DefaultKafkaProducerFactory<byte[], byte[]> {

		private final String listenerId;

		SingleClientFactory(Map<String, Object> properties, String listenerId) {
			super(properties);
			this.listenerId = listenerId;
		}

		Producer<byte[], byte[]> createClient(Map<String, Object> properties) {
			Map<String, Object> configs = new HashMap<>(getConfigurationProperties());
			// The identity WaterDrop gave the client, whatever the factory made of it (the constructor moves
			// transactional.id into a prefix; updateConfigs would turn client.id into one).
			configs.put(ProducerConfig.CLIENT_ID_CONFIG, properties.get(ProducerConfig.CLIENT_ID_CONFIG));
			if (properties.get(ProducerConfig.TRANSACTIONAL_ID_CONFIG) != null) {
				configs.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, properties.get(ProducerConfig.TRANSACTIONAL_ID_CONFIG));
			}
			// Customizers are written for Boot's factory and may set serializers meant for its KafkaTemplate;
			// WaterDrop serializes messages itself and hands the client bytes.
			setKeySerializer(new ByteArraySerializer());
			setValueSerializer(new ByteArraySerializer());
			Producer<byte[], byte[]> client = createRawProducer(configs);
			List<ProducerFactory.Listener<byte[], byte[]>> listeners = List.copyOf(getListeners());
			listeners.forEach((listener) -> listener.producerAdded(this.listenerId, client));
			return new ListenedClient(client,
					() -> listeners.forEach((listener) -> listener.producerRemoved(this.listenerId, client)));
		}

	}

	/**
	 * Delegates to the raw client and tells the factory's listeners once it is closed. The first close closes
	 * the client for good (Kafka force-closes what its timeout leaves), so later ones do nothing.
	 */
	static final class ListenedClient implements Producer<byte[], byte[]> {

		private final Producer<byte[], byte[]> delegate;

		private final Runnable closed;

		private final AtomicBoolean closing = new AtomicBoolean();

		ListenedClient(Producer<byte[], byte[]> delegate, Runnable closed) {
			this.delegate = delegate;
			this.closed = closed;
		}

		@Override
		public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record) {
			return this.delegate.send(record);
		}

		@Override
		public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
			return this.delegate.send(record, callback);
		}

		@Override
		public void flush() {
			this.delegate.flush();
		}

		@Override
		public List<PartitionInfo> partitionsFor(String topic) {
			return this.delegate.partitionsFor(topic);
		}

		@Override
		public Map<MetricName, ? extends Metric> metrics() {
			return this.delegate.metrics();
		}

		@Override
		public void registerMetricForSubscription(KafkaMetric metric) {
			this.delegate.registerMetricForSubscription(metric);
		}

		@Override
		public void unregisterMetricFromSubscription(KafkaMetric metric) {
			this.delegate.unregisterMetricFromSubscription(metric);
		}

		@Override
		public Uuid clientInstanceId(Duration timeout) {
			return this.delegate.clientInstanceId(timeout);
		}

		@Override
		public void initTransactions() {
			this.delegate.initTransactions();
		}

		@Override
		public void beginTransaction() {
			this.delegate.beginTransaction();
		}

		@Override
		public void sendOffsetsToTransaction(Map<TopicPartition, OffsetAndMetadata> offsets,
				ConsumerGroupMetadata groupMetadata) {
			this.delegate.sendOffsetsToTransaction(offsets, groupMetadata);
		}

		@Override
		public void commitTransaction() {
			this.delegate.commitTransaction();
		}

		@Override
		public void abortTransaction() {
			this.delegate.abortTransaction();
		}

		@Override
		public void close() {
			close(Duration.ofMillis(Long.MAX_VALUE));
		}

		@Override
		public void close(Duration timeout) {
			if (this.closing.compareAndSet(false, true)) {
				try {
					this.delegate.close(timeout);
				}
				finally {
					this.closed.run();
				}
			}
		}

	}

}
