package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The examples of docs/transactions.md, copied verbatim between the {@code // docs} markers, so that they
 * compile and do what the page says. Change both together.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class DocsExamplesTests {

	private static final Logger logger = LoggerFactory.getLogger(DocsExamplesTests.class);

	private final InMemoryKafka kafka = new InMemoryKafka();

	private final List<Producer> producers = new CopyOnWriteArrayList<>();

	@AfterEach
	void close() {
		this.producers.forEach((producer) -> producer.close(Duration.ofSeconds(10)));
	}

	@Test
	void transactionalProducerConfiguration() {
		String instanceName = "pod-1";
		// docs
		Producer producer = new Producer(ProducerConfig.builder()
			.id("orders")
			.kafka("bootstrap.servers", "localhost:9092")
			.kafka("transactional.id", "orders-" + instanceName)
			.build());
		// docs end
		// Built, never connected: nothing reaches localhost:9092.
		assertThat(producer.transactional()).isTrue();
		producer.close();
	}

	@Test
	void transactionReturnsTheBlockValue() {
		Producer producer = transactional();
		// docs
		String orderId = producer.transaction((transaction) -> {
			transaction.produceAsync(Message.of("orders", "order-1 created"));
			transaction.produceAsync(Message.of("invoices", "invoice for order-1"));
			return "order-1";
		});
		// docs end
		assertThat(orderId).isEqualTo("order-1");
		assertThat(this.kafka.payloads("orders")).containsExactly("order-1 created");
		assertThat(this.kafka.payloads("invoices")).containsExactly("invoice for order-1");
	}

	@Test
	void abortRollsBackQuietly() {
		Producer producer = transactional();
		boolean approved = false;
		// docs
		Object result = producer.transaction((transaction) -> {
			transaction.produceAsync(Message.of("payments", "charge order-2"));
			if (!approved) {
				transaction.abort(); // rolls back quietly: transaction(...) returns null
			}
			return "charged";
		});
		// docs end
		assertThat(result).isNull();
		assertThat(this.kafka.records()).isEmpty();
	}

	@Test
	void boundTransactionIsEndedByTheThreadThatBeganIt() {
		Producer producer = transactional();
		// docs
		BoundTransaction transaction = producer.beginTransaction();
		try {
			producer.produceAsync(Message.of("orders", "order-5 created"));
			producer.produceAsync(Message.of("invoices", "invoice for order-5"));
			transaction.commit();
		}
		catch (RuntimeException ex) {
			if (transaction.isOpen()) {
				transaction.abort();
			}
			throw ex;
		}
		// docs end
		assertThat(this.kafka.payloads("orders")).containsExactly("order-5 created");
		assertThat(this.kafka.payloads("invoices")).containsExactly("invoice for order-5");
		assertThat(producer.inTransaction()).isFalse();
	}

	@Test
	void workFromACallbackIsHandedToAnotherThread() {
		Producer producer = transactional();
		// docs
		ExecutorService executor = Executors.newSingleThreadExecutor();
		producer.produceAsync(Message.of("orders", "order-3 created"), (report, failure) -> {
			// On the polling thread: producer.transaction(...) here would throw IllegalCallerException.
			executor.submit(() -> producer.transaction((transaction) ->
					transaction.produceAsync(Message.of("audit", "order-3 acknowledged"))));
		});
		// docs end
		await().atMost(Duration.ofSeconds(30)).until(() -> this.kafka.payloads("audit").size() == 1);
		executor.shutdown();
		assertThat(this.kafka.payloads("orders")).containsExactly("order-3 created");
	}

	// docs
	static void transformOnce(Consumer<String, String> consumer, Producer producer) {
		ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(500));
		if (records.isEmpty()) {
			return;
		}
		producer.transaction((transaction) -> {
			Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
			for (ConsumerRecord<String, String> record : records) {
				transaction.produceAsync(Message.builder("orders-upper")
					.key(record.key())
					.payload(record.value().toUpperCase())
					.build());
				next.put(new TopicPartition(record.topic(), record.partition()),
						new OffsetAndMetadata(record.offset() + 1));
			}
			transaction.markAsConsumed(next, consumer.groupMetadata());
			return null;
		});
	}
	// docs end

	@Test
	void consumeTransformProduce() {
		Producer producer = transactional();
		TopicPartition partition = new TopicPartition("orders", 0);
		try (MockConsumer<String, String> consumer = new MockConsumer<>("earliest")) {
			consumer.assign(List.of(partition));
			consumer.updateBeginningOffsets(Map.of(partition, 0L));
			consumer.addRecord(new ConsumerRecord<>("orders", 0, 0, "order-1", "created"));
			consumer.addRecord(new ConsumerRecord<>("orders", 0, 1, "order-2", "paid"));

			transformOnce(consumer, producer);
		}

		assertThat(this.kafka.payloads("orders-upper")).containsExactly("CREATED", "PAID");
		assertThat(this.kafka.consumedOffsets()).containsExactly(Map.entry(partition, new OffsetAndMetadata(2)));
	}

	@Test
	void reloadIsReported() {
		List<MockProducer<byte[], byte[]>> clients = new CopyOnWriteArrayList<>();
		Producer producer = track(new Producer(ProducerConfig.builder()
			.id("reloading")
			.kafka("transactional.id", "reloading-1")
			.nonReloadableErrors(java.util.Set.of()) // MockProducer's only fatal error is fencing
			.clientFactory((properties) -> {
				MockProducer<byte[], byte[]> client = new MockProducer<>(true, null, new ByteArraySerializer(),
						new ByteArraySerializer());
				clients.add(client);
				return client;
			})
			.build()));
		List<ProducerEvent.Reloaded> reloads = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Reloaded.class, reloads::add);
		// docs
		producer.monitor().subscribe(ProducerEvent.Reloaded.class, (event) ->
				logger.warn("Producer {} rebuilt its Kafka client after {}", event.producerId(), event.cause().toString()));
		// docs end
		producer.connect();
		clients.get(0).fenceProducer();

		producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "after the reload")));

		assertThat(reloads).hasSize(1);
		assertThat(clients).hasSize(2);
		assertThat(clients.get(1).history()).hasSize(1);
	}

	/** The buffering example, run once against a healthy client and once against one refusing a message. */
	static void bufferAndFlush(Producer producer) {
		// docs
		producer.buffer(Message.of("events", "page viewed"));
		producer.bufferMany(List.of(Message.of("events", "clicked"), Message.of("events", "scrolled")));
		try {
			List<DeliveryReport> reports = producer.flushSync();
			logger.info("Flushed {} events", reports.size());
		}
		catch (DeliveryFailedException ex) {
			// The undelivered messages are back in the buffer, ahead of newer ones: the next flush retries them.
			logger.warn("{} events wait for the next flush", producer.bufferSize(), ex);
		}
		catch (BatchPartlySentException ex) {
			// Kafka's client refused a message part-way: those before it are on their way, the rest are buffered.
			logger.warn("{} events sent, {} wait for the next flush", ex.sent().size(), producer.bufferSize(), ex);
		}
		// docs end
	}

	@Test
	void bufferingFlushesEverything() {
		Producer producer = track(new Producer(ProducerConfig.builder().id("events").clientFactory(this.kafka).build()));

		bufferAndFlush(producer);

		assertThat(this.kafka.payloads("events")).containsExactly("page viewed", "clicked", "scrolled");
		assertThat(producer.bufferSize()).isZero();
	}

	@Test
	void bufferingKeepsWhatWasNotDelivered() throws Exception {
		MockProducer<byte[], byte[]> mock = new MockProducer<>(false, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		Producer producer = track(new Producer(ProducerConfig.builder().id("events").clientFactory((properties) -> mock).build()));

		CompletableFuture<Void> example = CompletableFuture.runAsync(() -> bufferAndFlush(producer));
		await().atMost(Duration.ofSeconds(30)).until(() -> mock.history().size() == 3);
		mock.completeNext();
		mock.errorNext(new NotEnoughReplicasException("refused"));
		mock.completeNext();
		example.get(10, TimeUnit.SECONDS);

		assertThat(producer.bufferSize()).isEqualTo(1);
	}

	@Test
	void tombstone() {
		Producer producer = track(new Producer(ProducerConfig.builder().id("users").clientFactory(this.kafka).build()));
		// docs
		producer.produceSync(Message.tombstone("users", "user-42"));
		// docs end
		assertThat(this.kafka.records("users")).singleElement().satisfies((record) -> {
			assertThat(record.value()).isNull();
			assertThat(record.key()).isEqualTo("user-42".getBytes(StandardCharsets.UTF_8));
		});
	}

	@Test
	void middleware() {
		Producer producer = track(new Producer(ProducerConfig.builder().id("billing").clientFactory(this.kafka).build()));
		// docs
		producer.middleware()
			.append((message) -> message.toBuilder().header("service", "billing").build())
			.prepend((message) -> message.toBuilder().topic("acme-" + message.topic()).build());
		// Message.of("invoices", ...) is sent to "acme-invoices" with the header service=billing.
		// docs end
		producer.produceSync(Message.of("invoices", "invoice-1"));

		assertThat(this.kafka.records("acme-invoices")).singleElement()
			.satisfies((record) -> assertThat(record.headers().lastHeader("service").value())
				.isEqualTo("billing".getBytes(StandardCharsets.UTF_8)));
	}

	// docs
	@Test
	void placingAnOrderPublishesIt() {
		InMemoryKafka kafka = new InMemoryKafka().topic("orders", 3);
		try (Producer producer = new Producer(ProducerConfig.builder()
			.id("orders")
			.kafka("transactional.id", "orders-test")
			.clientFactory(kafka)
			.build())) {
			producer.transaction((transaction) -> transaction.produceAsync(
					Message.builder("orders").key("order-1").payload("created").build()));
			producer.transaction((transaction) -> {
				transaction.produceAsync(Message.of("orders", "rolled back"));
				throw new AbortTransaction();
			});
		}
		assertThat(kafka.payloads("orders")).containsExactly("created");
		assertThat(kafka.records("orders").get(0).partition())
			.isEqualTo(Utils.toPositive(Utils.murmur2("order-1".getBytes(StandardCharsets.UTF_8))) % 3);
	}
	// docs end

	@Test
	void transactionalPoolConfiguration() {
		String instanceName = "pod-1";
		// docs
		TransactionalPool payments = TransactionalPool.of(ProducerConfig.builder()
			.id("payments")
			.kafka("bootstrap.servers", "localhost:9092")
			.kafka("transactional.id", "payments-" + instanceName), 4, Duration.ofSeconds(10));
		// docs end
		// Built, never connected: nothing reaches localhost:9092.
		assertThat(payments.members()).extracting(Producer::id)
			.containsExactly("payments-0", "payments-1", "payments-2", "payments-3");
		assertThat(payments.members()).extracting((member) -> member.config().kafka().get("transactional.id"))
			.containsExactly("payments-pod-1-0", "payments-pod-1-1", "payments-pod-1-2", "payments-pod-1-3");
		payments.close();
	}

	@Test
	void transactionOnAPool() {
		TransactionalPool payments = TransactionalPool.of(ProducerConfig.builder()
			.id("payments")
			.kafka("transactional.id", "payments-docs")
			.clientFactory(this.kafka), 2, Duration.ofSeconds(10));
		this.producers.addAll(payments.members());
		// docs
		String receipt = payments.transaction((transaction) -> {
			transaction.produceAsync(Message.of("payments", "charge order-4"));
			transaction.produceAsync(Message.of("ledger", "debit order-4"));
			return "receipt-4";
		});
		// docs end
		assertThat(receipt).isEqualTo("receipt-4");
		assertThat(this.kafka.payloads("payments")).containsExactly("charge order-4");
		assertThat(this.kafka.payloads("ledger")).containsExactly("debit order-4");
	}

	@Test
	void everyExampleHereIsOnThePage() throws Exception {
		String page = normalize(Files.readString(Path.of("..", "docs", "transactions.md")));
		List<String> source = Files.readAllLines(Path.of("src", "test", "java", "io", "waterdrop", "DocsExamplesTests.java"));
		int examples = 0;
		StringBuilder example = null;
		for (String line : source) {
			if (line.trim().equals("// docs")) {
				example = new StringBuilder();
			}
			else if (line.trim().equals("// docs end")) {
				assertThat(page).as("docs/transactions.md").contains(normalize(example.toString()));
				examples++;
				example = null;
			}
			else if (example != null) {
				example.append(line).append('\n');
			}
		}
		assertThat(examples).isEqualTo(13);
	}

	/** Lines trimmed, blank ones dropped: indentation may differ between the page and the code. */
	private static String normalize(String text) {
		return text.lines().map(String::trim).filter((line) -> !line.isEmpty()).collect(Collectors.joining("\n"));
	}

	private Producer transactional() {
		return track(new Producer(ProducerConfig.builder()
			.id("docs")
			.kafka("transactional.id", "docs-1")
			.maxWaitTimeout(Duration.ofSeconds(30))
			.clientFactory(this.kafka)
			.build()));
	}

	private Producer track(Producer producer) {
		this.producers.add(producer);
		return producer;
	}

}
