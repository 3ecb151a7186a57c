package io.waterdrop.autoconfigure;

import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
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

import org.springframework.boot.kafka.autoconfigure.DefaultKafkaProducerFactoryCustomizer;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;

/**
 * Creates the Kafka client of one WaterDrop producer through a spring-kafka
 * {@link DefaultKafkaProducerFactory}, so that every {@link DefaultKafkaProducerFactoryCustomizer} (Boot's
 * Kafka client metrics among them) applies to it as to Boot's own factory.
 * <p>
 * Each client gets a factory of its own. The factory is not a bean: nothing but the returned client knows
 * it, and closing the client destroys it, which is what really closes the Kafka client (the factory's
 * shared producer ignores {@code close()}).
 */
final class KafkaClientFactory implements Function<Map<String, Object>, Producer<byte[], byte[]>> {

	/** Prefix spring-kafka gives the ids it reports clients under to factory listeners (metrics). */
	private static final String FACTORY_NAME = "waterdrop";

	private final List<DefaultKafkaProducerFactoryCustomizer> customizers;

	KafkaClientFactory(List<DefaultKafkaProducerFactoryCustomizer> customizers) {
		this.customizers = customizers;
	}

	@Override
	public Producer<byte[], byte[]> apply(Map<String, Object> properties) {
		DefaultKafkaProducerFactory<byte[], byte[]> factory = new DefaultKafkaProducerFactory<>(properties);
		// No application context on purpose: spring-kafka would derive a client-id prefix from it and react to
		// context events; this factory serves one client whose life the WaterDrop producer owns.
		factory.setBeanName(FACTORY_NAME);
		// One client per factory: keep client.id as configured instead of spring-kafka's "<client.id>-<n>".
		factory.updateConfigs(Collections.singletonMap(ProducerConfig.CLIENT_ID_CONFIG, null));
		this.customizers.forEach((customizer) -> customizer.customize(factory));
		// Customizers are written for Boot's factory and may set serializers meant for its KafkaTemplate;
		// WaterDrop serializes messages itself and hands the client bytes.
		factory.setKeySerializer(new ByteArraySerializer());
		factory.setValueSerializer(new ByteArraySerializer());
		return new FactoryOwningClient(factory, factory.createNonTransactionalProducer());
	}

	/**
	 * Delegates to the factory's producer; {@link #close(Duration)} destroys the factory, which closes the
	 * Kafka client within the timeout rounded up to whole seconds (spring-kafka's granularity; zero stays
	 * zero, which is what a forced close needs).
	 */
	static final class FactoryOwningClient implements Producer<byte[], byte[]> {

		private final DefaultKafkaProducerFactory<byte[], byte[]> factory;

		private final Producer<byte[], byte[]> delegate;

		FactoryOwningClient(DefaultKafkaProducerFactory<byte[], byte[]> factory, Producer<byte[], byte[]> delegate) {
			this.factory = factory;
			this.delegate = delegate;
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
			this.factory.setPhysicalCloseTimeout(wholeSeconds(timeout));
			this.factory.destroy();
		}

		private static int wholeSeconds(Duration timeout) {
			long seconds = timeout.toSeconds() + ((timeout.toNanosPart() > 0) ? 1 : 0);
			return (int) Math.min(Math.max(seconds, 0), Integer.MAX_VALUE);
		}

	}

}
