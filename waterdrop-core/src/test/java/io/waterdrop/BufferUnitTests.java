package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.waterdrop.InvalidMessageException.Violation;
import io.waterdrop.instrumentation.DeliveryObserver;
import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.Event;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/** buffer / bufferMany / flushSync / flushAsync, and tombstones. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class BufferUnitTests {

	private final InMemoryKafka kafka = new InMemoryKafka();

	private final List<Producer> producers = new CopyOnWriteArrayList<>();

	/** Mocks that do not complete by themselves: their pending sends must be finished before a close. */
	private final List<MockProducer<byte[], byte[]>> manualMocks = new CopyOnWriteArrayList<>();

	@AfterEach
	void close() {
		// MockProducer fires no callbacks on close, unlike KafkaProducer: acknowledge what is left first.
		for (MockProducer<byte[], byte[]> mock : this.manualMocks) {
			while (mock.completeNext()) {
			}
		}
		this.producers.forEach((producer) -> producer.close(Duration.ofSeconds(10)));
	}

	/** A producer checks a topic name once and remembers it; any other name is still checked. */
	@Test
	void illegalTopicAfterALegalOneIsStillRefused() {
		Producer producer = producer(this.kafka);
		producer.buffer(Message.of("orders", "1"));
		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> producer.buffer(Message.of("orders eu", "2")))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.TOPIC_ILLEGAL));
		producer.buffer(Message.of(new String("orders"), "3"));
		producer.buffer(Message.of("orders", "4"));
		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> producer.buffer(Message.of("..", "5")))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.TOPIC_ILLEGAL));
		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> producer.buffer(Message.of(null, "6")))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.TOPIC_MISSING));
		assertThat(producer.bufferSize()).isEqualTo(3);
	}

	/**
	 * A negative partition is refused when buffered. One beyond the topic's partitions is buffered (the topic may
	 * have grown since the client's metadata): Kafka fails it at the flush, as a message to a topic it does not
	 * have, and it alone; it goes back into the buffer like every message a flush did not deliver.
	 */
	@Test
	void aNegativePartitionIsRefusedWhenBufferedAndOneTheTopicLacksFailsAtTheFlush() {
		Producer producer = producer(this.kafka.topic("orders", 3));
		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> producer.buffer(Message.builder("orders").payload("x").partition(-1).build()))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.PARTITION_OUT_OF_RANGE));
		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> producer.bufferMany(
					List.of(Message.of("orders", "y"), Message.builder("orders").payload("z").partition(-3).build())))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.PARTITION_OUT_OF_RANGE));
		producer.buffer(Message.builder("orders").payload("lacking").partition(7).build());
		producer.buffer(Message.builder("orders").payload("ok").partition(2).build());
		assertThat(producer.bufferSize()).isEqualTo(2);

		assertThatExceptionOfType(DeliveryFailedException.class).isThrownBy(producer::flushSync)
			.withMessageContaining("Partition 7 of topic orders with partition count 3");
		assertThat(this.kafka.payloads("orders")).containsExactly("ok");
		assertThat(producer.bufferSize()).isOne();
	}

	/**
	 * A message with a partition key whose topic's partitions Kafka cannot tell (no such topic: the lookup
	 * times out) is refused when buffered, naming the topic; in the buffer it would refuse every flush.
	 */
	@Test
	void aMessageWithAPartitionKeyForATopicKafkaCannotTellIsRefusedWhenBuffered() {
		MockProducer<byte[], byte[]> client = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		client.partitionsForException = new TimeoutException("Topic missing not present in metadata after 60000 ms.");
		Producer producer = producer((properties) -> client);
		producer.buffer(Message.of("fine", "1"));

		assertThatExceptionOfType(DeliveryFailedException.class)
			.isThrownBy(() -> producer.buffer(Message.builder("missing").payload("x").partitionKey("k").build()))
			.withMessageContaining("Kafka could not tell the partitions of topic 'missing'");
		assertThat(producer.bufferSize()).isOne();
		assertThat(producer.flushSync()).hasSize(1);
	}

	/** Buffered on a polling thread, a message for a partition the topic lacks fails at the flush, it alone. */
	@Test
	void aFlushFailsTheMessageForAPartitionTheTopicLacksAndDeliversTheRest() {
		Producer producer = producer(this.kafka.topic("orders", 3));
		CountDownLatch buffered = new CountDownLatch(1);
		producer.produceAsync(Message.of("events", "trigger"), (report, failure) -> {
			producer.buffer(Message.builder("orders").payload("x").partition(7).build());
			producer.buffer(Message.of("orders", "ok"));
			buffered.countDown();
		});
		await().atMost(Duration.ofSeconds(20)).until(() -> buffered.getCount() == 0);

		List<DeliveryHandle> handles = producer.flushAsync();

		assertThat(handles).hasSize(2);
		assertThatExceptionOfType(DeliveryFailedException.class)
			.isThrownBy(() -> handles.get(0).await(Duration.ofSeconds(20)));
		assertThat(handles.get(1).await(Duration.ofSeconds(20)).topic()).isEqualTo("orders");
		assertThat(this.kafka.payloads("orders")).containsExactly("ok");
		assertThat(producer.bufferSize()).isZero();
	}

	@Test
	void bufferValidatesFirstAndRefusesInvalidMessages() {
		Producer producer = producer(this.kafka);
		List<ProducerEvent> events = bufferEvents(producer);
		List<ProducerEvent.ErrorOccurred> errors = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, errors::add);

		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> producer.buffer(Message.of("bad topic!", "x")))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.TOPIC_ILLEGAL));
		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> producer.buffer(Message.of("orders", null)))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.TOMBSTONE_WITHOUT_KEY));
		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> producer.buffer(null))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.MESSAGE_MISSING));
		// One invalid message refuses the whole batch: the valid ones around it are not kept either.
		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> producer.bufferMany(
					List.of(Message.of("orders", "1"), Message.of("orders", new Object()), Message.of("orders", "3"))))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.NOT_SERIALIZABLE));
		assertThatExceptionOfType(InvalidMessageException.class).isThrownBy(() -> producer.bufferMany(null))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.MESSAGE_MISSING));

		assertThat(producer.bufferSize()).isZero();
		assertThat(events).isEmpty();
		assertThat(producer.flushSync()).isEmpty();
		assertThat(this.kafka.records()).isEmpty();
	}

	@Test
	void flushSyncSendsInOrderAndEmptiesTheBuffer() {
		Producer producer = producer(this.kafka);
		List<ProducerEvent> events = bufferEvents(producer);
		Object label = new Object();
		Message first = Message.builder("orders").payload("1").label(label).build();

		producer.buffer(first);
		producer.bufferMany(List.of(Message.of("orders", "2"), Message.of("orders", "3")));
		producer.buffer(Message.of("orders", "4"));
		assertThat(producer.bufferSize()).isEqualTo(4);
		assertThat(this.kafka.records()).as("nothing is sent before the flush").isEmpty();

		List<DeliveryReport> reports = producer.flushSync();

		assertThat(reports).extracting(DeliveryReport::offset).containsExactly(0L, 1L, 2L, 3L);
		assertThat(reports.get(0).label()).isSameAs(label);
		assertThat(this.kafka.payloads("orders")).containsExactly("1", "2", "3", "4");
		assertThat(producer.bufferSize()).isZero();
		assertThat(producer.flushSync()).as("an empty buffer flushes nothing").isEmpty();
		assertThat(events).extracting(ProducerEvent::name)
			.containsExactly("message.buffered", "messages.buffered", "message.buffered", "buffer.flushed_sync");
		assertThat(((ProducerEvent.MessageBuffered) events.get(0)).message()).isSameAs(first);
		assertThat(((ProducerEvent.MessagesBuffered) events.get(1)).messages()).extracting(Message::payload)
			.containsExactly("2", "3");
		assertThat(((ProducerEvent.BufferFlushed) events.get(3)).messages()).extracting(Message::payload)
			.containsExactly("1", "2", "3", "4");
	}

	@Test
	void flushAsyncReturnsHandlesAndEmptiesTheBuffer() {
		Producer producer = producer(this.kafka);
		List<ProducerEvent> events = bufferEvents(producer);
		producer.bufferMany(List.of(Message.of("orders", "1"), Message.of("orders", "2")));

		List<DeliveryHandle> handles = producer.flushAsync();

		assertThat(producer.bufferSize()).isZero();
		assertThat(handles).extracting((handle) -> handle.await().offset()).containsExactly(0L, 1L);
		assertThat(this.kafka.payloads("orders")).containsExactly("1", "2");
		assertThat(producer.flushAsync()).isEmpty();
		assertThat(events).extracting(ProducerEvent::name).containsExactly("messages.buffered", "buffer.flushed_async");
	}

	@Test
	void failedFlushSyncKeepsExactlyTheUndeliveredMessagesAheadOfLaterOnes() throws Exception {
		MockProducer<byte[], byte[]> mock = manualMock();
		Producer producer = producer((properties) -> mock);
		List<ProducerEvent.ErrorOccurred> errors = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, errors::add);
		producer.bufferMany(List.of(Message.of("orders", "1"), Message.of("orders", "2"), Message.of("orders", "3"),
				Message.of("orders", "4")));

		CompletableFuture<List<DeliveryReport>> flush = CompletableFuture.supplyAsync(producer::flushSync);
		await().atMost(Duration.ofSeconds(30)).until(() -> mock.history().size() == 4);
		// Buffered while the flush is under way: must stay behind the messages the flush gives back.
		producer.buffer(Message.of("orders", "later"));
		mock.completeNext();
		mock.errorNext(new NotEnoughReplicasException("2 refused"));
		mock.completeNext();
		mock.errorNext(new NotEnoughReplicasException("4 refused"));

		assertThat(flush).failsWithin(Duration.ofSeconds(30))
			.withThrowableOfType(java.util.concurrent.ExecutionException.class)
			.havingCause()
			.isInstanceOf(DeliveryFailedException.class)
			.satisfies((failure) -> {
				assertThat(((DeliveryFailedException) failure).undelivered().payload()).isEqualTo("2");
				assertThat(failure.getSuppressed()).hasSize(1);
			});
		assertThat(producer.bufferSize()).isEqualTo(3);
		assertThat(errors).extracting(ProducerEvent.ErrorOccurred::type).contains(ErrorType.BUFFER_FLUSH_SYNC);

		// The retry sends exactly the undelivered ones first, then the later one.
		List<DeliveryHandle> retry = producer.flushAsync();
		assertThat(retry).extracting((handle) -> handle.message().payload()).containsExactly("2", "4", "later");
		assertThat(payloads(mock.history().subList(4, 7))).containsExactly("2", "4", "later");
		while (mock.completeNext()) {
		}
		retry.forEach(DeliveryHandle::await);
		assertThat(producer.bufferSize()).isZero();
	}

	@Test
	void failedFlushSyncOnATransactionalProducerKeepsEveryMessageOfTheAbortedTransaction() {
		MockProducer<byte[], byte[]> mock = manualMock();
		Producer producer = producer(ProducerConfig.builder()
			.id("buffer-tx")
			.kafka("transactional.id", "buffer-tx-1")
			.clientFactory((properties) -> mock));
		producer.bufferMany(List.of(Message.of("orders", "1"), Message.of("orders", "2"), Message.of("orders", "3")));

		CompletableFuture<List<DeliveryReport>> flush = CompletableFuture.supplyAsync(producer::flushSync);
		await().atMost(Duration.ofSeconds(30)).until(() -> mock.uncommittedRecords().size() == 3);
		mock.completeNext();
		mock.errorNext(new NotEnoughReplicasException("2 refused"));
		mock.completeNext();

		assertThat(flush).failsWithin(Duration.ofSeconds(30))
			.withThrowableOfType(java.util.concurrent.ExecutionException.class)
			.withCauseInstanceOf(DeliveryFailedException.class);
		// The abort rolled back "1" and "3" as well, although they were acknowledged: all three stay.
		assertThat(mock.transactionAborted()).isTrue();
		assertThat(mock.history()).isEmpty();
		assertThat(producer.bufferSize()).isEqualTo(3);

		List<DeliveryHandle> retry = producer.flushAsync();
		assertThat(retry).extracting((handle) -> handle.message().payload()).containsExactly("1", "2", "3");
		assertThat(payloads(mock.history())).containsExactly("1", "2", "3");
	}

	/**
	 * Buffering holds no slot, so an idle disconnect may take the client while a message's partition key is
	 * hashed with its partitions: the check asks the new client instead of failing.
	 */
	@Test
	void aPartitionCheckThatLosesItsClientToAnIdleDisconnectAsksTheNextOne() {
		AtomicReference<Producer> self = new AtomicReference<>();
		AtomicInteger clients = new AtomicInteger();
		org.apache.kafka.common.Node node = new org.apache.kafka.common.Node(0, "localhost", 9092);
		org.apache.kafka.common.Cluster cluster = new org.apache.kafka.common.Cluster("test", List.of(node),
				List.of(new PartitionInfo("orders", 0, node, null, null),
						new PartitionInfo("orders", 1, node, null, null)),
				java.util.Set.of(), java.util.Set.of());
		Producer producer = producer(ProducerConfig.builder().id("buffer-disconnect").clientFactory((properties) -> {
			boolean first = clients.incrementAndGet() == 1;
			return new MockProducer<>(cluster, true, null, new ByteArraySerializer(), new ByteArraySerializer()) {

				@Override
				public synchronized List<PartitionInfo> partitionsFor(String topic) {
					if (first) { // the idle disconnect comes now; this client is closed under the check
						self.get().disconnect();
						throw new KafkaException("Requested metadata update after close (simulated)");
					}
					return super.partitionsFor(topic);
				}

			};
		}));
		self.set(producer);
		producer.connect();

		producer.buffer(Message.builder("orders").payload("x").partitionKey("k").build());

		assertThat(producer.bufferSize()).isOne();
		assertThat(clients).hasValue(2);
		assertThat(producer.flushSync()).singleElement()
			.satisfies((report) -> assertThat(report.partition()).isEqualTo(MessageEncoder.partitionForKey("k", 2)));
	}

	/** A flush sends as one batch what the producer can hold: more than maxInFlight goes in batches. */
	@Test
	void aBufferLargerThanMaxInFlightIsFlushedInBatchesOfThatSize() {
		Producer producer = producer(
				ProducerConfig.builder().id("buffer-window").maxInFlight(2).clientFactory(this.kafka));
		for (int i = 0; i < 5; i++) {
			producer.buffer(Message.of("orders", "s" + i));
		}

		assertThat(producer.flushSync()).extracting(DeliveryReport::offset).containsExactly(0L, 1L, 2L, 3L, 4L);

		for (int i = 0; i < 5; i++) {
			producer.buffer(Message.of("orders", "a" + i));
		}
		List<DeliveryHandle> handles = producer.flushAsync();
		assertThat(handles).extracting((handle) -> handle.await().offset()).containsExactly(5L, 6L, 7L, 8L, 9L);
		assertThat(producer.bufferSize()).isZero();
		assertThat(this.kafka.payloads("orders")).containsExactly("s0", "s1", "s2", "s3", "s4", "a0", "a1", "a2",
				"a3", "a4");
	}

	/**
	 * A message that the flush refuses as invalid in a later batch (an observer's headers make it too large to
	 * send) is dropped, not put back to refuse every later flush.
	 */
	@Test
	void aMessageRefusedAsInvalidInALaterBatchOfAFlushIsDropped() {
		Producer producer = producer(ProducerConfig.builder()
			.id("buffer-later-invalid")
			.maxInFlight(2)
			.observer(oversizing("3"))
			.clientFactory(this.kafka));
		producer.buffer(Message.of("orders", "1"));
		producer.buffer(Message.of("orders", "2"));
		producer.buffer(Message.of("orders", "3"));

		assertThatExceptionOfType(BatchPartlySentException.class).isThrownBy(producer::flushSync)
			.satisfies((partly) -> assertThat(partly.refusal()).isInstanceOf(InvalidMessageException.class));

		assertThat(producer.bufferSize()).isZero();
		assertThat(this.kafka.payloads("orders")).containsExactly("1", "2");
	}

	/**
	 * A flush that joined a transaction which goes on, whose message Kafka failed, loses that transaction (Kafka
	 * refuses its commit): everything goes back, the acknowledged messages too.
	 */
	@Test
	void aFlushInsideABoundTransactionWhoseMessageKafkaFailedPutsEverythingBack() {
		MockProducer<byte[], byte[]> mock = manualMock();
		Producer producer = producer(ProducerConfig.builder()
			.id("buffer-bound-tx")
			.kafka("transactional.id", "buffer-bound-tx-1")
			.clientFactory((properties) -> mock));
		CompletableFuture<Integer> keptInTheBuffer = CompletableFuture.supplyAsync(() -> {
			BoundTransaction transaction = producer.beginTransaction();
			try {
				producer.bufferMany(
						List.of(Message.of("orders", "1"), Message.of("orders", "2"), Message.of("orders", "3")));
				assertThatExceptionOfType(DeliveryFailedException.class).isThrownBy(producer::flushSync);
				return producer.bufferSize();
			}
			finally {
				transaction.abort();
			}
		});
		await().atMost(Duration.ofSeconds(30)).until(() -> mock.uncommittedRecords().size() == 3);
		mock.completeNext();
		mock.errorNext(new NotEnoughReplicasException("2 refused"));
		mock.completeNext();

		assertThat(keptInTheBuffer).succeedsWithin(Duration.ofSeconds(30)).isEqualTo(3);
	}

	/**
	 * A flush that joined a transaction which goes on, refused part-way before Kafka took a message (the
	 * transaction is not lost: what was sent commits or aborts with it), puts back only what was not sent.
	 */
	@Test
	void aFlushInsideABoundTransactionRefusedPartWayPutsBackOnlyWhatWasNotSent() {
		MockProducer<byte[], byte[]> mock = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer()) {

			@Override
			public synchronized Future<org.apache.kafka.clients.producer.RecordMetadata> send(
					ProducerRecord<byte[], byte[]> record, org.apache.kafka.clients.producer.Callback callback) {
				if ("3".equals(new String(record.value(), StandardCharsets.UTF_8))) {
					throw new KafkaException("Interrupted while waiting for metadata (simulated)");
				}
				return super.send(record, callback);
			}

		};
		Producer producer = producer(ProducerConfig.builder()
			.id("buffer-bound-refused")
			.kafka("transactional.id", "buffer-bound-refused-1")
			.clientFactory((properties) -> mock));
		BoundTransaction transaction = producer.beginTransaction();
		producer.bufferMany(List.of(Message.of("orders", "1"), Message.of("orders", "2"), Message.of("orders", "3")));

		assertThatExceptionOfType(BatchPartlySentException.class).isThrownBy(producer::flushAsync)
			.satisfies((partly) -> assertThat(partly.sent()).hasSize(2));
		transaction.commit();

		assertThat(payloads(mock.history())).containsExactly("1", "2");
		assertThat(producer.bufferSize()).isOne();
	}

	/**
	 * The reviewer's case: a flush that joined a transaction which goes on, refused part-way because an earlier
	 * failure left that transaction in an error state (Kafka then refuses its commit, so what the flush sent is
	 * rolled back too), puts everything back, in order. Kafka says so in words, or, for an epoch error (abortable
	 * only) or fencing, by throwing that error itself.
	 */
	@ParameterizedTest
	@ValueSource(strings = { "error state", "epoch error" })
	void aFlushInsideABoundTransactionRefusedBecauseItIsInAnErrorStatePutsEverythingBack(String refusal) {
		MockProducer<byte[], byte[]> mock = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer()) {

			@Override
			public synchronized Future<org.apache.kafka.clients.producer.RecordMetadata> send(
					ProducerRecord<byte[], byte[]> record, org.apache.kafka.clients.producer.Callback callback) {
				if ("2".equals(new String(record.value(), StandardCharsets.UTF_8))) { // as kafka-clients 4.1 says it
					throw refusal.equals("epoch error")
							? new InvalidProducerEpochException("Producer attempted to produce with an old epoch")
							: new KafkaException("Cannot execute transactional method because we are in an error state",
									new NotEnoughReplicasException("an earlier batch failed (simulated)"));
				}
				return super.send(record, callback);
			}

		};
		Producer producer = producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("buffer-bound-error-state"))
			.kafka("transactional.id", TestProducers.uniqueId("buffer-bound-error-state"))
			.clientFactory((properties) -> mock));
		BoundTransaction transaction = producer.beginTransaction();
		producer.bufferMany(List.of(Message.of("orders", "1"), Message.of("orders", "2")));

		assertThatExceptionOfType(BatchPartlySentException.class).isThrownBy(producer::flushAsync)
			.satisfies((partly) -> assertThat(partly.sent()).hasSize(1));
		transaction.abort(); // its commit would be refused

		assertThat(producer.bufferSize()).as("the one sent too: the abort drops it").isEqualTo(2);
		assertThat(mock.history()).isEmpty();
	}

	/**
	 * A flush in batches whose later batch holds an invalid message (an observer's headers make it too large to
	 * send) names that message and what it sent before it, and drops it alone.
	 */
	@Test
	void aFlushRefusedPartWayNamesTheRefusedMessage() {
		Producer producer = producer(ProducerConfig.builder()
			.id("buffer-named")
			.maxInFlight(2)
			.observer(oversizing("4"))
			.clientFactory(this.kafka.topic("orders", 3)));
		producer.bufferMany(List.of(Message.of("orders", "1"), Message.of("orders", "2"), Message.of("orders", "3"),
				Message.of("orders", "4")));

		assertThatExceptionOfType(BatchPartlySentException.class).isThrownBy(producer::flushSync)
			.withMessageContaining("sent 3 of a batch of 4 messages, then refused message 4")
			.withCauseInstanceOf(InvalidMessageException.class);
		assertThat(this.kafka.payloads("orders")).containsExactly("1", "2", "3");
		assertThat(producer.bufferSize()).isZero();
	}

	/** A record too large names the limit that applies (the smaller setting) and the part to shorten. */
	@Test
	void aRecordTooLargeNamesTheSettingThatLimitsItAndItsLargestPart() {
		Producer bySmallBuffer = producer(ProducerConfig.builder()
			.id("buffer-small-memory")
			.maxPayloadSize(2_000_000)
			.kafka("buffer.memory", 524_288)
			.clientFactory(this.kafka));
		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> bySmallBuffer.buffer(Message.of("orders", "x".repeat(600_000))))
			.withMessageContaining("over the 524288 bytes Kafka's client sends (buffer.memory)")
			.withMessageContaining("shorten the payload or raise buffer.memory");
		Producer byRequestSize = producer(ProducerConfig.builder().id("buffer-long-key").clientFactory(this.kafka));
		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> byRequestSize
				.buffer(Message.builder("orders").payload("small").key("k".repeat(1_100_000)).build()))
			.withMessageContaining("(max.request.size); shorten the key or raise max.request.size");
	}

	/** As Ruby WaterDrop's close: what is buffered is sent, and the close waits for its reports. */
	@Test
	void aCloseSendsWhatIsBufferedFirst() {
		Producer producer = producer(this.kafka);
		producer.bufferMany(List.of(Message.of("orders", "1"), Message.of("orders", "2")));

		producer.close();

		assertThat(this.kafka.payloads("orders")).containsExactly("1", "2");
		assertThat(producer.bufferSize()).isZero();
		assertThat(producer.flushSync()).isEmpty();
	}

	/**
	 * A second close while the first one flushes the buffer waits for that flush to hand its messages over
	 * before the producer stops taking them: they are sent, not dropped. The first close's flush is held in the
	 * payload serializer (it encodes again); a message Kafka holds keeps the second close draining.
	 */
	@Test
	@Timeout(60)
	void aSecondCloseDuringTheFirstClosesFlushDoesNotDropTheBuffer() throws Exception {
		PendingKafka kafka = new PendingKafka();
		HoldingSerializer holding = new HoldingSerializer(null);
		Producer producer = producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("close-during-flush"))
			.payloadSerializer(holding)
			.clientFactory(kafka.factory()));
		producer.produceAsync(Message.of("orders", "in-flight"));
		producer.bufferMany(List.of(Message.of("orders", "buffered-1"), Message.of("orders", "buffered-2")));
		holding.arm();
		ExecutorService closers = Executors.newFixedThreadPool(2);
		try {
			Future<?> first = closers.submit(() -> producer.close(Duration.ofSeconds(30)));
			assertThat(holding.held.await(30, TimeUnit.SECONDS)).isTrue();
			AtomicReference<Thread> secondThread = new AtomicReference<>();
			Future<?> second = closers.submit(() -> {
				secondThread.set(Thread.currentThread());
				producer.close(Duration.ofSeconds(30));
			});
			// As far as it gets while the flush is held: waiting (before the fix: closing, waiting for the drain).
			await().atMost(Duration.ofSeconds(30))
				.until(() -> secondThread.get() != null && secondThread.get().getState().name().endsWith("WAITING"));
			holding.mayGoOn.countDown();
			await().atMost(Duration.ofSeconds(30)).until(() -> kafka.history().size() == 3);
			while (kafka.completeNext()) {
				// acknowledged, as the close waits for them
			}
			assertThat(first).succeedsWithin(30, TimeUnit.SECONDS);
			assertThat(second).succeedsWithin(30, TimeUnit.SECONDS);
		}
		finally {
			holding.mayGoOn.countDown();
			closers.shutdownNow();
		}
		assertThat(kafka.history()).extracting((record) -> new String(record.value(), StandardCharsets.UTF_8))
			.containsExactly("in-flight", "buffered-1", "buffered-2");
	}

	/** Also messages whose partition the close's flush looks up (a partition key), or checks (a partition). */
	@Test
	void aCloseSendsBufferedMessagesWithAPartitionKeyOrPartition() {
		Producer producer = producer(this.kafka);
		producer.bufferMany(List.of(Message.builder("orders").partitionKey("tenant-1").payload("1").build(),
				Message.builder("orders").partition(0).payload("2").build()));

		producer.close();

		assertThat(this.kafka.payloads("orders")).containsExactly("1", "2");
		assertThat(producer.stats().failed()).isZero();
	}

	/**
	 * The same for a producer disconnected while idle (an idle timeout, a stopped context): the close connects
	 * it again to send its buffer, instead of leaving the sends to a reconnect the close itself refuses.
	 */
	@Test
	void aCloseOfADisconnectedProducerSendsWhatIsBufferedFirst() {
		Producer producer = producer(this.kafka);
		producer.produceSync(Message.of("orders", "0"));
		producer.disconnect();
		producer.bufferMany(List.of(Message.of("orders", "1"), Message.of("orders", "2")));
		List<Event> events = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(events::add);

		producer.close();

		assertThat(this.kafka.payloads("orders")).containsExactly("0", "1", "2");
		assertThat(events).noneMatch((event) -> event instanceof ProducerEvent.MessagePurged
				|| event instanceof ProducerEvent.BufferPurged);
	}

	/**
	 * A close's flush takes the buffer before its sends take their slots: a disconnect then (an idle timeout's)
	 * would find the producer idle, and the close would drop those sends unsent. It is refused while a close
	 * flushes.
	 */
	@Test
	@Timeout(60)
	void aDisconnectDuringTheClosesFlushIsRefusedAndTheBufferIsSent() throws Exception {
		HoldingSerializer holding = new HoldingSerializer(null);
		Producer producer = producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("disconnect-during-close"))
			.payloadSerializer(holding)
			.clientFactory(this.kafka));
		producer.produceSync(Message.of("orders", "0"));
		producer.buffer(Message.of("orders", "1"));
		List<Event> dropped = droppedEvents(producer);
		holding.arm();
		ExecutorService closer = Executors.newSingleThreadExecutor();
		try {
			Future<?> close = closer.submit(() -> producer.close(Duration.ofSeconds(30)));
			assertThat(holding.held.await(30, TimeUnit.SECONDS)).isTrue();
			assertThat(producer.bufferSize()).isZero();

			assertThatExceptionOfType(IllegalStateException.class).isThrownBy(producer::disconnect)
				.withMessageContaining("a close is flushing the buffer");

			holding.mayGoOn.countDown();
			assertThat(close).succeedsWithin(30, TimeUnit.SECONDS);
		}
		finally {
			holding.mayGoOn.countDown();
			closer.shutdownNow();
		}
		assertThat(this.kafka.payloads("orders")).containsExactly("0", "1");
		assertThat(dropped).isEmpty();
	}

	/**
	 * A callback (here another producer's) closing a disconnected producer: the close connects it to send the
	 * buffer on a thread of its own, since the polling thread must not block for that connect.
	 */
	@Test
	void aCloseFromACallbackOfADisconnectedProducerSendsWhatIsBufferedFirst() {
		Producer producer = producer(this.kafka);
		Producer other = producer(ProducerConfig.builder().id(TestProducers.uniqueId("closing-other"))
			.clientFactory(this.kafka));
		producer.produceSync(Message.of("orders", "0"));
		producer.disconnect();
		producer.bufferMany(List.of(Message.of("orders", "1"), Message.of("orders", "2")));
		List<Event> dropped = droppedEvents(producer);

		other.produceAsync(Message.of("audit", "x"), (report, failure) -> producer.close(Duration.ofSeconds(30)));

		await().atMost(Duration.ofSeconds(30)).until(() -> producer.status() == ProducerStatus.CLOSED);
		assertThat(this.kafka.payloads("orders")).containsExactly("0", "1", "2");
		assertThat(dropped).isEmpty();
	}

	/**
	 * Callbacks closing the disconnected producer while its close connects (held here) start no thread each:
	 * the first one's close sends the buffer, the others return.
	 */
	@Test
	@Timeout(60)
	void callbacksClosingADisconnectedProducerStartOneCloseThread() throws Exception {
		CountDownLatch connecting = new CountDownLatch(1);
		CountDownLatch mayConnect = new CountDownLatch(1);
		AtomicInteger clients = new AtomicInteger();
		String id = TestProducers.uniqueId("closed-by-callbacks");
		Producer producer = producer(ProducerConfig.builder().id(id).clientFactory((settings) -> {
			if (clients.incrementAndGet() == 2) {
				connecting.countDown();
				TestProducers.awaitUninterruptibly(mayConnect);
			}
			return this.kafka.apply(settings);
		}));
		Producer other = producer(ProducerConfig.builder().id(TestProducers.uniqueId("closing-other"))
			.clientFactory(this.kafka));
		producer.produceSync(Message.of("orders", "0"));
		producer.disconnect();
		producer.buffer(Message.of("orders", "1"));
		CountDownLatch closed = new CountDownLatch(20);
		try {
			for (int i = 0; i < 20; i++) {
				other.produceAsync(Message.of("audit", "x"), (report, failure) -> {
					producer.close(Duration.ofSeconds(30));
					closed.countDown();
				});
			}
			assertThat(connecting.await(30, TimeUnit.SECONDS)).isTrue();
			assertThat(closed.await(30, TimeUnit.SECONDS)).isTrue();

			assertThat(Thread.getAllStackTraces().keySet())
				.filteredOn((thread) -> thread.getName().equals("waterdrop.close-" + id))
				.hasSize(1);
		}
		finally {
			mayConnect.countDown();
		}
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.status() == ProducerStatus.CLOSED);
		assertThat(this.kafka.payloads("orders")).containsExactly("0", "1");
	}

	/** The events of messages a close drops: purged in flight or dropped from the buffer. */
	private static List<Event> droppedEvents(Producer producer) {
		List<Event> dropped = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe((event) -> {
			if (event instanceof ProducerEvent.MessagePurged || event instanceof ProducerEvent.BufferPurged) {
				dropped.add(event);
			}
		});
		return dropped;
	}

	/** A close with timeout 0 purges at once: it drops the buffer unsent, and connects no client to send it. */
	@Test
	void aCloseWithTimeoutZeroDropsWhatIsBufferedWithoutConnecting() {
		Producer producer = producer(this.kafka);
		producer.bufferMany(List.of(Message.of("orders", "1"), Message.of("orders", "2")));
		List<ProducerEvent.BufferPurged> dropped = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.BufferPurged.class, dropped::add);

		producer.close(Duration.ZERO);

		assertThat(dropped).singleElement().satisfies((event) -> assertThat(event.messages()).hasSize(2));
		assertThat(this.kafka.payloads("orders")).isEmpty();
		assertThat(producer.stats().producedAsync()).isZero();
	}

	/**
	 * A transactional producer's close does not flush (its transaction could wait for the broker past the
	 * close's timeout): it drops what is buffered, and says so.
	 */
	@Test
	void aTransactionalProducersCloseDropsWhatIsBufferedWithABufferPurgedEvent() {
		Producer producer = producer(ProducerConfig.builder()
			.id("buffer-tx-close")
			.kafka("transactional.id", "buffer-tx-3")
			.clientFactory(this.kafka));
		List<ProducerEvent.BufferPurged> purged = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.BufferPurged.class, purged::add);
		producer.bufferMany(List.of(Message.of("orders", "1"), Message.of("orders", "2")));

		producer.close();

		assertThat(purged).singleElement()
			.satisfies((event) -> assertThat(event.messages()).extracting(Message::payload).containsExactly("1", "2"));
		assertThat(this.kafka.records()).isEmpty();
	}

	/** A closed producer buffers nothing: a message buffered then could never be sent nor reported. */
	@Test
	void aClosedProducerRefusesToBuffer() {
		Producer producer = producer(this.kafka);
		producer.close();

		assertThatExceptionOfType(ProducerClosedException.class)
			.isThrownBy(() -> producer.buffer(Message.of("orders", "1")));
		assertThatExceptionOfType(ProducerClosedException.class)
			.isThrownBy(() -> producer.bufferMany(List.of(Message.of("orders", "2"))));
		assertThat(producer.bufferSize()).isZero();
		assertThat(this.kafka.records()).isEmpty();
	}

	/** A forced close drops what is buffered, and says so: the messages never go unreported. */
	@Test
	void aForcedCloseDropsWhatIsBufferedWithABufferPurgedEvent() {
		Producer producer = producer(this.kafka);
		List<ProducerEvent.BufferPurged> purged = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.BufferPurged.class, purged::add);
		producer.produceSync(Message.of("orders", "sent"));
		producer.bufferMany(List.of(Message.of("orders", "1"), Message.of("orders", "2")));

		producer.closeForcefully();

		assertThat(purged).singleElement()
			.satisfies((event) -> assertThat(event.messages()).extracting(Message::payload).containsExactly("1", "2"));
		assertThat(producer.bufferSize()).isZero();
		assertThat(this.kafka.payloads("orders")).containsExactly("sent");
	}

	@Test
	void flushOnATransactionalProducerCommitsTheBufferInOneTransaction() {
		Producer producer = producer(ProducerConfig.builder()
			.id("buffer-tx-commit")
			.kafka("transactional.id", "buffer-tx-2")
			.clientFactory(this.kafka));
		List<String> transactions = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.TransactionCommitted.class, (event) -> transactions.add(event.name()));
		producer.bufferMany(List.of(Message.of("orders", "1"), Message.of("orders", "2")));
		producer.buffer(Message.of("orders", "3"));

		producer.flushSync();

		assertThat(transactions).hasSize(1);
		assertThat(this.kafka.payloads("orders")).containsExactly("1", "2", "3");
	}

	@Test
	void concurrentBufferingAndFlushingLosesAndDuplicatesNothing() throws Exception {
		Producer producer = producer(this.kafka);
		int threads = 4;
		int perThread = 250;
		ExecutorService pool = Executors.newFixedThreadPool(threads);
		try {
			List<Future<?>> work = new ArrayList<>();
			for (int t = 0; t < threads; t++) {
				String prefix = "t" + t + "-";
				work.add(pool.submit(() -> {
					for (int i = 0; i < perThread; i++) {
						producer.buffer(Message.of("orders", prefix + i));
					}
				}));
			}
			while (!work.stream().allMatch(Future::isDone)) {
				producer.flushSync();
			}
			for (Future<?> future : work) {
				future.get();
			}
			producer.flushSync();
		}
		finally {
			pool.shutdownNow();
		}

		List<String> payloads = this.kafka.payloads("orders");
		assertThat(payloads).hasSize(threads * perThread);
		assertThat(new HashSet<>(payloads)).hasSize(threads * perThread);
		// Each thread's messages keep their order.
		for (int t = 0; t < threads; t++) {
			String prefix = "t" + t + "-";
			List<String> own = payloads.stream().filter((payload) -> payload.startsWith(prefix)).toList();
			List<String> expected = new ArrayList<>();
			for (int i = 0; i < perThread; i++) {
				expected.add(prefix + i);
			}
			assertThat(own).containsExactlyElementsOf(expected);
		}
	}

	@Test
	void tombstonesAreSentWithANullPayloadAndNeedAKey() {
		Producer producer = producer(this.kafka);

		Message tombstone = Message.tombstone("users", "user-1");
		assertThat(tombstone.payload()).isNull();
		producer.buffer(tombstone);
		producer.produceSync(Message.tombstone("users", "user-2"));
		producer.flushSync();
		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> producer.produceSync(Message.builder("users").build()))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.TOMBSTONE_WITHOUT_KEY))
			.withMessageContaining("no key");

		List<ProducerRecord<byte[], byte[]>> records = this.kafka.records("users");
		assertThat(records).extracting(ProducerRecord::value).containsExactly(null, null);
		assertThat(records).extracting((record) -> new String(record.key(), StandardCharsets.UTF_8))
			.containsExactly("user-2", "user-1");
	}

	/** A purge drops the buffer, and so the batches a flush took from it and has not sent yet. */
	@Test
	void aPurgeDuringAFlushInBatchesDropsTheBatchesNotSentYet() {
		InMemoryKafka kafka = new InMemoryKafka();
		Producer producer = producer(ProducerConfig.builder().id("buffering").maxInFlight(2).clientFactory(kafka));
		List<List<Message>> purged = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.BufferPurged.class, (event) -> purged.add(event.messages()));
		AtomicBoolean purgedOnce = new AtomicBoolean();
		producer.monitor().subscribe(ProducerEvent.MessagesProduced.class, (event) -> {
			if (purgedOnce.compareAndSet(false, true)) {
				producer.purge(); // after the first batch was sent
			}
		});
		for (int i = 1; i <= 4; i++) {
			producer.buffer(Message.of("users", String.valueOf(i)));
		}

		assertThat(producer.flushAsync()).hasSize(2);

		assertThat(kafka.payloads("users")).containsExactly("1", "2");
		assertThat(purged).singleElement()
			.satisfies((messages) -> assertThat(messages).extracting(Message::payload).containsExactly("3", "4"));
		assertThat(producer.bufferSize()).isZero();
	}

	/** Two flushes fail, the earlier one first: each puts its messages back where they were buffered. */
	@Test
	void messagesOfFailedFlushesGoBackInTheOrderTheyWereBufferedWhicheverFlushPutsBackFirst() throws Exception {
		Map<String, Callback> pending = new ConcurrentHashMap<>();
		AtomicBoolean acknowledging = new AtomicBoolean();
		MockProducer<byte[], byte[]> client = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer()) {

			@Override
			public synchronized Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
				if (acknowledging.get()) {
					return super.send(record, callback);
				}
				pending.put(new String(record.value(), StandardCharsets.UTF_8), callback);
				return new CompletableFuture<>();
			}

		};
		Producer producer = producer((properties) -> client);
		producer.buffer(Message.of("users", "a1"));
		producer.buffer(Message.of("users", "a2"));
		CompletableFuture<Void> first = CompletableFuture.runAsync(producer::flushSync);
		await().atMost(Duration.ofSeconds(30)).until(() -> pending.size() == 2);
		producer.buffer(Message.of("users", "c1"));
		CompletableFuture<Void> second = CompletableFuture.runAsync(producer::flushSync);
		await().atMost(Duration.ofSeconds(30)).until(() -> pending.size() == 3);

		pending.get("a1").onCompletion(null, new NotEnoughReplicasException("simulated"));
		pending.get("a2").onCompletion(null, new NotEnoughReplicasException("simulated"));
		assertThat(first).failsWithin(Duration.ofSeconds(30));
		pending.get("c1").onCompletion(null, new NotEnoughReplicasException("simulated"));
		assertThat(second).failsWithin(Duration.ofSeconds(30));
		acknowledging.set(true);
		producer.flushSync();

		assertThat(client.history()).extracting((record) -> new String(record.value(), StandardCharsets.UTF_8))
			.containsExactly("a1", "a2", "c1");
	}

	/** A flush whose producer cannot connect (an exception Kafka's client may sneak out) loses nothing taken. */
	@Test
	void aFlushWhoseConnectThrowsACheckedExceptionKeepsItsMessagesBuffered() throws Exception {
		AtomicInteger connects = new AtomicInteger();
		Producer producer = producer((properties) -> {
			if (connects.incrementAndGet() == 1) {
				throw BufferUnitTests.<RuntimeException>sneaky(new java.io.IOException("no network (simulated)"));
			}
			return new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
		});
		producer.buffer(Message.of("users", "1"));
		producer.buffer(Message.of("users", "2"));

		assertThatExceptionOfType(java.io.IOException.class).isThrownBy(producer::flushSync);
		assertThat(producer.bufferSize()).isEqualTo(2);
		assertThat(producer.flushSync()).hasSize(2);
	}

	@SuppressWarnings("unchecked")
	private static <T extends Throwable> T sneaky(Throwable checked) throws T {
		throw (T) checked;
	}

	// --- helpers

	private Producer producer(java.util.function.Function<java.util.Map<String, Object>, org.apache.kafka.clients.producer.Producer<byte[], byte[]>> client) {
		return producer(ProducerConfig.builder().id("buffering").clientFactory(client));
	}

	private Producer producer(ProducerConfig.Builder config) {
		Producer producer = new Producer(config.maxWaitTimeout(Duration.ofSeconds(30)).build());
		this.producers.add(producer);
		return producer;
	}

	private MockProducer<byte[], byte[]> manualMock() {
		MockProducer<byte[], byte[]> mock = new MockProducer<>(false, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		this.manualMocks.add(mock);
		return mock;
	}

	/** The buffer's events, in the order published. */
	private static List<ProducerEvent> bufferEvents(Producer producer) {
		List<ProducerEvent> events = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.class, (event) -> {
			if (event.name().contains("buffer")) {
				events.add(event);
			}
		});
		return events;
	}

	private static List<String> payloads(List<ProducerRecord<byte[], byte[]>> records) {
		List<String> payloads = new ArrayList<>();
		for (ProducerRecord<byte[], byte[]> record : records) {
			payloads.add((record.value() != null) ? new String(record.value(), StandardCharsets.UTF_8) : null);
		}
		return payloads;
	}

	/** An observer whose header makes the message with that payload a record too large for Kafka: invalid. */
	private static DeliveryObserver oversizing(String payload) {
		return new DeliveryObserver() {

			@Override
			public Object beforeSend(String producerId, Message message, ProducerRecord<byte[], byte[]> record) {
				if (payload.equals(message.payload())) {
					record.headers().add("oversized", new byte[1_100_000]);
				}
				return null;
			}

			@Override
			public void afterOutcome(Object observation, DeliveryReport report, Throwable error) {
			}

		};
	}

}
