package io.waterdrop.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.test.EmbeddedKafkaKraftBroker;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

/**
 * One real Kafka broker shared by every test in a JVM, started on first use and stopped by a shutdown
 * hook.
 * <p>
 * Which broker: the one named by the system property or environment variable
 * {@value #BOOTSTRAP_SERVERS_PROPERTY} / {@code WATERDROP_TEST_BOOTSTRAP_SERVERS} if set (a broker in its own
 * process, for instance); else a Testcontainers {@link KafkaContainer} ({@value #KAFKA_IMAGE}) when Docker
 * is available; else spring-kafka-test's {@link EmbeddedKafkaKraftBroker} inside this JVM.
 * <p>
 * Threading: every method is thread-safe. Other modules use it through waterdrop-core's test-jar; they need
 * spring-kafka-test and testcontainers-kafka on their test class path too.
 */
public final class KafkaTestBroker {

	public static final String KAFKA_IMAGE = "apache/kafka:4.1.2";

	public static final String BOOTSTRAP_SERVERS_PROPERTY = "waterdrop.test.bootstrap-servers";

	private static final Logger logger = LoggerFactory.getLogger(KafkaTestBroker.class);

	private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(30);

	private static final AtomicInteger topicIndex = new AtomicInteger();

	/** Distinguishes JVMs that share an external broker. */
	private static final String runId = UUID.randomUUID().toString().substring(0, 8);

	private static final Object lock = new Object();

	/** Guarded by lock. */
	private static Running running;

	private KafkaTestBroker() {
	}

	/** The broker's bootstrap servers; starts the broker on first use. */
	public static String bootstrapServers() {
		return broker().bootstrapServers;
	}

	/** What kind of broker runs: {@code external}, {@code testcontainers} or {@code embedded}. */
	public static String kind() {
		return broker().kind;
	}

	/** Client properties that reach the broker: {@code bootstrap.servers}. */
	public static Map<String, Object> clientProperties() {
		Map<String, Object> properties = new HashMap<>();
		properties.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
		return properties;
	}

	/** A topic name no other test (nor another JVM sharing the broker) uses. */
	public static String uniqueTopic(String prefix) {
		return prefix + "-" + runId + "-" + topicIndex.incrementAndGet();
	}

	/** Creates a topic with replication factor 1 and waits until every partition has a leader. */
	public static void createTopic(String name, int partitions) {
		createTopic(name, partitions, Map.of());
	}

	/**
	 * Creates a topic with replication factor 1 and the given topic configs (e.g.
	 * {@code min.insync.replicas=2} for a topic that refuses {@code acks=all} writes), and waits until every
	 * partition has a leader.
	 */
	public static void createTopic(String name, int partitions, Map<String, String> configs) {
		Admin admin = broker().admin;
		NewTopic topic = new NewTopic(name, partitions, (short) 1).configs(configs);
		get(admin.createTopics(List.of(topic)).all(), "create topic " + name);
		long deadline = System.nanoTime() + ADMIN_TIMEOUT.toNanos();
		while (true) {
			try {
				TopicDescription description = admin.describeTopics(List.of(name))
					.allTopicNames()
					.get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
					.get(name);
				if (description.partitions().size() == partitions
						&& description.partitions().stream().allMatch((partition) -> partition.leader() != null)
						&& leadersServe(admin, name, partitions)) {
					return;
				}
			}
			catch (ExecutionException | TimeoutException ex) {
				// not visible yet: retry below
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				throw new IllegalStateException("Interrupted while creating topic " + name, ex);
			}
			if (System.nanoTime() > deadline) {
				throw new IllegalStateException("Topic " + name + " had no leader for every partition within "
						+ ADMIN_TIMEOUT);
			}
			sleep(20);
		}
	}

	/**
	 * Whether the leaders answer for every partition. A leader in the metadata is not enough: a first produce
	 * that meets NOT_LEADER_OR_FOLLOWER is retried after later batches of an idempotent producer went through,
	 * and the broker then refuses the retry with OutOfOrderSequenceException until delivery.timeout.ms.
	 * Public for tests with a broker of their own (one they restart, for instance).
	 */
	public static boolean leadersServe(Admin admin, String topic, int partitions) {
		Map<TopicPartition, OffsetSpec> request = new HashMap<>();
		for (int partition = 0; partition < partitions; partition++) {
			request.put(new TopicPartition(topic, partition), OffsetSpec.latest());
		}
		try {
			admin.listOffsets(request).all().get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
			return true;
		}
		catch (ExecutionException | TimeoutException ex) {
			return false;
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted while probing the leaders of " + topic, ex);
		}
	}

	/** The log-end offset (high watermark) of every partition of a topic. */
	public static Map<Integer, Long> endOffsets(String topic) {
		Admin admin = broker().admin;
		TopicDescription description = get(admin.describeTopics(List.of(topic)).allTopicNames(), "describe " + topic)
			.get(topic);
		Map<TopicPartition, OffsetSpec> request = description.partitions()
			.stream()
			.collect(Collectors.toMap((partition) -> new TopicPartition(topic, partition.partition()),
					(partition) -> OffsetSpec.latest()));
		Map<TopicPartition, ListOffsetsResultInfo> offsets = get(admin.listOffsets(request).all(),
				"list offsets of " + topic);
		Map<Integer, Long> result = new HashMap<>();
		offsets.forEach((partition, info) -> result.put(partition.partition(), info.offset()));
		return result;
	}

	/** Records written to a topic so far (the sum of its end offsets; tests never delete records). */
	public static long recordCount(String topic) {
		return endOffsets(topic).values().stream().mapToLong(Long::longValue).sum();
	}

	/**
	 * Reads exactly {@code count} records from the beginning of every partition of {@code topic}, then checks
	 * that no further record is there.
	 * @throws AssertionError if fewer arrive within {@code timeout}, or more are there
	 */
	public static List<ConsumerRecord<byte[], byte[]>> consume(String topic, int count, Duration timeout) {
		List<ConsumerRecord<byte[], byte[]>> records = consumeAtLeast(topic, count, timeout);
		if (records.size() != count) {
			throw new AssertionError("Expected " + count + " record(s) in topic " + topic + " but found "
					+ records.size());
		}
		return records;
	}

	/**
	 * Reads every record of {@code topic} from the beginning until at least {@code count} arrived and every
	 * partition is read up to its end offset.
	 * @throws AssertionError if fewer than {@code count} arrive within {@code timeout}
	 */
	public static List<ConsumerRecord<byte[], byte[]>> consumeAtLeast(String topic, int count, Duration timeout) {
		Map<String, Object> properties = clientProperties();
		properties.put(ConsumerConfig.GROUP_ID_CONFIG, "waterdrop-test-" + UUID.randomUUID());
		properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
		properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
		properties.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5_000);
		long deadline = System.nanoTime() + timeout.toNanos();
		List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
		try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(properties, new ByteArrayDeserializer(),
				new ByteArrayDeserializer())) {
			// Assigned, not subscribed: no group rebalance to wait for.
			List<TopicPartition> partitions = consumer.partitionsFor(topic, timeout)
				.stream()
				.map((info) -> new TopicPartition(topic, info.partition()))
				.toList();
			consumer.assign(partitions);
			consumer.seekToBeginning(partitions);
			while (true) {
				consumer.poll(Duration.ofMillis(100)).forEach(records::add);
				if (records.size() >= count && caughtUp(consumer, partitions)) {
					return records;
				}
				if (System.nanoTime() > deadline) {
					throw new AssertionError("Expected " + count + " record(s) in topic " + topic + " but only "
							+ records.size() + " arrived within " + timeout);
				}
			}
		}
	}

	private static boolean caughtUp(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions) {
		Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
		Set<TopicPartition> assigned = consumer.assignment();
		return assigned.stream().allMatch((partition) -> consumer.position(partition) >= ends.get(partition));
	}

	private static Running broker() {
		synchronized (lock) {
			if (running == null) {
				Running started = start();
				Runtime.getRuntime().addShutdownHook(new Thread(started::stop, "kafka-test-broker-shutdown"));
				logger.info("Kafka test broker ({}) at {}", started.kind, started.bootstrapServers);
				running = started;
			}
			return running;
		}
	}

	private static Running start() {
		String external = System.getProperty(BOOTSTRAP_SERVERS_PROPERTY,
				System.getenv("WATERDROP_TEST_BOOTSTRAP_SERVERS"));
		if (external != null && !external.isBlank()) {
			return new Running("external", external, () -> {
			});
		}
		if (isDockerAvailable()) {
			KafkaContainer container = new KafkaContainer(KAFKA_IMAGE);
			container.start();
			return new Running("testcontainers", container.getBootstrapServers(), container::stop);
		}
		EmbeddedKafkaKraftBroker embedded = new EmbeddedKafkaKraftBroker(1, 1);
		// One broker: the transaction state log (default replication 3, min ISR 2) must fit on it.
		embedded.brokerProperty("transaction.state.log.replication.factor", "1");
		embedded.brokerProperty("transaction.state.log.min.isr", "1");
		// Internal topics are created on first use; 4 partitions instead of 50 saves seconds there.
		embedded.brokerProperty("transaction.state.log.num.partitions", "4");
		embedded.brokerProperty("offsets.topic.num.partitions", "4");
		embedded.afterPropertiesSet();
		return new Running("embedded", embedded.getBrokersAsString(), embedded::destroy);
	}

	/** Whether Testcontainers finds a Docker engine; never throws. */
	public static boolean isDockerAvailable() {
		try {
			return DockerClientFactory.instance().isDockerAvailable();
		}
		catch (Throwable ex) {
			return false;
		}
	}

	private static <T> T get(org.apache.kafka.common.KafkaFuture<T> future, String action) {
		try {
			return future.get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted: " + action, ex);
		}
		catch (ExecutionException | TimeoutException ex) {
			throw new IllegalStateException("Could not " + action, ex);
		}
	}

	private static void sleep(long millis) {
		try {
			Thread.sleep(millis);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

	private static final class Running {

		final String kind;

		final String bootstrapServers;

		final Admin admin;

		private final Runnable stopBroker;

		Running(String kind, String bootstrapServers, Runnable stopBroker) {
			this.kind = kind;
			this.bootstrapServers = bootstrapServers;
			this.stopBroker = stopBroker;
			this.admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers));
		}

		void stop() {
			try {
				this.admin.close(Duration.ofSeconds(5));
			}
			finally {
				this.stopBroker.run();
			}
		}

	}

}
