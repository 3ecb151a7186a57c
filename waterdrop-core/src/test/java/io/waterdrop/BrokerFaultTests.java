package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.DeliveryLedger.Entry;
import io.waterdrop.DeliveryLedger.Outcome;
import io.waterdrop.polling.PollingMode;
import io.waterdrop.testing.KafkaTestBroker;
import io.waterdrop.testing.broker.KafkaBrokerProcess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A real broker in its own process fails under a running producer: it is stopped mid-stream and started
 * again with the same port and data. Every message the producer accepted ends in exactly one terminal
 * outcome (acknowledged, or failed with Kafka's exception within the delivery timeout), no outcome is
 * reported twice, the counters add up, and once the broker is back the same producer delivers again.
 * Closing while the broker is down returns within its timeout and ends every message as failed or purged.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
// Generous: the close test alone waits out a 120 s delivery timeout, besides a broker stop and start.
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class BrokerFaultTests {

	private static final Duration DELIVERY_TIMEOUT = Duration.ofSeconds(10);

	private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(3);

	private static final Duration MAX_BLOCK = Duration.ofSeconds(5);

	/**
	 * Added to a configured timeout where a test bounds how long something took: room for Kafka's sender loop,
	 * purging, dispatch and a busy machine. The timeouts themselves are what the tests tell apart.
	 */
	private static final Duration SLACK = Duration.ofSeconds(30);

	private KafkaBrokerProcess broker;

	private Admin admin;

	private final TestProducers producers = new TestProducers();

	@BeforeAll
	void startBroker() {
		this.broker = new KafkaBrokerProcess();
		this.broker.start();
		this.admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, this.broker.bootstrapServers()));
	}

	@AfterAll
	void stopBroker() {
		if (this.admin != null) {
			this.admin.close(Duration.ofSeconds(5));
		}
		if (this.broker != null) {
			this.broker.close();
		}
	}

	@BeforeEach
	void brokerRuns() {
		if (!this.broker.isRunning()) {
			this.broker.start();
		}
	}

	@AfterEach
	void closeProducers() {
		this.producers.closeAll();
	}

	@Test
	void brokerStoppedMidStreamEndsEveryMessageOnceAndTheSameProducerDeliversAfterItsRestart() throws Exception {
		String topic = createTopic("fault-stream", 3);
		Producer producer = this.producers.create(config("fault-stream").pollingMode(PollingMode.FD));
		DeliveryLedger ledger = new DeliveryLedger().watch(producer);
		Map<Object, String> phaseOf = new java.util.concurrent.ConcurrentHashMap<>();
		AtomicInteger phase = new AtomicInteger(0);
		String[] phases = { "healthy", "stopping", "down", "starting", "back" };
		AtomicBoolean streaming = new AtomicBoolean(true);
		AtomicLong longestCall = new AtomicLong();
		ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
		producer.connect();
		Thread stream = new Thread(() -> {
			int label = 0;
			while (streaming.get()) {
				label++;
				Message message = Message.builder(topic)
					.key("key-" + (label % 20))
					.payload("stream-" + label)
					.label(label)
					.build();
				phaseOf.put(label, phases[phase.get()]);
				DeliveryCallback callback = ledger.book(label);
				long calling = System.nanoTime();
				try {
					producer.produceAsync(message, callback);
					longestCall.accumulateAndGet(System.nanoTime() - calling, Math::max);
				}
				catch (Throwable ex) {
					ledger.refused(label);
					unexpected.add(ex);
				}
				sleepMillis(2);
			}
		}, "fault-stream");
		stream.start();

		await().atMost(Duration.ofSeconds(60)).until(() -> ledger.count(Outcome.ACKNOWLEDGED) >= 500);
		phase.set(1);
		long stopping = System.nanoTime();
		this.broker.stop();
		Duration stopTook = Duration.ofNanos(System.nanoTime() - stopping);
		phase.set(2);
		// Down longer than the delivery timeout: the first messages of the outage must fail.
		Thread.sleep(DELIVERY_TIMEOUT.plusSeconds(2).toMillis());
		phase.set(3);
		long starting = System.nanoTime();
		this.broker.start();
		// Back means serving the topic again: its partitions have leaders that answer. Messages produced from here
		// on must be delivered; those produced while the broker was still electing leaders may legitimately time
		// out (a leader merely named in the metadata may still refuse them, see KafkaTestBroker.leadersServe).
		awaitLeaders(topic);
		long backNanos = System.nanoTime();
		Duration startTook = Duration.ofNanos(backNanos - starting);
		phase.set(4);
		await().atMost(Duration.ofSeconds(60))
			.until(() -> ledger.entries()
				.stream()
				.filter((entry) -> entry.producedNanos > backNanos && entry.outcome == Outcome.ACKNOWLEDGED)
				.count() > 100);
		streaming.set(false);
		stream.join(MAX_BLOCK.plus(SLACK).toMillis());
		assertThat(stream.isAlive()).isFalse();

		// Every accepted message ends: within the delivery timeout, after a produce call that may block max.block.ms.
		await().atMost(MAX_BLOCK.plus(DELIVERY_TIMEOUT).plus(SLACK).plus(SLACK)).until(() -> ledger.pending() == 0);
		await().atMost(SLACK).until(() -> producer.inFlight() == 0);

		assertThat(unexpected).as("produce calls refused during the outage").isEmpty();
		assertThat(ledger.violations(producer)).isEmpty();
		assertThat(producer.stats().purged()).isZero();
		Map<String, Map<Outcome, Long>> byPhase = ledger.entries()
			.stream()
			.collect(Collectors.groupingBy((entry) -> phaseOf.get(entry.label),
					Collectors.groupingBy((entry) -> entry.outcome, Collectors.counting())));
		System.out.println("Broker fault stream: " + ledger + " by phase " + byPhase + "; broker stop took "
				+ stopTook.toMillis() + " ms, start " + startTook.toMillis() + " ms; longest produce call "
				+ TimeUnit.NANOSECONDS.toMillis(longestCall.get()) + " ms");
		// Without the topic's metadata (lost in the broker's shutdown) Kafka's send() blocks, but only up to
		// max.block.ms, and then fails the message through its callback like any other delivery failure.
		assertThat(Duration.ofNanos(longestCall.get())).isLessThan(MAX_BLOCK.plus(SLACK));
		assertThat(ledger.count(Outcome.FAILED)).as("messages that failed while the broker was down").isPositive();
		for (Entry entry : ledger.entries()) {
			assertThat(Duration.ofNanos(entry.endedNanos - entry.producedNanos))
				.as("time from producing %s to its outcome %s", entry.label, entry.outcome)
				.isLessThanOrEqualTo(MAX_BLOCK.plus(DELIVERY_TIMEOUT).plus(SLACK));
			if (entry.outcome == Outcome.FAILED) {
				assertThat(entry.failure).isExactlyInstanceOf(DeliveryFailedException.class)
					.hasMessageContaining("was not delivered by producer '" + producer.id() + "'")
					.hasCauseInstanceOf(KafkaException.class);
				assertThat(entry.failure.label()).isEqualTo(entry.label);
			}
			else {
				assertThat(entry.report.label()).isEqualTo(entry.label);
				assertThat(entry.report.topic()).isEqualTo(topic);
			}
		}
		// Once the broker is back the same producer delivers: everything produced after its restart arrived.
		List<Entry> afterRestart = ledger.entries()
			.stream()
			.filter((entry) -> entry.producedNanos > backNanos)
			.toList();
		assertThat(afterRestart).as("messages produced after the restart").hasSizeGreaterThan(100);
		assertThat(afterRestart).allSatisfy((entry) -> assertThat(entry.outcome).as("outcome of %s", entry.label)
			.isEqualTo(Outcome.ACKNOWLEDGED));
		// And synchronously, without a reconnect or a new producer.
		for (int i = 0; i < 20; i++) {
			String label = "sync-after-restart-" + i;
			DeliveryCallback callback = ledger.book(label);
			DeliveryReport report = producer.produceAsync(Message.builder(topic).payload(label).label(label).build(),
					callback)
				.await(Duration.ofSeconds(30));
			assertThat(report.label()).isEqualTo(label);
		}

		// What was acknowledged is on the broker, the restart notwithstanding.
		Set<String> stored = consumePayloads(topic, (int) ledger.count(Outcome.ACKNOWLEDGED));
		Set<String> acknowledged = ledger.labels(Outcome.ACKNOWLEDGED)
			.stream()
			.map((label) -> (label instanceof Integer) ? "stream-" + label : label.toString())
			.collect(Collectors.toSet());
		assertThat(stored).containsAll(acknowledged);

		Duration closeTimeout = Duration.ofSeconds(30);
		long closing = System.nanoTime();
		producer.close(closeTimeout);
		assertThat(Duration.ofNanos(System.nanoTime() - closing)).isLessThan(closeTimeout.plus(SLACK));
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(ledger.violations(producer)).isEmpty();
	}

	@Test
	void closeWhileTheBrokerIsDownReturnsWithinItsTimeoutAndEndsEveryMessageAsFailedOrPurged() throws Exception {
		String topic = createTopic("fault-close", 2);
		int count = 2_000;
		// The messages linger (90 s, batches far from full) while the broker stops, so they are surely still in
		// flight when it is gone. Produced after it is gone they would not be: with the topic's metadata lost
		// in the shutdown, Kafka's send() blocks max.block.ms and fails each message itself. 90 s: stopping the
		// broker may take 30 s (SIGTERM, then SIGKILL) and the 8,000 produce calls more on a busy machine. The
		// delivery timeout (at least linger + request timeout) is SLACK past the linger, so the other closes
		// below, which start before the linger ends, cannot have waited for it.
		Duration linger = Duration.ofSeconds(90);
		Duration deliveryTimeout = linger.plus(SLACK);
		// Long enough for Kafka to fail every message at its delivery timeout before this close would purge.
		Duration outlastingTimeout = deliveryTimeout.plus(Duration.ofSeconds(60));
		Map<String, Producer> byName = new HashMap<>();
		byName.put("short-timeout", this.producers.create(lingering(config("fault-close-short"), linger, deliveryTimeout)));
		byName.put("forceful", this.producers.create(lingering(config("fault-close-forceful"), linger, deliveryTimeout)));
		byName.put("outlasting-delivery-timeout", this.producers.create(
				lingering(config("fault-close-long"), linger, deliveryTimeout).maxWaitTimeout(outlastingTimeout)));
		byName.put("thread-mode-short-timeout", this.producers.create(
				lingering(config("fault-close-thread"), linger, deliveryTimeout).pollingMode(PollingMode.THREAD)));
		Map<String, DeliveryLedger> ledgers = new HashMap<>();
		long produced = System.nanoTime();
		for (Map.Entry<String, Producer> named : byName.entrySet()) {
			Producer producer = named.getValue();
			DeliveryLedger ledger = new DeliveryLedger().watch(producer);
			ledgers.put(named.getKey(), ledger);
			for (int i = 0; i < count; i++) {
				// An explicit partition makes the first produce call wait for the topic's metadata.
				producer.produceAsync(Message.builder(topic).partition(i % 2).payload("down-" + i).label(i).build(),
						ledger.book(i));
			}
		}
		this.broker.stop();
		Duration stopping = Duration.ofNanos(System.nanoTime() - produced);
		assertThat(stopping).as("broker stopped before the messages stopped lingering").isLessThan(linger);
		for (Producer producer : byName.values()) {
			assertThat(producer.inFlight()).isEqualTo(count);
		}

		Duration shortTimeout = Duration.ofSeconds(2);
		Map<String, Supplier<Duration>> closes = Map.of("short-timeout",
				timed(() -> byName.get("short-timeout").close(shortTimeout)), "forceful",
				timed(() -> byName.get("forceful").closeForcefully()), "outlasting-delivery-timeout",
				timed(() -> byName.get("outlasting-delivery-timeout").close()), "thread-mode-short-timeout",
				timed(() -> byName.get("thread-mode-short-timeout").close(shortTimeout)));
		Map<String, CompletableFuture<Duration>> running = new HashMap<>();
		closes.forEach((name, close) -> running.put(name, CompletableFuture.supplyAsync(close)));
		Map<String, Duration> took = new HashMap<>();
		for (Map.Entry<String, CompletableFuture<Duration>> close : running.entrySet()) {
			took.put(close.getKey(), close.getValue().get(outlastingTimeout.plus(SLACK).toSeconds(), TimeUnit.SECONDS));
		}
		System.out.println("Broker stopped after " + stopping.toMillis() + " ms; closes took " + took);

		// A timeout is a bound: purging what is left and releasing the client add little to it (and all of these
		// end before the 120 s delivery timeout could have failed anything).
		assertThat(took.get("short-timeout")).isLessThan(shortTimeout.plus(SLACK));
		assertThat(took.get("thread-mode-short-timeout")).isLessThan(shortTimeout.plus(SLACK));
		assertThat(took.get("forceful")).isLessThan(SLACK);
		// Kafka gives up on each message at its delivery timeout (counted from before the broker stopped), well
		// within this close's timeout, at which it would purge them instead.
		assertThat(took.get("outlasting-delivery-timeout")).isLessThan(deliveryTimeout.plus(SLACK));
		for (Map.Entry<String, Producer> named : byName.entrySet()) {
			Producer producer = named.getValue();
			DeliveryLedger ledger = ledgers.get(named.getKey());
			assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
			assertThat(ledger.violations(producer)).as(named.getKey()).isEmpty();
			assertThat(ledger.count(Outcome.ACKNOWLEDGED)).as(named.getKey()).isZero();
		}
		assertThat(ledgers.get("forceful").count(Outcome.PURGED)).isEqualTo(count);
		assertThat(ledgers.get("short-timeout").count(Outcome.PURGED)).isEqualTo(count);
		assertThat(ledgers.get("thread-mode-short-timeout").count(Outcome.PURGED)).isEqualTo(count);
		assertThat(ledgers.get("outlasting-delivery-timeout").count(Outcome.FAILED)).isEqualTo(count);
		assertThat(ledgers.get("outlasting-delivery-timeout").entries())
			.allSatisfy((entry) -> assertThat(entry.failure)
				.hasCauseInstanceOf(org.apache.kafka.common.errors.TimeoutException.class));
	}

	private static io.waterdrop.ProducerConfig.Builder lingering(io.waterdrop.ProducerConfig.Builder config,
			Duration linger, Duration deliveryTimeout) {
		return config.kafka(ProducerConfig.LINGER_MS_CONFIG, (int) linger.toMillis())
			.kafka(ProducerConfig.BATCH_SIZE_CONFIG, 1_048_576)
			.kafka(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) deliveryTimeout.toMillis());
	}

	private io.waterdrop.ProducerConfig.Builder config(String idPrefix) {
		return io.waterdrop.ProducerConfig.builder()
			.id(TestProducers.uniqueId(idPrefix))
			.kafka(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, this.broker.bootstrapServers())
			.kafka(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) DELIVERY_TIMEOUT.toMillis())
			.kafka(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) REQUEST_TIMEOUT.toMillis())
			.kafka(ProducerConfig.LINGER_MS_CONFIG, 5)
			// No produce call may block long on metadata while the broker is gone.
			.kafka(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) MAX_BLOCK.toMillis())
			.kafka(ProducerConfig.RECONNECT_BACKOFF_MS_CONFIG, 50)
			.kafka(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500)
			.maxWaitTimeout(Duration.ofSeconds(30));
	}

	private String createTopic(String prefix, int partitions) throws Exception {
		String topic = prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
		this.admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
		awaitLeaders(topic);
		return topic;
	}

	/**
	 * Waits until every partition of the topic has a leader that serves it (after its creation, or the broker's
	 * restart).
	 */
	private void awaitLeaders(String topic) {
		await().atMost(Duration.ofSeconds(60)).until(() -> {
			try {
				List<TopicPartitionInfo> partitions = this.admin.describeTopics(List.of(topic))
					.allTopicNames()
					.get(5, TimeUnit.SECONDS)
					.get(topic)
					.partitions();
				return partitions.stream().allMatch((partition) -> partition.leader() != null)
						&& KafkaTestBroker.leadersServe(this.admin, topic, partitions.size());
			}
			catch (Exception ex) {
				return false;
			}
		});
	}

	/** Every payload in the topic, read until at least {@code atLeast} records arrived and the end is reached. */
	private Set<String> consumePayloads(String topic, int atLeast) {
		Map<String, Object> properties = new HashMap<>();
		properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, this.broker.bootstrapServers());
		properties.put(ConsumerConfig.GROUP_ID_CONFIG, "fault-check-" + UUID.randomUUID());
		properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
		properties.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5_000);
		Set<String> payloads = new HashSet<>();
		try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(properties, new ByteArrayDeserializer(),
				new ByteArrayDeserializer())) {
			List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30))
				.stream()
				.map((info) -> new TopicPartition(topic, info.partition()))
				.toList();
			consumer.assign(partitions);
			consumer.seekToBeginning(partitions);
			Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, Duration.ofSeconds(30));
			long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
			int read = 0;
			while (read < atLeast
					|| !partitions.stream().allMatch((partition) -> consumer.position(partition) >= ends.get(partition))) {
				for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
					payloads.add(new String(record.value(), StandardCharsets.UTF_8));
					read++;
				}
				assertThat(System.nanoTime()).as("reading %s records of %s", atLeast, topic).isLessThan(deadline);
			}
		}
		return payloads;
	}

	private static Supplier<Duration> timed(Runnable action) {
		return () -> {
			long start = System.nanoTime();
			action.run();
			return Duration.ofNanos(System.nanoTime() - start);
		};
	}

	private static void sleepMillis(long millis) {
		try {
			Thread.sleep(millis);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
