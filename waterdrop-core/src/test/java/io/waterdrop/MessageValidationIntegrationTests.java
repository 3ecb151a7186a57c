package io.waterdrop;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import io.waterdrop.InvalidMessageException.Violation;
import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.Event;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.PollingMode;
import io.waterdrop.testing.KafkaTestBroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * Every invalid message is refused with the violation it commits and a message naming the problem, and is
 * refused before anything is queued: no counter moves, nothing is in flight, nothing reaches the topic, and
 * the producer goes on working.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 2, unit = TimeUnit.MINUTES) // per test method; JUnit does not apply it to @BeforeAll
class MessageValidationIntegrationTests {

	private static final int MAX_PAYLOAD_SIZE = 1024;

	private static final int PARTITIONS = 3;

	private final TestProducers producers = new TestProducers();

	private String topic;

	private Producer producer;

	private final List<Event> events = new CopyOnWriteArrayList<>();

	/** Valid messages sent so far: the topic must hold exactly these. */
	private int validSent;

	@BeforeAll
	void createProducer() {
		this.topic = KafkaTestBroker.uniqueTopic("validation");
		KafkaTestBroker.createTopic(this.topic, PARTITIONS);
		this.producer = this.producers.create(TestProducers.config("validation").maxPayloadSize(MAX_PAYLOAD_SIZE));
		this.producer.monitor().subscribe(this.events::add);
		// Connected and the topic's metadata known, so refusals are not mistaken for connection effects.
		this.producer.produceSync(valid("warm-up"));
		this.validSent++;
	}

	@AfterAll
	void closeProducer() {
		this.producers.closeAll();
	}

	@BeforeEach
	void clearEvents() {
		await().atMost(Duration.ofSeconds(30)).until(() -> this.producer.inFlight() == 0);
		this.events.clear();
	}

	static Stream<Arguments> invalidMessages() {
		List<Case> cases = List.of(
				new Case("null topic", (topic) -> Message.of(null, "payload"), Violation.TOPIC_MISSING,
						"no topic (it is null)"),
				new Case("blank topic", (topic) -> Message.of("  ", "payload"), Violation.TOPIC_MISSING,
						"no topic (it is blank)"),
				new Case("topic with a slash", (topic) -> Message.of("orders/eu", "payload"), Violation.TOPIC_ILLEGAL,
						"illegal topic name 'orders/eu'"),
				new Case("topic '..'", (topic) -> Message.of("..", "payload"), Violation.TOPIC_ILLEGAL,
						"illegal topic name '..'"),
				new Case("topic of 250 characters", (topic) -> Message.of("t".repeat(250), "payload"),
						Violation.TOPIC_ILLEGAL, "illegal topic name"),
				new Case("Kafka's consumer offsets topic", (topic) -> Message.of("__consumer_offsets", "payload"),
						Violation.TOPIC_ILLEGAL, "one of Kafka's internal topics"),
				new Case("Kafka's transaction state topic", (topic) -> Message.of("__transaction_state", "payload"),
						Violation.TOPIC_ILLEGAL, "one of Kafka's internal topics"),
				new Case("payload over maxPayloadSize",
						(topic) -> Message.of(topic, new byte[MAX_PAYLOAD_SIZE + 1]), Violation.PAYLOAD_TOO_LARGE,
						"payload of " + (MAX_PAYLOAD_SIZE + 1) + " bytes, over max-payload-size " + MAX_PAYLOAD_SIZE),
				new Case("tombstone without key", (topic) -> Message.builder(topic).build(),
						Violation.TOMBSTONE_WITHOUT_KEY, "null payload (a tombstone) but no key"),
				new Case("negative partition", (topic) -> Message.builder(topic).payload("p").partition(-1).build(),
						Violation.PARTITION_OUT_OF_RANGE, "has partition -1"),
				new Case("partition and partitionKey",
						(topic) -> Message.builder(topic).payload("p").partition(0).partitionKey("k").build(),
						Violation.PARTITION_CONFLICT, "sets both partition and partitionKey"),
				new Case("null header key", (topic) -> Message.builder(topic).payload("p").header(null, "v").build(),
						Violation.HEADER_KEY_MISSING, "header without a key"),
				new Case("null header",
						(topic) -> new Message(topic, "p", null, null, null,
								java.util.Arrays.asList((Message.Header) null), null, null),
						Violation.HEADER_KEY_MISSING, "header without a key"),
				new Case("timestamp before 1970",
						(topic) -> Message.builder(topic).payload("p").timestamp(Instant.ofEpochMilli(-1)).build(),
						Violation.TIMESTAMP_OUT_OF_RANGE, "timestamp 1969-12-31T23:59:59.999Z"),
				new Case("timestamp beyond a long of milliseconds",
						(topic) -> Message.builder(topic).payload("p").timestamp(Instant.MAX).build(),
						Violation.TIMESTAMP_OUT_OF_RANGE, "timestamp " + Instant.MAX),
				new Case("payload of an unserializable type", (topic) -> Message.of(topic, 42),
						Violation.NOT_SERIALIZABLE, "payload that cannot be serialized"),
				new Case("key of an unserializable type",
						(topic) -> Message.builder(topic).payload("p").key(new StringBuilder("k")).build(),
						Violation.NOT_SERIALIZABLE, "key that cannot be serialized"));
		return cases.stream().flatMap((c) -> Stream.of(Call.values()).map((call) -> Arguments.of(c, call)));
	}

	@ParameterizedTest(name = "{0} via {1}")
	@MethodSource("invalidMessages")
	void invalidMessageIsRefusedBeforeAnythingIsQueued(Case invalid, Call call) {
		Message message = invalid.message().apply(this.topic).toBuilder().label("refused").build();
		Snapshot before = Snapshot.of(this.producer);
		long recordsBefore = KafkaTestBroker.recordCount(this.topic);

		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> call.produce(this.producer, message, this.topic))
			.satisfies((ex) -> {
				assertThat(ex.violation()).isEqualTo(invalid.violation());
				assertThat(ex.getMessage()).contains(invalid.problem());
				if (message.topic() != null && !message.topic().isBlank() && message.topic().length() < 80) {
					assertThat(ex.getMessage()).contains("'" + message.topic() + "'");
				}
				assertThat(ex.refused()).isEqualTo(message);
			});

		assertThat(Snapshot.of(this.producer)).isEqualTo(before);
		assertThat(this.producer.inFlight()).isZero();
		assertThat(this.producer.queueSize()).isZero();
		assertThat(this.events).noneMatch((event) -> event instanceof ProducerEvent.MessageProduced
				|| event instanceof ProducerEvent.MessagesProduced);
		// The refusal is reported once, typed by the call that refused it.
		assertThat(this.events).filteredOn(ProducerEvent.ErrorOccurred.class::isInstance)
			.map(ProducerEvent.ErrorOccurred.class::cast)
			.singleElement()
			.satisfies((error) -> {
				assertThat(error.type()).isEqualTo(call.errorType);
				assertThat(error.error()).isInstanceOf(InvalidMessageException.class);
			});
		// The producer keeps working, and the refused message (or its batch) never reached the topic.
		this.producer.produceSync(valid("after " + invalid.name() + " via " + call));
		this.validSent++;
		assertThat(KafkaTestBroker.recordCount(this.topic)).isEqualTo(recordsBefore + 1);
	}

	@Test
	void topicHoldsOnlyTheValidMessages() {
		this.producer.produceSync(valid("last"));
		this.validSent++;
		List<ConsumerRecord<byte[], byte[]>> records = KafkaTestBroker.consume(this.topic, this.validSent,
				Duration.ofSeconds(20));
		assertThat(records).allSatisfy((record) -> assertThat(new String(record.value())).startsWith("valid: "));
	}

	@Test
	void nullMessageAndNullBatchAreRefused() {
		Snapshot before = Snapshot.of(this.producer);
		for (Call call : Call.values()) {
			assertThatExceptionOfType(InvalidMessageException.class)
				.isThrownBy(() -> call.produce(this.producer, null, this.topic))
				.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.MESSAGE_MISSING));
		}
		assertThatExceptionOfType(InvalidMessageException.class).isThrownBy(() -> this.producer.produceManySync(null))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.MESSAGE_MISSING));
		assertThatExceptionOfType(InvalidMessageException.class).isThrownBy(() -> this.producer.produceManyAsync(null))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.MESSAGE_MISSING));
		assertThat(Snapshot.of(this.producer)).isEqualTo(before);
		assertThat(this.producer.inFlight()).isZero();
	}

	/**
	 * A partition beyond those the client's metadata knows is Kafka's to judge, as with KafkaProducer: added to
	 * the topic since, the message is delivered to it; never added, Kafka fails the message after max.block.ms,
	 * through its report, naming the partition.
	 */
	@Test
	void aPartitionAddedSinceTheMetadataWasFetchedIsDeliveredAndOneNeverAddedFailsThroughItsReport()
			throws Exception {
		String grown = KafkaTestBroker.uniqueTopic("grown");
		KafkaTestBroker.createTopic(grown, 1);
		TestProducers own = new TestProducers();
		try {
			Producer producer = own.create(TestProducers.config("partitions").kafka("max.block.ms", 2_000));
			producer.produceSync(Message.builder(grown).payload("before").partition(0).build()); // 1 partition known
			try (Admin admin = Admin.create(KafkaTestBroker.clientProperties())) {
				admin.createPartitions(Map.of(grown, NewPartitions.increaseTo(2))).all().get(30, TimeUnit.SECONDS);
				await().atMost(Duration.ofSeconds(30)).until(() -> KafkaTestBroker.leadersServe(admin, grown, 2));
			}

			assertThat(producer.produceSync(Message.builder(grown).payload("after").partition(1).build()).partition())
				.isOne();
			assertThatExceptionOfType(DeliveryFailedException.class)
				.isThrownBy(() -> producer.produceSync(Message.builder(grown).payload("never").partition(5).build()))
				.withMessageContaining("Partition 5 of topic " + grown);
			assertThat(producer.stats().acknowledged()).isEqualTo(2);
			assertThat(producer.stats().failed()).isOne();
		}
		finally {
			own.closeAll();
		}
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void produceAfterCloseIsRefused(PollingMode mode) {
		String closedTopic = KafkaTestBroker.uniqueTopic("after-close");
		KafkaTestBroker.createTopic(closedTopic, 1);
		TestProducers own = new TestProducers();
		Producer closed = own.create(TestProducers.config("closed").pollingMode(mode));
		closed.produceSync(Message.of(closedTopic, "before close"));
		closed.close();
		// Closed without ever connecting: refused the same way, and no client is created.
		Producer neverConnected = own.create(TestProducers.config("never-connected").pollingMode(mode));
		neverConnected.close();

		for (Producer producer : List.of(closed, neverConnected)) {
			assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
			Snapshot before = Snapshot.of(producer);
			for (Call call : Call.values()) {
				assertThatExceptionOfType(ProducerClosedException.class)
					.isThrownBy(() -> call.produce(producer, Message.of(closedTopic, "after close"), closedTopic))
					.withMessageContaining("'" + producer.id() + "' is closed");
			}
			assertThat(Snapshot.of(producer)).isEqualTo(before);
			assertThat(producer.inFlight()).isZero();
			assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		}
		assertThat(KafkaTestBroker.recordCount(closedTopic)).isEqualTo(1);
	}

	private Message valid(String text) {
		return Message.builder(this.topic).key("valid").payload("valid: " + text).label(text).build();
	}

	/** One kind of invalid message; {@code problem} is text the exception message must contain. */
	record Case(String name, Function<String, Message> message, Violation violation, String... problem) {

		@Override
		public String toString() {
			return this.name;
		}

	}

	/** The ways to hand a message over; batch calls wrap it between two valid messages. */
	enum Call {

		PRODUCE_SYNC(ErrorType.MESSAGE_PRODUCE_SYNC),

		PRODUCE_ASYNC(ErrorType.MESSAGE_PRODUCE_ASYNC),

		PRODUCE_MANY_SYNC(ErrorType.MESSAGES_PRODUCE_MANY_SYNC),

		PRODUCE_MANY_ASYNC(ErrorType.MESSAGES_PRODUCE_MANY_ASYNC);

		final ErrorType errorType;

		Call(ErrorType errorType) {
			this.errorType = errorType;
		}

		/** Hands {@code message} over; batch neighbours are valid messages to {@code validTopic}. */
		void produce(Producer producer, Message message, String validTopic) {
			switch (this) {
				case PRODUCE_SYNC -> producer.produceSync(message);
				case PRODUCE_ASYNC -> producer.produceAsync(message);
				case PRODUCE_MANY_SYNC -> producer.produceManySync(batchAround(message, validTopic));
				case PRODUCE_MANY_ASYNC -> producer.produceManyAsync(batchAround(message, validTopic));
			}
		}

		private static List<Message> batchAround(Message message, String topic) {
			List<Message> batch = new ArrayList<>();
			batch.add(Message.of(topic, "valid neighbour before"));
			batch.add(message);
			batch.add(Message.of(topic, "valid neighbour after"));
			return batch;
		}

	}

	/** The counters a refused message must not move. */
	record Snapshot(long producedSync, long producedAsync, long acknowledged, long failed, long purged) {

		static Snapshot of(Producer producer) {
			ProducerStats stats = producer.stats();
			return new Snapshot(stats.producedSync(), stats.producedAsync(), stats.acknowledged(), stats.failed(),
					stats.purged());
		}

	}

}
