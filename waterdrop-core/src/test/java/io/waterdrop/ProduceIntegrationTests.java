package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.StreamSupport;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.PollingMode;
import io.waterdrop.testing.KafkaTestBroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Round trips through a real broker: what a consumer reads back must be exactly what was produced, and
 * the delivery reports must point at the records the consumer sees.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProduceIntegrationTests {

	private static final Duration CONSUME_TIMEOUT = Duration.ofSeconds(20);

	private final TestProducers producers = new TestProducers();

	@AfterEach
	void closeProducers() {
		this.producers.closeAll();
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void produceSyncDeliversKeyHeadersPayloadPartitionAndLabel(PollingMode mode) {
		String topic = topic("produce-sync", 3);
		Producer producer = this.producers.create(TestProducers.config("sync").pollingMode(mode));
		List<ProducerEvent.MessageAcknowledged> acknowledged = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.MessageAcknowledged.class, acknowledged::add);
		Object label = new Object();
		Instant timestamp = Instant.parse("2024-05-01T12:00:00.123Z");
		Message message = Message.builder(topic)
			.key("order-1")
			.payload("hello, kafka")
			.partition(2)
			.header("trace", "t-1")
			.header("trace", "t-2")
			.header("binary", new byte[] { 0, -1, 7 })
			.header("empty", (byte[]) null)
			.timestamp(timestamp)
			.label(label)
			.build();

		DeliveryReport report = producer.produceSync(message);

		assertThat(report.topic()).isEqualTo(topic);
		assertThat(report.partition()).isEqualTo(2);
		assertThat(report.offset()).isZero();
		assertThat(report.timestamp()).isEqualTo(timestamp);
		assertThat(report.label()).isSameAs(label);
		assertRecordMatches(KafkaTestBroker.consume(topic, 1, CONSUME_TIMEOUT).get(0), message, report);
		await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(acknowledged).singleElement().satisfies((event) -> {
			assertThat(event.producerId()).isEqualTo(producer.id());
			assertThat(event.report()).isEqualTo(report);
			assertThat(event.report().label()).isSameAs(label);
		}));
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.inFlight() == 0);
		assertThat(producer.stats().producedSync()).isEqualTo(1);
		assertThat(producer.stats().producedAsync()).isZero();
		assertThat(producer.stats().acknowledged()).isEqualTo(1);
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void produceAsyncReportsThePartitionsAndOffsetsTheConsumerSees(PollingMode mode) {
		String topic = topic("produce-async", 3);
		Producer producer = this.producers.create(TestProducers.config("async").pollingMode(mode));
		List<ProducerEvent.MessageAcknowledged> acknowledged = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.MessageAcknowledged.class, acknowledged::add);
		List<Message> messages = mixedMessages(topic, 40);
		Map<Object, DeliveryReport> callbackReports = new ConcurrentHashMap<>();
		List<Throwable> callbackFailures = new CopyOnWriteArrayList<>();

		List<DeliveryHandle> handles = messages.stream()
			.map((message) -> producer.produceAsync(message, (report, failure) -> {
				if (failure != null) {
					callbackFailures.add(failure);
				}
				else {
					callbackReports.put(report.label(), report);
				}
			}))
			.toList();
		List<DeliveryReport> reports = handles.stream().map(DeliveryHandle::await).toList();

		assertDelivered(topic, messages, reports);
		assertThat(handles).allSatisfy((handle) -> assertThat(handle.label()).isSameAs(handle.message().label()));
		assertThat(callbackFailures).isEmpty();
		// Callbacks see the very reports the handles complete with.
		await().atMost(Duration.ofSeconds(30)).until(() -> callbackReports.size() == messages.size());
		reports.forEach((report) -> assertThat(callbackReports.get(report.label())).isEqualTo(report));
		await().atMost(Duration.ofSeconds(30)).until(() -> acknowledged.size() == messages.size());
		assertThat(acknowledged).extracting(ProducerEvent.MessageAcknowledged::report)
			.containsExactlyInAnyOrderElementsOf(reports);
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.inFlight() == 0);
		assertThat(producer.stats().producedAsync()).isEqualTo(messages.size());
		assertThat(producer.stats().acknowledged()).isEqualTo(messages.size());
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void produceManySyncReturnsReportsInMessageOrder(PollingMode mode) {
		String topic = topic("produce-many-sync", 3);
		Producer producer = this.producers.create(TestProducers.config("many-sync").pollingMode(mode));
		List<ProducerEvent.MessagesProduced> produced = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.MessagesProduced.class, produced::add);
		List<Message> messages = mixedMessages(topic, 60);

		List<DeliveryReport> reports = producer.produceManySync(messages);

		assertDelivered(topic, messages, reports);
		assertThat(produced).singleElement().satisfies((event) -> {
			assertThat(event.mode()).isEqualTo(ProducerEvent.Mode.SYNC);
			assertThat(event.messages()).isEqualTo(messages);
		});
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.inFlight() == 0);
		assertThat(producer.stats().producedSync()).isEqualTo(messages.size());
		assertThat(producer.stats().acknowledged()).isEqualTo(messages.size());
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void produceManyAsyncReturnsHandlesInMessageOrder(PollingMode mode) {
		String topic = topic("produce-many-async", 3);
		Producer producer = this.producers.create(TestProducers.config("many-async").pollingMode(mode));
		List<ProducerEvent.MessageAcknowledged> acknowledged = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.MessageAcknowledged.class, acknowledged::add);
		List<Message> messages = mixedMessages(topic, 60);

		List<DeliveryHandle> handles = producer.produceManyAsync(messages);
		List<DeliveryReport> reports = handles.stream().map(DeliveryHandle::await).toList();

		assertThat(handles).extracting(DeliveryHandle::message).isEqualTo(messages);
		assertDelivered(topic, messages, reports);
		await().atMost(Duration.ofSeconds(30)).until(() -> acknowledged.size() == messages.size());
		assertThat(acknowledged).extracting((event) -> event.report().label())
			.containsExactlyInAnyOrderElementsOf(messages.stream().map(Message::label).toList());
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.inFlight() == 0);
		assertThat(producer.stats().producedAsync()).isEqualTo(messages.size());
		assertThat(producer.stats().acknowledged()).isEqualTo(messages.size());
	}

	@Test
	void partitionKeyLandsWhereKafkaPartitionsTheSameKeyBytes() throws Exception {
		int partitions = 7;
		String topic = topic("partition-key", partitions);
		Producer producer = this.producers.create(TestProducers.config("partition-key"));
		List<String> partitionKeys = new ArrayList<>(
				IntStream.range(0, 40).mapToObj((i) -> "customer-" + i).toList());
		partitionKeys.addAll(List.of("ключ-ü-\uD83D\uDE00", "", "a"));
		List<Message> messages = new ArrayList<>();
		for (int i = 0; i < partitionKeys.size(); i++) {
			// Half carry a record key of their own: the partition key must not replace it.
			Message.Builder builder = Message.builder(topic)
				.partitionKey(partitionKeys.get(i))
				.payload("waterdrop-" + i)
				.label(partitionKeys.get(i));
			messages.add(((i % 2 == 0) ? builder.key("record-key-" + i) : builder).build());
		}

		List<DeliveryReport> reports = producer.produceManySync(messages);

		Map<String, Object> properties = KafkaTestBroker.clientProperties();
		properties.put(org.apache.kafka.clients.producer.ProducerConfig.LINGER_MS_CONFIG, 0);
		try (KafkaProducer<byte[], byte[]> plain = new KafkaProducer<>(properties, new ByteArraySerializer(),
				new ByteArraySerializer())) {
			List<Future<RecordMetadata>> sent = partitionKeys.stream()
				.map((key) -> plain.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8),
						"plain".getBytes(StandardCharsets.UTF_8))))
				.toList();
			for (int i = 0; i < partitionKeys.size(); i++) {
				byte[] keyBytes = partitionKeys.get(i).getBytes(StandardCharsets.UTF_8);
				int kafkaPartition = sent.get(i).get(30, TimeUnit.SECONDS).partition();
				assertThat(reports.get(i).partition()).as("partition of partition key '%s'", partitionKeys.get(i))
					.isEqualTo(kafkaPartition)
					.isEqualTo(Utils.toPositive(Utils.murmur2(keyBytes)) % partitions);
			}
		}
		assertThat(reports.stream().map(DeliveryReport::partition).distinct().count())
			.as("keys spread over several partitions, else the comparison proves little")
			.isGreaterThanOrEqualTo(4);
		List<ConsumerRecord<byte[], byte[]>> records = KafkaTestBroker
			.consume(topic, 2 * partitionKeys.size(), CONSUME_TIMEOUT)
			.stream()
			.filter((record) -> new String(record.value(), StandardCharsets.UTF_8).startsWith("waterdrop-"))
			.toList();
		assertThat(records).hasSize(messages.size());
		for (ConsumerRecord<byte[], byte[]> record : records) {
			int index = Integer.parseInt(new String(record.value(), StandardCharsets.UTF_8).substring(10));
			assertRecordMatches(record, messages.get(index), reports.get(index));
		}
	}

	private static String topic(String prefix, int partitions) {
		String topic = KafkaTestBroker.uniqueTopic(prefix);
		KafkaTestBroker.createTopic(topic, partitions);
		return topic;
	}

	/**
	 * Messages exercising every way to pick a partition (explicit, record key, partition key, none) and both
	 * payload types, each with a unique label and payload.
	 */
	private static List<Message> mixedMessages(String topic, int count) {
		List<Message> messages = new ArrayList<>();
		for (int i = 0; i < count; i++) {
			Message.Builder builder = Message.builder(topic).label("label-" + i).header("index", String.valueOf(i));
			switch (i % 4) {
				case 0 -> builder.partition((i / 4) % 3).key("key-" + i).payload("payload-" + i);
				case 1 -> builder.key(("key-" + i).getBytes(StandardCharsets.UTF_8)).payload("payload-" + i);
				case 2 -> builder.payload(("payload-" + i).getBytes(StandardCharsets.UTF_8));
				default -> builder.partitionKey("pk-" + i).key("key-" + i).payload("payload-" + i);
			}
			messages.add(builder.build());
		}
		return messages;
	}

	/**
	 * Reads the topic back: exactly one record per message, each at the partition and offset of its report,
	 * with the message's key, headers and payload, and per partition in the order of the messages.
	 */
	private static void assertDelivered(String topic, List<Message> messages, List<DeliveryReport> reports) {
		assertThat(reports).hasSameSizeAs(messages);
		Map<String, ConsumerRecord<byte[], byte[]>> byPosition = new HashMap<>();
		KafkaTestBroker.consume(topic, messages.size(), CONSUME_TIMEOUT)
			.forEach((record) -> byPosition.put(record.partition() + "@" + record.offset(), record));
		Map<Integer, Long> lastOffsets = new HashMap<>();
		for (int i = 0; i < messages.size(); i++) {
			Message message = messages.get(i);
			DeliveryReport report = reports.get(i);
			assertThat(report.label()).isSameAs(message.label());
			if (message.partition() != null) {
				assertThat(report.partition()).isEqualTo(message.partition());
			}
			ConsumerRecord<byte[], byte[]> record = byPosition.get(report.partition() + "@" + report.offset());
			assertThat(record).as("record at the partition and offset of the report of %s", message.label())
				.isNotNull();
			assertRecordMatches(record, message, report);
			Long previous = lastOffsets.put(report.partition(), report.offset());
			if (previous != null) {
				assertThat(report.offset()).as("offsets in partition %d follow message order", report.partition())
					.isGreaterThan(previous);
			}
		}
	}

	private static void assertRecordMatches(ConsumerRecord<byte[], byte[]> record, Message message,
			DeliveryReport report) {
		assertThat(record.topic()).isEqualTo(report.topic()).isEqualTo(message.topic());
		assertThat(record.partition()).isEqualTo(report.partition());
		assertThat(record.offset()).isEqualTo(report.offset());
		assertThat(record.key()).isEqualTo(bytes(message.key()));
		assertThat(record.value()).isEqualTo(bytes(message.payload()));
		List<String> recordHeaders = StreamSupport.stream(record.headers().spliterator(), false)
			.map((header) -> describe(header.key(), header.value()))
			.toList();
		assertThat(recordHeaders)
			.isEqualTo(message.headers().stream().map((header) -> describe(header.key(), header.value())).toList());
		assertThat(report.timestamp().toEpochMilli()).isEqualTo(record.timestamp());
		if (message.timestamp() != null) {
			assertThat(record.timestamp()).isEqualTo(message.timestamp().toEpochMilli());
		}
	}

	private static byte[] bytes(Object value) {
		if (value instanceof String text) {
			return text.getBytes(StandardCharsets.UTF_8);
		}
		return (byte[]) value;
	}

	private static String describe(String key, byte[] value) {
		return key + "=" + ((value != null) ? HexFormat.of().formatHex(value) : "null");
	}

}
