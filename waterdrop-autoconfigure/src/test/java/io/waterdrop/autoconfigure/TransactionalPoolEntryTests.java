package io.waterdrop.autoconfigure;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.CompositeHealthContributor;
import org.springframework.boot.health.contributor.HealthContributors;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.core.NestedExceptionUtils;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import io.waterdrop.DeliveryReport;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerStatus;
import io.waterdrop.TransactionalPool;
import io.waterdrop.autoconfigure.health.WaterDropHealthContributorAutoConfiguration;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;
import io.waterdrop.autoconfigure.metrics.WaterDropMetricsAutoConfiguration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A producer entry with {@code pool-size}: a {@link TransactionalPool} bean over member producer beans with
 * their own {@code transactional.id}s, connected, metered and health-checked like any producer, and N
 * transactions open at once against the real broker.
 */
@Timeout(120)
class TransactionalPoolEntryTests {

	private static final Duration GUARD = Duration.ofSeconds(30);

	private final String transactionalId = "payments-" + UUID.randomUUID().toString().substring(0, 8);

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class,
				WaterDropLifecycleAutoConfiguration.class, WaterDropMetricsAutoConfiguration.class,
				WaterDropHealthContributorAutoConfiguration.class, MetricsAutoConfiguration.class,
				CompositeMeterRegistryAutoConfiguration.class, SimpleMetricsExportAutoConfiguration.class))
		.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers(),
				"waterdrop.producers.orders.kafka.acks=all",
				"waterdrop.producers.payments.kafka.transactional.id=" + this.transactionalId,
				"waterdrop.producers.payments.pool-size=3", "waterdrop.producers.payments.pool-wait-timeout=20s");

	@Test
	void aPoolEntryIsAPoolBeanOverConnectedMemberBeansWithDistinctTransactionalIds() {
		List<String> memberEvents = new CopyOnWriteArrayList<>();
		this.runner.withBean("paymentsListener", WaterDropEventListener.class, () -> new WaterDropEventListener() {

			@Override
			public void onEvent(io.waterdrop.instrumentation.Event event) {
				if (event.name().equals("producer.connected")) {
					memberEvents.add(event.name());
				}
			}

			@Override
			public boolean appliesTo(String producerName) {
				return producerName.equals("payments");
			}

		}).run((context) -> {
			assertThat(context).hasNotFailed();
			TransactionalPool pool = context.getBean("payments", TransactionalPool.class);
			assertThat(pool.size()).isEqualTo(3);
			assertThat(pool.waitTimeout()).isEqualTo(Duration.ofSeconds(20));
			for (int index = 0; index < 3; index++) {
				Producer member = context.getBean("payments-" + index, Producer.class);
				assertThat(pool.members().get(index)).isSameAs(member);
				assertThat(member.status()).isEqualTo(ProducerStatus.CONNECTED);
				assertThat(member.config().kafka()).containsEntry("transactional.id", this.transactionalId + "-" + index);
				assertThat(Threads.kafkaNetworkThread("payments-" + index)).isTrue();
			}
			// Listeners that apply to the pool's name are subscribed to its members.
			assertThat(memberEvents).containsExactly("producer.connected", "producer.connected", "producer.connected");
			assertThat(context.getBean(WaterDropProducers.class).asMap()).containsOnlyKeys("orders", "payments-0",
					"payments-1", "payments-2");
			CompositeHealthContributor health = context.getBean("waterdropHealthContributor",
					CompositeHealthContributor.class);
			assertThat(health.stream().map(HealthContributors.Entry::name)).containsExactly("orders", "payments-0",
					"payments-1", "payments-2");

			pool.produceSync(Message.of("orders", "paid"));
			MeterRegistry registry = context.getBean(MeterRegistry.class);
			assertThat(registry.get("waterdrop.transactions.pool.wait").tag("pool", "payments").functionTimer().count())
				.isEqualTo(1);
			assertThat(registry.get("waterdrop.transactions.pool.size").tag("pool", "payments").gauge().value())
				.isEqualTo(3);
			assertThat(registry.find("waterdrop.messages.produced").tag("producer", "payments-0").meters()).isNotEmpty();
		});
	}

	@Test
	void listenersOfThePoolNameSeeItsMembersEvents() {
		List<String> transactions = new CopyOnWriteArrayList<>();
		this.runner.withBean("paymentsListener", WaterDropEventListener.class, () -> new WaterDropEventListener() {

			@Override
			public void onEvent(io.waterdrop.instrumentation.Event event) {
				if (event.name().equals("transaction.committed")) {
					transactions.add(event.name());
				}
			}

			@Override
			public boolean appliesTo(String producerName) {
				return producerName.equals("payments");
			}

		}).run((context) -> {
			context.getBean("payments", TransactionalPool.class).produceSync(Message.of("orders", "paid"));
			assertThat(transactions).containsExactly("transaction.committed");
		});
	}

	@Test
	void poolSizeTransactionsOverlapAndReadCommittedSeesThemOnlyAfterTheirCommits() throws Exception {
		String topic = "pool-entry-" + UUID.randomUUID();
		try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, TestBroker.bootstrapServers()))) {
			admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(GUARD.toSeconds(), TimeUnit.SECONDS);
			TopicPartition partition = new TopicPartition(topic, 0);
			this.runner.run((context) -> {
				TransactionalPool pool = context.getBean("payments", TransactionalPool.class);
				ExecutorService executor = Executors.newFixedThreadPool(3);
				try {
					CountDownLatch allInside = new CountDownLatch(3);
					CountDownLatch release = new CountDownLatch(1);
					List<Future<DeliveryReport>> blocks = new ArrayList<>();
					for (int i = 0; i < 3; i++) {
						String payload = "payment-" + i;
						blocks.add(executor.submit(() -> pool.transaction((transaction) -> {
							DeliveryReport report = transaction.produceSync(Message.of(topic, payload));
							allInside.countDown();
							await(release);
							return report;
						})));
					}
					// Three transactions open at the same time, one per member: written, none committed.
					await(allInside);
					assertThat(pool.available()).isZero();
					assertThat(endOffset(admin, partition, IsolationLevel.READ_UNCOMMITTED)).isEqualTo(3);
					assertThat(endOffset(admin, partition, IsolationLevel.READ_COMMITTED)).isZero();
					release.countDown();
					for (Future<DeliveryReport> block : blocks) {
						block.get(GUARD.toSeconds(), TimeUnit.SECONDS);
					}
					assertThat(readCommitted(topic, 3)).containsExactlyInAnyOrder("payment-0", "payment-1", "payment-2");
				}
				finally {
					executor.shutdownNow();
				}
			});
		}
	}

	@Test
	void aPoolNeedsATransactionalIdAndAPositiveSize() {
		this.runner.withPropertyValues("waterdrop.producers.plain.pool-size=2")
			.run((context) -> assertThat(NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure()))
				.hasMessageContaining("waterdrop.producers.plain.pool-size: is set, but the producer is not "
						+ "transactional"));
		this.runner.withPropertyValues("waterdrop.producers.payments.pool-size=0")
			.run((context) -> assertThat(NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure()))
				.hasMessageContaining("waterdrop.producers.payments.pool-size: must be at least 1 but was 0"));
		this.runner.withPropertyValues("waterdrop.producers.payments-1.kafka.acks=1")
			.run((context) -> assertThat(NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure()))
				.hasMessageContaining("its bean name 'payments-1' is already taken"));
	}

	private static long endOffset(Admin admin, TopicPartition partition, IsolationLevel isolation) throws Exception {
		return admin.listOffsets(Map.of(partition, OffsetSpec.latest()), new ListOffsetsOptions(isolation))
			.partitionResult(partition)
			.get(GUARD.toSeconds(), TimeUnit.SECONDS)
			.offset();
	}

	private static List<String> readCommitted(String topic, int count) {
		Map<String, Object> properties = new HashMap<>();
		properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, TestBroker.bootstrapServers());
		properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
		try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(properties, new ByteArrayDeserializer(),
				new ByteArrayDeserializer())) {
			TopicPartition partition = new TopicPartition(topic, 0);
			consumer.assign(List.of(partition));
			consumer.seekToBeginning(List.of(partition));
			List<String> payloads = new ArrayList<>();
			long deadline = System.nanoTime() + GUARD.toNanos();
			long end = consumer.endOffsets(List.of(partition)).get(partition);
			while (payloads.size() < count || consumer.position(partition) < end) {
				if (System.nanoTime() > deadline) {
					throw new AssertionError("read " + payloads + " of " + count);
				}
				for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
					payloads.add(new String(record.value(), StandardCharsets.UTF_8));
				}
			}
			return payloads;
		}
	}

	private static void await(CountDownLatch latch) {
		try {
			if (!latch.await(GUARD.toSeconds(), TimeUnit.SECONDS)) {
				throw new AssertionError("latch not released within " + GUARD);
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new AssertionError(ex);
		}
	}

}
