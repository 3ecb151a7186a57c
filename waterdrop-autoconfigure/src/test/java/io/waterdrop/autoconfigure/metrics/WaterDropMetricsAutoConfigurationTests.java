package io.waterdrop.autoconfigure.metrics;

import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.kafka.autoconfigure.DefaultKafkaProducerFactoryCustomizer;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.kafka.autoconfigure.metrics.KafkaMetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.core.MicrometerProducerListener;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerConfig;
import io.waterdrop.autoconfigure.TestBroker;
import io.waterdrop.autoconfigure.Threads;
import io.waterdrop.autoconfigure.TopicReader;
import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropProducers;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;
import io.waterdrop.instrumentation.micrometer.WaterDropMetrics;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@link WaterDropMetricsAutoConfiguration}: its conditions, the WaterDrop meters Boot binds through it, and
 * Kafka's client meters of WaterDrop's clients on one shared rescan thread.
 */
@Timeout(120)
class WaterDropMetricsAutoConfigurationTests {

	private static final String MICROMETER_KAFKA_THREAD = "micrometer-kafka-metrics";

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class, WaterDropLifecycleAutoConfiguration.class,
				WaterDropMetricsAutoConfiguration.class))
		.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers(),
				"waterdrop.pollers.critical.poll-timeout=1s", "waterdrop.producers.orders.polling.poller=critical",
				"waterdrop.producers.audit.polling.fd.max-time=50ms",
				"waterdrop.producers.legacy.polling.mode=thread");

	private final ApplicationContextRunner withRegistry = this.runner.withConfiguration(AutoConfigurations
		.of(MetricsAutoConfiguration.class, CompositeMeterRegistryAutoConfiguration.class,
				SimpleMetricsExportAutoConfiguration.class));

	@Test
	void backsOffWithoutAMeterRegistry() {
		this.runner.run((context) -> {
			assertThat(context).hasNotFailed();
			assertThat(context).doesNotHaveBean(WaterDropMetrics.class);
			assertThat(context).doesNotHaveBean(SharedKafkaClientMetrics.class);
		});
	}

	@Test
	void anyMeterRegistryBeanWillDo() {
		this.runner.withBean(SimpleMeterRegistry.class).run((context) -> {
			assertThat(context).hasSingleBean(WaterDropMetrics.class);
			assertThat(context).hasSingleBean(SharedKafkaClientMetrics.class);
		});
	}

	@Test
	void backsOffWithoutMicrometer() {
		this.runner.withBean(SimpleMeterRegistry.class)
			.withClassLoader(new FilteredClassLoader(MeterRegistry.class))
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertThat(context).doesNotHaveBean(WaterDropMetrics.class);
				assertThat(context).hasSingleBean(WaterDropProducers.class);
			});
	}

	@Test
	void bindsTheMetersOfEveryProducerAndPoller() {
		this.withRegistry.run((context) -> {
			assertThat(context).hasSingleBean(WaterDropMetrics.class).hasBean("waterdropMetrics");
			MeterRegistry registry = context.getBean(MeterRegistry.class);
			for (String producer : List.of("orders", "audit", "legacy")) {
				assertThat(registry.find("waterdrop.messages.acknowledged").tag("producer", producer).meter())
					.as(producer)
					.isNotNull();
			}
			assertThat(registry.get("waterdrop.messages.acknowledged").tag("producer", "orders").meter().getId()
				.getTag("poller")).isEqualTo("critical");
			assertThat(registry.get("waterdrop.messages.acknowledged").tag("producer", "legacy").meter().getId()
				.getTag("poller")).isEqualTo("thread");
			assertThat(registry.get("waterdrop.poller.producers").tag("poller", "critical").gauge().value())
				.isEqualTo(1);
			assertThat(registry.find("waterdrop.poller.drains").tag("poller", "global").functionTimer()).isNotNull();

			Producer orders = context.getBean("orders", Producer.class);
			orders.produceSync(Message.of("orders", "one"));
			assertThat(registry.get("waterdrop.messages.produced").tags("producer", "orders", "mode", "sync")
				.functionCounter().count()).isEqualTo(1);
			// Counted before produceSync returns.
			assertThat(registry.get("waterdrop.messages.acknowledged").tag("producer", "orders").functionCounter()
				.count()).isEqualTo(1);
		});
	}

	/** Boot binds a MeterBinder bean only to the registries of its own context; a child uses its parent's. */
	@Test
	void aChildContextsProducersAndPollersAreBoundToItsParentsRegistry() {
		new ApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(MetricsAutoConfiguration.class,
					CompositeMeterRegistryAutoConfiguration.class, SimpleMetricsExportAutoConfiguration.class))
			.run((parent) -> this.withRegistry.withParent(parent).run((child) -> {
				assertThat(child).hasNotFailed();
				assertThat(child.getBeanFactory().getBeanNamesForType(MeterRegistry.class)).isEmpty();
				MeterRegistry registry = parent.getBean(MeterRegistry.class);
				for (String producer : List.of("orders", "audit", "legacy")) {
					assertThat(registry.find("waterdrop.messages.acknowledged").tag("producer", producer).meter())
						.as(producer)
						.isNotNull();
				}
				assertThat(registry.find("waterdrop.poller.producers").tag("poller", "critical").gauge()).isNotNull();
			}));
	}

	/**
	 * A child context's Poller meters leave its parent's registry when it closes; the next child's Poller of
	 * that name is read, not the closed one's.
	 */
	@Test
	void aClosedChildContextsPollerMetersLeaveItsParentsRegistry() {
		new ApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(MetricsAutoConfiguration.class,
					CompositeMeterRegistryAutoConfiguration.class, SimpleMetricsExportAutoConfiguration.class))
			.run((parent) -> {
				MeterRegistry registry = parent.getBean(MeterRegistry.class);
				this.withRegistry.withParent(parent)
					.run((child) -> assertThat(registry.find("waterdrop.poller.producers").tag("poller", "critical")
						.gauge()).isNotNull());
				assertThat(registry.find("waterdrop.poller.producers").gauges()).as("the child closed").isEmpty();
				this.withRegistry.withParent(parent).run((child) -> {
					Poller critical = child.getBean("criticalPoller", Poller.class);
					assertThat(critical.registeredProducers()).isOne();
					assertThat(registry.get("waterdrop.poller.producers").tag("poller", "critical").gauge().value())
						.as("the new child's Poller, not the closed one's")
						.isEqualTo(1);
				});
			});
	}

	@Test
	void theBinderWorksWithoutSpringToo() {
		InMemoryKafka kafka = new InMemoryKafka();
		Poller critical = new Poller(PollerConfig.named("critical"));
		Producer orders = new Producer(
				ProducerConfig.builder().id("orders").poller(critical).clientFactory(kafka).build());
		Producer audit = new Producer(ProducerConfig.builder().id("audit").clientFactory(kafka).build());
		MeterRegistry registry = new SimpleMeterRegistry();
		try (orders; audit) {
			// The plain-Java example of docs/metrics.md:
			new WaterDropMetrics(List.of(orders, audit), List.of(Poller.global(), critical)).bindTo(registry);
			orders.produceSync(Message.of("orders", "one"));
			assertThat(registry.get("waterdrop.messages.acknowledged").tags("producer", "orders", "poller", "critical")
				.functionCounter().count()).isEqualTo(1);
			assertThat(registry.find("waterdrop.poller.drains").functionTimers()).hasSize(2);
		}
		assertThat(registry.find("waterdrop.messages.acknowledged").meters()).isEmpty();
	}

	@Test
	void anApplicationsWaterDropMetricsWins() {
		this.withRegistry.withUserConfiguration(UserMetrics.class).run((context) -> {
			assertThat(context).hasSingleBean(WaterDropMetrics.class);
			assertThat(context.getBean(WaterDropMetrics.class)).isSameAs(context.getBean(UserMetrics.class).metrics);
			assertThat(context.getBean(MeterRegistry.class).find("waterdrop.messages.acknowledged").meters())
				.isEmpty();
		});
	}

	@Test
	void aClosedProducersMetersGoAway() {
		this.withRegistry.run((context) -> {
			MeterRegistry registry = context.getBean(MeterRegistry.class);
			context.getBean("audit", Producer.class).close();
			assertThat(registry.find("waterdrop.messages.acknowledged").tag("producer", "audit").meters()).isEmpty();
			assertThat(registry.find("waterdrop.delivery.latency").tag("producer", "audit").meters()).isEmpty();
			assertThat(registry.find("waterdrop.messages.acknowledged").tag("producer", "orders").meters())
				.isNotEmpty();
		});
	}

	@Test
	void kafkaClientMetersOfEveryProducerOnOneSharedThread() {
		long before = micrometerKafkaThreads();
		this.withRegistry.withConfiguration(AutoConfigurations.of(KafkaMetricsAutoConfiguration.class))
			.run((context) -> {
				assertThat(context).hasSingleBean(SharedKafkaClientMetrics.class);
				MeterRegistry registry = context.getBean(MeterRegistry.class);
				for (String producer : List.of("orders", "audit", "legacy")) {
					assertThat(registry.find("kafka.producer.record.send.total")
						.tags("spring.id", "waterdrop." + producer, "client.id", producer)
						.meters()).as(producer).hasSize(1);
				}
				assertThat(micrometerKafkaThreads()).isLessThanOrEqualTo(before);
				assertThat(Threads.named(SharedKafkaClientMetrics.THREAD_NAME)).isNotEmpty();
			});
	}

	/**
	 * purge() builds the new client before it closes the old one, and both have the same meter ids: once the
	 * old one is closed, the meters read the new one.
	 */
	@Test
	void kafkaClientMetersFollowTheClientThatReplacesAPurgedOne() {
		this.withRegistry.withConfiguration(AutoConfigurations.of(KafkaMetricsAutoConfiguration.class))
			.run((context) -> {
				MeterRegistry registry = context.getBean(MeterRegistry.class);
				Producer orders = context.getBean("orders", Producer.class);
				String topic = TopicReader.uniqueTopic("purged");
				orders.produceSync(Message.of(topic, "before"));
				orders.purge();
				assertThat(sendTotal(registry, "orders")).hasSize(1);
				orders.produceManySync(List.of(Message.of(topic, "after-1"), Message.of(topic, "after-2")));
				assertThat(registry.get("kafka.producer.record.send.total")
					.tags("spring.id", "waterdrop.orders", "client.id", "orders")
					.functionCounter()
					.count()).as("the new client's count").isEqualTo(2);
			});
	}

	@Test
	void anApplicationsMicrometerProducerListenerKeepsItsRegistryAndTagsAndUsesTheSharedThread() {
		SimpleMeterRegistry own = new SimpleMeterRegistry();
		long before = micrometerKafkaThreads();
		this.withRegistry.withConfiguration(AutoConfigurations.of(KafkaMetricsAutoConfiguration.class))
			.withBean("ownKafkaMetrics", DefaultKafkaProducerFactoryCustomizer.class,
					() -> (factory) -> addListener(factory, own))
			.run((context) -> {
				// Boot's listener: the context's registry, Boot's tags.
				assertThat(sendTotal(context.getBean(MeterRegistry.class), "orders")).hasSize(1);
				// The application's listener: its registry, its tag on top of Boot's.
				for (String producer : List.of("orders", "audit", "legacy")) {
					assertThat(own.find("kafka.producer.record.send.total")
						.tags("app", "shop", "spring.id", "waterdrop." + producer, "client.id", producer)
						.meters()).as(producer).hasSize(1);
				}
				assertThat(micrometerKafkaThreads()).isLessThanOrEqualTo(before);
				assertThat(Threads.named(SharedKafkaClientMetrics.THREAD_NAME)).isNotEmpty();
			});
	}

	private static <K, V> void addListener(DefaultKafkaProducerFactory<K, V> factory, MeterRegistry registry) {
		factory.addListener(new MicrometerProducerListener<>(registry, List.of(Tag.of("app", "shop"))));
	}

	@Test
	void withoutTheSharedThreadEveryClientWouldStartOne() {
		long before = micrometerKafkaThreads();
		new ApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class, WaterDropLifecycleAutoConfiguration.class,
					MetricsAutoConfiguration.class, CompositeMeterRegistryAutoConfiguration.class,
					SimpleMetricsExportAutoConfiguration.class, KafkaMetricsAutoConfiguration.class))
			.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers(),
					"waterdrop.producers.orders.polling.mode=fd", "waterdrop.producers.audit.polling.mode=fd")
			.run((context) -> assertThat(micrometerKafkaThreads()).isGreaterThanOrEqualTo(before + 2));
	}

	@Test
	@SuppressWarnings("unchecked")
	void kafkaClientMetersShareTheirTagKeysWithBootsKafkaTemplate() {
		this.withRegistry.withConfiguration(AutoConfigurations.of(KafkaMetricsAutoConfiguration.class))
			.run((context) -> {
				KafkaTemplate<Object, Object> template = context.getBean(KafkaTemplate.class);
				template.send("events", "from Boot's template").get();
				context.getBean("orders", Producer.class).produceSync(Message.of("orders", "from WaterDrop"));
				MeterRegistry registry = context.getBean(MeterRegistry.class);
				Map<String, Set<Set<String>>> tagKeysByName = registry.getMeters()
					.stream()
					.map(Meter::getId)
					.filter((id) -> id.getName().startsWith("kafka.producer."))
					.collect(Collectors.groupingBy(Meter.Id::getName,
							Collectors.mapping((id) -> tagKeys(id.getTags()), Collectors.toSet())));
				Set<String> springIds = registry.find("kafka.producer.record.send.total")
					.meters()
					.stream()
					.map((meter) -> meter.getId().getTag("spring.id"))
					.collect(Collectors.toSet());
				assertThat(springIds).contains("waterdrop.orders").anyMatch((id) -> !id.startsWith("waterdrop."));
				assertThat(tagKeysByName).isNotEmpty()
					.allSatisfy((name, keySets) -> assertThat(keySets).as(name).hasSize(1));
			});
	}

	@Test
	void aClosedClientsKafkaMetersDoNotComeBackWithTheNextRescan() {
		this.withRegistry.withConfiguration(AutoConfigurations.of(KafkaMetricsAutoConfiguration.class))
			.withUserConfiguration(FastRescans.class)
			.run((context) -> {
				MeterRegistry registry = context.getBean(MeterRegistry.class);
				assertThat(sendTotal(registry, "audit")).hasSize(1);
				context.getBean("audit", Producer.class).close();
				assertThat(sendTotal(registry, "audit")).isEmpty();
				Thread.sleep(500); // dozens of rescans
				assertThat(sendTotal(registry, "audit")).isEmpty();
				assertThat(sendTotal(registry, "orders")).hasSize(1);
			});
	}

	/** As spring-kafka's listener's thread ends with its client: a stopped or paused context keeps none. */
	@Test
	void theRescanThreadEndsWhenNoClientIsLeftAndStartsAgainWithTheNext() {
		Threads.Snapshot before = Threads.snapshot();
		this.withRegistry.withConfiguration(AutoConfigurations.of(KafkaMetricsAutoConfiguration.class))
			.withUserConfiguration(FastRescans.class)
			.run((context) -> {
				assertThat(before.newSince(SharedKafkaClientMetrics.THREAD_NAME)).isNotEmpty();

				context.stop(); // every producer is idle: each disconnects, its client closed

				await().atMost(Duration.ofSeconds(30))
					.until(() -> before.newSince(SharedKafkaClientMetrics.THREAD_NAME).isEmpty());
				context.start();
				assertThat(before.newSince(SharedKafkaClientMetrics.THREAD_NAME)).isNotEmpty();
				assertThat(sendTotal(context.getBean(MeterRegistry.class), "orders")).hasSize(1);
			});
	}

	private static Collection<Meter> sendTotal(MeterRegistry registry, String producer) {
		return registry.find("kafka.producer.record.send.total").tag("spring.id", "waterdrop." + producer).meters();
	}

	/** Threads KafkaClientMetrics starts with no scheduler given; they all have the same name. */
	private static long micrometerKafkaThreads() {
		return Thread.getAllStackTraces()
			.keySet()
			.stream()
			.filter((thread) -> thread.isAlive() && thread.getName().startsWith(MICROMETER_KAFKA_THREAD))
			.count();
	}

	private static Set<String> tagKeys(List<Tag> tags) {
		return tags.stream().map(Tag::getKey).collect(Collectors.toCollection(HashSet::new));
	}

	@Configuration(proxyBeanMethods = false)
	static class UserMetrics {

		final WaterDropMetrics metrics = new WaterDropMetrics(List.of(), List.of());

		@Bean
		WaterDropMetrics myMetrics() {
			return this.metrics;
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class FastRescans {

		@Bean
		SharedKafkaClientMetrics fastKafkaClientMetrics() {
			return new SharedKafkaClientMetrics(Duration.ofMillis(10));
		}

	}

}
