package io.waterdrop.autoconfigure;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.CompositeHealthContributor;
import org.springframework.boot.health.contributor.HealthContributors;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.kafka.autoconfigure.metrics.KafkaMetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.micrometer.observation.autoconfigure.ObservationAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import io.waterdrop.DeliveryReport;
import io.waterdrop.InvalidConfigurationException;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerNameInUseException;
import io.waterdrop.ProducerStatus;
import io.waterdrop.WaterDropException;
import io.waterdrop.autoconfigure.endpoint.WaterDropEndpoint;
import io.waterdrop.autoconfigure.endpoint.WaterDropEndpointAutoConfiguration;
import io.waterdrop.autoconfigure.health.WaterDropHealthContributorAutoConfiguration;
import io.waterdrop.autoconfigure.inmemory.WaterDropInMemoryAutoConfiguration;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;
import io.waterdrop.autoconfigure.metrics.WaterDropMetricsAutoConfiguration;
import io.waterdrop.instrumentation.Event;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollingMode;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.awaitility.Awaitility.await;

/**
 * {@link WaterDropRuntimeProducers}: producers created at run time from {@code waterdrop.templates} plus
 * overrides, layered like producer entries, with customizers, listeners, meters, health and endpoint
 * entries, and nothing left of them once removed. Against the real broker, plus 1,000 create/remove cycles
 * in memory.
 */
@Timeout(180)
class RuntimeProducersTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, KafkaMetricsAutoConfiguration.class,
				MetricsAutoConfiguration.class, CompositeMeterRegistryAutoConfiguration.class,
				SimpleMetricsExportAutoConfiguration.class, WaterDropAutoConfiguration.class,
				WaterDropLifecycleAutoConfiguration.class, WaterDropMetricsAutoConfiguration.class,
				WaterDropHealthContributorAutoConfiguration.class, WaterDropEndpointAutoConfiguration.class))
		.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers(),
				"spring.kafka.producer.acks=1", "management.endpoints.web.exposure.include=waterdrop",
				"management.endpoint.waterdrop.show-values=always", "waterdrop.producers.orders.kafka.acks=all",
				"waterdrop.kafka.linger.ms=7", "waterdrop.kafka.compression.type=gzip",
				"waterdrop.pollers.tenants.poll-timeout=1s",
				"waterdrop.templates.tenant.kafka.compression.type=lz4", "waterdrop.templates.tenant.kafka.linger.ms=3",
				"waterdrop.templates.tenant.max-wait-timeout=30s", "waterdrop.templates.tenant.polling.poller=tenants",
				"waterdrop.templates.tenant.polling.fd.max-time=20ms", "waterdrop.templates.tenant.close-timeout=5s",
				"waterdrop.templates.blank=");

	@Test
	void aRuntimeProducerIsLayeredLikeAnEntryAndHasMetersHealthAndEndpointUntilRemoved() {
		List<String> customized = new CopyOnWriteArrayList<>();
		List<String> events = new CopyOnWriteArrayList<>();
		this.runner.withBean("recordingCustomizer", WaterDropProducerCustomizer.class,
				() -> (name, builder) -> customized.add(name))
			.withBean("tenantListener", WaterDropEventListener.class, () -> new WaterDropEventListener() {

				@Override
				public void onEvent(Event event) {
					events.add(event.name());
				}

				@Override
				public boolean appliesTo(String producerName) {
					return producerName.equals("tenant"); // the template's name
				}

			})
			.run((context) -> {
				assertThat(context).hasNotFailed();
				WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
				MeterRegistry registry = context.getBean(MeterRegistry.class);
				assertThat(runtime.templateNames()).containsExactlyInAnyOrder("tenant", "blank");
				// Customizers are told of producers: the templates' check at start-up does not call them.
				assertThat(customized).containsExactly("orders");

				Producer tenant = runtime.create("tenant-42", "tenant",
						Map.of("kafka.linger.ms", 1, "max-in-flight", "500", "statistics-interval", Duration.ZERO));

				assertThat(tenant.status()).isEqualTo(ProducerStatus.CONFIGURED);
				assertThat(tenant.id()).isEqualTo("tenant-42");
				Map<String, Object> kafka = tenant.config().kafka();
				assertThat(kafka).containsEntry("acks", "1") // spring.kafka.producer
					.containsEntry("compression.type", "lz4") // template over waterdrop.kafka
					.containsEntry("linger.ms", "1") // override over template over waterdrop.kafka
					.containsKey("bootstrap.servers") // connection details
					.doesNotContainKey("client.id"); // the producer's name
				assertThat(tenant.config().maxInFlight()).isEqualTo(500);
				assertThat(tenant.config().statisticsInterval()).isZero();
				assertThat(tenant.config().maxWaitTimeout()).isEqualTo(Duration.ofSeconds(30));
				assertThat(tenant.config().maxTime()).isEqualTo(Duration.ofMillis(20));
				assertThat(tenant.config().pollingMode()).isEqualTo(PollingMode.FD);
				assertThat(tenant.config().poller()).isSameAs(context.getBean("tenantsPoller", Poller.class));
				assertThat(customized).containsExactly("orders", "tenant-42");
				assertThat(events).containsExactly("producer.created");
				assertThat(runtime.names()).containsExactly("tenant-42");
				assertThat(runtime.templateOf("tenant-42")).contains("tenant");
				assertThat(context.getBean(WaterDropProducers.class).asMap()).doesNotContainKey("tenant-42");

				DeliveryReport report = tenant.produceSync(Message.of("events", "hello"));
				assertThat(report.offset()).isNotNegative();
				assertThat(events).contains("producer.configured", "producer.connected");
				assertThat(Threads.kafkaNetworkThread("tenant-42")).isTrue();

				// The handle completes before the report's listeners run, and counters trail by a batch.
				await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
					assertThat(events).contains("message.acknowledged");
					assertThat(registry.get("waterdrop.messages.acknowledged").tag("producer", "tenant-42")
						.functionCounter().count()).isEqualTo(1);
					assertThat(registry.get("waterdrop.delivery.latency").tag("producer", "tenant-42").timer().count())
						.isEqualTo(1);
				});
				assertThat(registry.find("kafka.producer.record.send.total").tag("client.id", "tenant-42").meters())
					.isNotEmpty();
				CompositeHealthContributor health = context.getBean("waterdropHealthContributor",
						CompositeHealthContributor.class);
				assertThat(health.stream().map(HealthContributors.Entry::name)).containsExactly("orders", "tenant-42");
				assertThat(((HealthIndicator) health.getContributor("tenant-42")).health().getStatus())
					.isEqualTo(Status.UP);
				WaterDropEndpoint endpoint = context.getBean(WaterDropEndpoint.class);
				assertThat(endpoint.waterdrop().producers()).containsOnlyKeys("orders", "tenant-42");
				assertThat(endpoint.waterdrop().producers().get("tenant-42").kafka()).containsEntry("linger.ms", "1");

				assertThat(runtime.remove("tenant-42")).isTrue();
				assertThat(tenant.status()).isEqualTo(ProducerStatus.CLOSED);
				assertThat(runtime.remove("tenant-42")).isFalse();
				assertThat(runtime.names()).isEmpty();
				assertThat(metersOf(registry, "tenant-42")).isEmpty();
				assertThat(health.stream().map(HealthContributors.Entry::name)).containsExactly("orders");
				assertThat(health.getContributor("tenant-42")).isNull();
				assertThat(endpoint.waterdrop().producers()).containsOnlyKeys("orders");
				assertThat(Threads.kafkaNetworkThread("tenant-42")).isFalse();
				assertThatExceptionOfType(NoSuchElementException.class).isThrownBy(() -> runtime.get("tenant-42"));
			});
	}

	/** Kafka closes a client's serializers with it: a runtime producer's go when it is removed, not at shutdown. */
	@Test
	void aRemovedRuntimeProducersSerializersAreClosedAndSoAreThoseOfAFailedCreate() {
		ClosingCountSerializer.closed.set(0);
		this.runner
			.withPropertyValues("waterdrop.templates.tenant.kafka.value.serializer="
					+ ClosingCountSerializer.class.getName())
			.run((context) -> {
				WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
				int atStart = ClosingCountSerializer.closed.get(); // the template's check at start-up
				for (int i = 0; i < 20; i++) {
					runtime.create("t", "tenant");
					assertThat(runtime.remove("t")).isTrue();
				}
				assertThat(ClosingCountSerializer.closed.get() - atStart).isEqualTo(20);
				runtime.create("t", "tenant");
				assertThatExceptionOfType(ProducerNameInUseException.class)
					.isThrownBy(() -> runtime.create("t", "tenant"));
				assertThat(ClosingCountSerializer.closed.get() - atStart).isEqualTo(21);

				// Refused by the core's own checks, after the serializers were made: they go at once too.
				assertThatExceptionOfType(InvalidConfigurationException.class)
					.isThrownBy(() -> runtime.create("u", "tenant", Map.of("max-in-flight", 0)));
				assertThat(ClosingCountSerializer.closed.get() - atStart).isEqualTo(22);
				// Replaced by the create's customizer: the one made from the settings is no one's, and goes at once.
				Serializer<Object> given = (topic, data) -> new byte[0];
				Producer customized = runtime.create("v", "tenant", Map.of(),
						(builder) -> builder.payloadSerializer(given));
				assertThat(customized.config().payloadSerializer()).isSameAs(given);
				assertThat(ClosingCountSerializer.closed.get() - atStart).isEqualTo(23);
			});
	}

	/** Counts its closes, to tell when WaterDrop lets go of the serializers it made. */
	public static class ClosingCountSerializer implements Serializer<Object> {

		static final AtomicInteger closed = new AtomicInteger();

		@Override
		public byte[] serialize(String topic, Object data) {
			return String.valueOf(data).getBytes(StandardCharsets.UTF_8);
		}

		@Override
		public void close() {
			closed.incrementAndGet();
		}

	}

	/** Overrides come from callers (a tenant's request): a placeholder in one must not read the environment. */
	@Test
	void placeholdersInOverridesStayLiteralWhileTheTemplatesAreResolved() {
		this.runner
			.withPropertyValues("app.secret=hunter2", "app.linger=9",
					"waterdrop.templates.tenant.kafka.linger.ms=${app.linger}")
			.run((context) -> {
				WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
				Producer tenant = runtime.create("t1", "tenant", Map.of("kafka.client.id", "${app.secret}"));
				assertThat(tenant.config().kafka()).containsEntry("client.id", "${app.secret}")
					.containsEntry("linger.ms", "9");
				assertThatExceptionOfType(InvalidConfigurationException.class)
					.isThrownBy(() -> runtime.create("t2", "tenant", Map.of("max-in-flight", "${app.secret}")))
					.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.max-in-flight"))
					.withMessageNotContaining("hunter2");
			});
	}

	/** Named at the template the runtime producer was made from: there is no waterdrop.producers entry. */
	@Test
	void anInvalidValueLeftByACustomizerIsNamedAtTheTemplate() {
		this.runner.withBean("zeroPayload", WaterDropProducerCustomizer.class,
				() -> (name, builder) -> builder.maxPayloadSize(name.startsWith("broken") ? 0 : 1_000))
			.run((context) -> assertThatExceptionOfType(InvalidConfigurationException.class)
				.isThrownBy(() -> context.getBean(WaterDropRuntimeProducers.class).create("broken-1", "tenant"))
				.satisfies((ex) -> assertThat(ex.property()).isEqualTo("waterdrop.templates.tenant.max-payload-size"))
				.withMessageContaining("(as left by the WaterDropProducerCustomizer beans)"));
		// Not the caller's override of the same key: the customizer decided.
		this.runner.withBean("zeroPayload", WaterDropProducerCustomizer.class,
				() -> (name, builder) -> builder.maxPayloadSize(name.startsWith("broken") ? 0 : 1_000))
			.run((context) -> assertThatExceptionOfType(InvalidConfigurationException.class)
				.isThrownBy(() -> context.getBean(WaterDropRuntimeProducers.class)
					.create("broken-2", "tenant", Map.of("max-payload-size", "2KB")))
				.satisfies((ex) -> assertThat(ex.property()).isEqualTo("waterdrop.templates.tenant.max-payload-size")));
	}

	@Test
	void badInputIsRefusedNamingTheSettingAndNothingIsCreated() {
		this.runner.withPropertyValues("waterdrop.templates.transactional.kafka.transactional.id=shared",
				"waterdrop.templates.transactional.kafka.acks=all") // spring.kafka's acks=1 would turn idempotence off
			.run((context) -> {
					WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
					assertThatExceptionOfType(NoSuchElementException.class)
						.isThrownBy(() -> runtime.create("t1", "nope"))
						.withMessageStartingWith("No template named 'nope' under waterdrop.templates (defined: ");
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t1", "tenant", Map.of("max-in-fligth", 5)))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.max-in-fligth"))
						.withMessageContaining("is not a setting of a producer");
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t1", "tenant", Map.of("max-in-flight", 0)))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.max-in-flight"))
						.withMessageContaining("must be at least 1 but was 0");
					// No value (a JSON null) is said so, not taken for an unknown key.
					Map<String, Object> noValue = new HashMap<>();
					noValue.put("max-in-flight", null);
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t1", "tenant", noValue))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.max-in-flight"))
						.withMessageContaining("has no value (runtime producer 't1')");
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t1", "tenant", Map.of("close-timeout", "")))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.close-timeout"))
						.withMessageContaining("has no value");
					// A key that is no setting is said so, whether its value is empty or missing.
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t1", "tenant", Map.of("max-in-fligth", "")))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.max-in-fligth"))
						.withMessageContaining("is not a setting of a producer");
					Map<String, Object> unknownNoValue = new HashMap<>();
					unknownNoValue.put("polling.mod", null);
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t1", "tenant", unknownNoValue))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.polling.mod"))
						.withMessageContaining("is not a setting of a producer");
					// An empty list is a value.
					assertThat(runtime.create("w0", "tenant", Map.of("non-reloadable-errors", "")).config()
						.nonReloadableErrors()).isEmpty();
					assertThat(runtime.remove("w0")).isTrue();
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t1", "tenant", Map.of("polling.mode", "select")))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.polling.mode"))
						.withMessageContaining("is not one of [thread, fd]");
					// A fraction is refused, not truncated (1.9 would become 1); a whole number in a double is taken.
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t1", "tenant", Map.of("max-in-flight", 1.9)))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.max-in-flight"));
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t1", "tenant", Map.of("close-timeout", 2.5)))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.close-timeout"));
					assertThat(runtime.create("w1", "tenant", Map.of("max-in-flight", 7.0)).config().maxInFlight())
						.isEqualTo(7);
					assertThat(runtime.remove("w1")).isTrue();
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t1", "tenant", Map.of("max-wait-timeout", "soon")))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.max-wait-timeout"));
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t1", "tenant", Map.of("kafka.acks", "maybe")))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.kafka.acks"))
						.withMessageContaining(
								"is not a value Kafka accepts: Invalid value maybe for configuration acks");
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t1", "tenant", Map.of("kafka.linger.ms", "soon")))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.kafka.linger.ms"));
					// Combinations Kafka refuses only when it builds the client, at the producer's first message.
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t1", "tenant",
								Map.of("kafka.enable.idempotence", "true", "kafka.acks", "1")))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.kafka.acks"))
						.withMessageContaining("is 1, which Kafka's idempotent producer cannot work with");
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t1", "tenant", Map.of("kafka.transactional.id", "t1-tx")))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.kafka.transactional.id"))
						.withMessageContaining(
								"needs idempotence, which acks=1 (spring.kafka (Kafka's acks)) turns off");
					assertThatExceptionOfType(InvalidConfigurationException.class) // refused even with acks=1
						.isThrownBy(() -> runtime.create("t1", "tenant",
								Map.of("kafka.max.in.flight.requests.per.connection", 6)))
						.satisfies((ex) -> assertThat(ex.property())
							.isEqualTo("overrides.kafka.max.in.flight.requests.per.connection"))
						.withMessageContaining("is 6, above the 5 requests per connection");
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t1", "tenant", Map.of("kafka.batch.size", 2_000_000,
								"kafka.buffer.memory", 1_000_000)))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.kafka.batch.size"))
						.withMessageContaining("Kafka could not allocate a batch and would refuse every message");
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t1", "transactional"))
						.satisfies((ex) -> assertThat(ex.property())
							.isEqualTo("waterdrop.templates.transactional.kafka.transactional.id"))
						.withMessageContaining("would be shared by every runtime producer made from template");
					assertThat(runtime.create("t1", "transactional", Map.of("kafka.transactional.id", "t1-tx"))
						.transactional()).isTrue();
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t2", "tenant", Map.of("pool-size", 2)))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("waterdrop.templates.tenant.pool-size"));
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t2", "tenant", Map.of("pool-wait-timeout", "5s")))
						.satisfies((ex) -> assertThat(ex.property())
							.isEqualTo("waterdrop.templates.tenant.pool-wait-timeout"));
					assertThatExceptionOfType(ProducerNameInUseException.class)
						.isThrownBy(() -> runtime.create("orders", "tenant"))
						.withMessage("Cannot create runtime producer 'orders': a bean of the application context has "
								+ "that name");
					assertThatExceptionOfType(ProducerNameInUseException.class)
						.isThrownBy(() -> runtime.create("t1", "tenant"))
						.withMessageContaining("A producer named 't1' exists already");
					assertThat(runtime.names()).containsExactly("t1");
					// An empty template ('blank:') is the top-level settings, overrides still apply.
					Producer blank = runtime.create("b1", "blank", Map.of("max-in-flight", 7));
					assertThat(blank.config().maxInFlight()).isEqualTo(7);
					assertThat(blank.config().kafka()).containsEntry("linger.ms", "7");
				});
	}

	/**
	 * A template name need not be one plain element of a property name: YAML keeps {@code perTenant}'s capitals,
	 * and a name with a dot is written in brackets ({@code "[tenant.eu]"}). Its settings apply, and are checked
	 * at start-up, as a plain name's are.
	 */
	@Test
	void aTemplateNamedWithCapitalsOrADotHasItsSettings() {
		this.runner.withPropertyValues("waterdrop.templates.perTenant.max-wait-timeout=7s",
				"waterdrop.templates.perTenant.kafka.linger.ms=11",
				"waterdrop.templates[tenant.eu].max-wait-timeout=8s",
				"waterdrop.templates[tenant.eu].kafka.linger.ms=12",
				"waterdrop.templates[Bracketed].max-wait-timeout=9s",
				"waterdrop.templates[tenant-eu].max-wait-timeout=10s",
				"waterdrop.templates.eu_tenant.max-wait-timeout=11s")
			.run((context) -> {
				WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
				Producer camel = runtime.create("c1", "perTenant");
				assertThat(camel.config().maxWaitTimeout()).isEqualTo(Duration.ofSeconds(7));
				assertThat(camel.config().kafka()).containsEntry("linger.ms", "11");
				Producer dotted = runtime.create("d1", "tenant.eu", Map.of("max-in-flight", 9));
				assertThat(dotted.config().maxWaitTimeout()).isEqualTo(Duration.ofSeconds(8));
				assertThat(dotted.config().kafka()).containsEntry("linger.ms", "12");
				assertThat(dotted.config().maxInFlight()).isEqualTo(9);
				Map<String, Integer> seconds = Map.of("Bracketed", 9, "tenant-eu", 10, "eu_tenant", 11);
				seconds.forEach((template, timeout) -> {
					Producer made = runtime.create("s-" + timeout, template, Map.of("max-in-flight", 3));
					assertThat(made.config().maxWaitTimeout()).as(template).isEqualTo(Duration.ofSeconds(timeout));
					assertThat(made.config().maxInFlight()).as(template).isEqualTo(3);
				});
				for (String template : List.of("perTenant", "tenant.eu", "Bracketed", "tenant-eu", "eu_tenant")) {
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("x", template, Map.of("max-in-flight", 0)))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.max-in-flight"));
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("x", template, Map.of("max-in-flight", "many")))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.max-in-flight"));
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("x", template, Map.of("max-in-fligth", 5)))
						.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.max-in-fligth"));
				}
			});
		this.runner.withPropertyValues("waterdrop.templates[tenant.eu].max-in-flight=0")
			.run((context) -> assertThat(context).getFailure()
				.rootCause()
				.isInstanceOf(InvalidConfigurationException.class)
				.hasMessageContaining("waterdrop.templates[tenant.eu].max-in-flight"));
	}

	/**
	 * With spring.main.lazy-initialization nothing asks for the bean that subscribes runtime producers' meters;
	 * it is created all the same, and a runtime producer is metered from its creation.
	 */
	@Test
	void withLazyInitializationARuntimeProducerIsMeteredToo() {
		this.runner
			.withInitializer((context) -> context
				.addBeanFactoryPostProcessor(new org.springframework.boot.LazyInitializationBeanFactoryPostProcessor()))
			.run((context) -> {
				WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
				Producer lazy = runtime.create("lazy-tenant", "tenant");
				lazy.produceSync(Message.of("orders", "metered"));
				MeterRegistry registry = context.getBean(MeterRegistry.class);
				// A produceSync returns with its outcome counted.
				assertThat(registry.find("waterdrop.messages.acknowledged")
					.tag("producer", "lazy-tenant")
					.functionCounter()).isNotNull()
					.satisfies((counter) -> assertThat(counter.count()).isEqualTo(1.0));
			});
	}

	@Test
	void aRuntimeProducerCannotTakeATransactionalIdInUse() {
		String payments = "payments-" + UUID.randomUUID();
		String tenant = "tenant-" + UUID.randomUUID();
		this.runner
			.withPropertyValues("waterdrop.producers.payments.kafka.transactional.id=" + payments,
					"waterdrop.producers.payments.kafka.acks=all", "waterdrop.templates.tenant.kafka.acks=all")
			.run((context) -> {
				WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
				runtime.create("t1", "tenant", Map.of("kafka.transactional.id", tenant));
				assertThatExceptionOfType(InvalidConfigurationException.class)
					.isThrownBy(() -> runtime.create("t2", "tenant", Map.of("kafka.transactional.id", tenant)))
					.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.kafka.transactional.id"))
					.withMessageContaining("which producer 't1' has too");
				assertThatExceptionOfType(InvalidConfigurationException.class)
					.isThrownBy(() -> runtime.create("t3", "tenant", Map.of("kafka.transactional.id", payments)))
					.withMessageContaining("which producer 'payments' has too");
				// A customizer that replaced the override's id is named, not the override.
				assertThatExceptionOfType(InvalidConfigurationException.class)
					.isThrownBy(() -> runtime.create("t4", "tenant", Map.of("kafka.transactional.id", "t4-tx"),
							(builder) -> builder.kafka("transactional.id", tenant)))
					.satisfies((ex) -> assertThat(ex.property())
						.isEqualTo("waterdrop.templates.tenant.kafka.transactional.id"))
					.withMessageContaining(
							"the transactional.id '" + tenant + "' (as left by a customizer), which producer 't1'");
				assertThat(runtime.names()).containsExactly("t1");
				runtime.remove("t1");
				assertThat(runtime.create("t2", "tenant", Map.of("kafka.transactional.id", tenant)).transactional())
					.isTrue();
			});
	}

	/** A template is checked when the context starts, not at the first create at run time. */
	@ParameterizedTest
	@CsvSource({ "waterdrop.templates.tenant.max-in-flight=0, waterdrop.templates.tenant.max-in-flight",
			"waterdrop.templates.tenant.polling.poller=nope, waterdrop.templates.tenant.polling.poller",
			"waterdrop.templates.pooled.pool-size=2, waterdrop.templates.pooled.pool-size",
			"waterdrop.templates.tenant.close-timeout=-1s, waterdrop.templates.tenant.close-timeout",
			"waterdrop.templates.tenant.kafka.compression.type=zip, waterdrop.templates.tenant.kafka.compression.type",
			"waterdrop.kafka.acks=maybe, waterdrop.kafka.acks" })
	void anInvalidTemplateFailsStartUp(String setting, String property) {
		this.runner.withPropertyValues(setting).run((context) -> {
			assertThat(context).hasFailed();
			assertThat(context.getStartupFailure()).rootCause()
				.isInstanceOfSatisfying(InvalidConfigurationException.class,
						(ex) -> assertThat(ex.property()).isEqualTo(property));
		});
	}

	@Test
	void runtimeProducersCloseWithTheContextBeforeThePollersAndNoMoreCanBeCreated() {
		List<Producer> created = new ArrayList<>();
		this.runner.run((context) -> {
			WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
			Poller tenants = context.getBean("tenantsPoller", Poller.class);
			for (int i = 0; i < 3; i++) {
				Producer producer = runtime.create("tenant-" + i, "tenant");
				producer.produceAsync(Message.of("events", "in flight at shutdown " + i));
				created.add(producer);
			}
			assertThat(tenants.isRunning()).isTrue();
			context.close();
			assertThat(created).extracting(Producer::status).containsOnly(ProducerStatus.CLOSED);
			// Delivered, not purged: closed gracefully in the producers' phase.
			assertThat(created).allSatisfy((producer) -> {
				assertThat(producer.stats().acknowledged()).isEqualTo(1);
				assertThat(producer.stats().purged()).isZero();
			});
			// The Pollers' phase came after: the Poller served no producer any more and its thread ended.
			assertThat(tenants.isRunning()).isFalse();
			assertThatIllegalStateException().isThrownBy(() -> runtime.create("late", "tenant"))
				.withMessage("Cannot create runtime producer 'late': the application context is closing");
		});
	}

	/** A name that could not be a client.id, a thread name part and a health path segment is refused. */
	@Test
	void aNameWithCharactersBeyondLettersDigitsDotsUnderscoresAndDashesIsRefused() {
		this.runner.run((context) -> {
			WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
			for (String name : List.of("a/b", "tenant acme", "tenant\nacme", "ténant", ".", "..")) {
				assertThatIllegalArgumentException().isThrownBy(() -> runtime.create(name, "tenant"))
					.withMessageContaining("'" + name + "'")
					.withMessageContaining("ASCII letters, digits");
			}
			assertThat(runtime.names()).isEmpty();
			assertThat(runtime.create("Tenant_1.eu-west", "tenant").id()).isEqualTo("Tenant_1.eu-west");
		});
	}

	/**
	 * A listener that fails on an addition does not fail the create (the producer exists by then) nor keep the
	 * listeners after it from hearing of the producer.
	 */
	@Test
	void aListenerFailingOnAnAdditionNeitherFailsTheCreateNorSilencesTheOthers() {
		this.runner.run((context) -> {
			WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
			List<String> heard = new CopyOnWriteArrayList<>();
			runtime.subscribe((name, producer) -> {
				throw new IllegalStateException("listener failed (simulated)");
			});
			runtime.subscribe((name, producer) -> heard.add(name));

			Producer created = runtime.create("acme", "tenant");

			assertThat(runtime.find("acme")).containsSame(created);
			assertThat(heard).containsExactly("acme");
		});
	}

	/** A create under way when the close begins is either closed with the others or refused: none is left open. */
	@Test
	void aCreateRacingTheCloseIsRefusedRatherThanLeftOpen() throws Exception {
		this.runner.run((context) -> {
			WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
			CountDownLatch building = new CountDownLatch(1);
			CountDownLatch closed = new CountDownLatch(1);
			CompletableFuture<Producer> create = CompletableFuture
				.supplyAsync(() -> runtime.create("racing", "tenant", Map.of(), (builder) -> {
					building.countDown(); // past the first look at the close, not registered yet
					try {
						closed.await();
					}
					catch (InterruptedException ex) {
						Thread.currentThread().interrupt();
					}
				}));
			assertThat(building.await(30, TimeUnit.SECONDS)).isTrue();

			runtime.closeAsync().get(30, TimeUnit.SECONDS);
			closed.countDown();

			assertThat(create).failsWithin(Duration.ofSeconds(30))
				.withThrowableOfType(ExecutionException.class)
				.withCauseInstanceOf(IllegalStateException.class)
				.withMessageContaining("the application context is closing");
			assertThat(runtime.names()).isEmpty();
		});
	}

	@Test
	void removedRuntimeProducersLeaveNoKafkaClientMetersBehind() {
		this.runner.run((context) -> {
			WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
			MeterRegistry registry = context.getBean(MeterRegistry.class);
			context.getBean("orders", Producer.class).produceSync(Message.of("events", "warm-up"));
			Set<Meter.Id> before = ids(registry);
			for (int i = 0; i < 20; i++) {
				Producer producer = runtime.create("cycle", "tenant");
				producer.produceSync(Message.of("events", "cycle " + i));
				assertThat(registry.find("kafka.producer.record.send.total").tag("client.id", "cycle").meters())
					.isNotEmpty();
				runtime.remove("cycle");
			}
			assertThat(ids(registry)).isEqualTo(before);
		});
	}

	@Test
	void aThousandCreateRemoveCyclesLeaveNoMeterHealthOrEndpointEntryBehind() {
		this.runner
			.withConfiguration(
					AutoConfigurations.of(WaterDropInMemoryAutoConfiguration.class, ObservationAutoConfiguration.class))
			.withPropertyValues("waterdrop.in-memory=true", "waterdrop.observation-enabled=true")
			.run((context) -> {
				WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
				MeterRegistry registry = context.getBean(MeterRegistry.class);
				CompositeHealthContributor health = context.getBean("waterdropHealthContributor",
						CompositeHealthContributor.class);
				WaterDropEndpoint endpoint = context.getBean(WaterDropEndpoint.class);
				context.getBean("orders", Producer.class).produceSync(Message.of("events", "warm-up"));
				// Its observation's timer is made as the observation stops, on the polling thread, after the
				// outcome produceSync returned with.
				await().atMost(Duration.ofSeconds(30))
					.until(() -> registry.find("waterdrop.send").tag("waterdrop.producer", "orders").meter() != null);
				Set<Meter.Id> before = ids(registry);
				for (int i = 0; i < 1000; i++) {
					String name = "tenant-" + (i % 10);
					Producer producer = runtime.create(name, "tenant");
					producer.produceSync(Message.of("events", "message " + i));
					// Its meters exist while it does (counters trail a completed report by a dispatch batch).
					assertThat(registry.find("waterdrop.messages.acknowledged").tag("producer", name).meter())
						.isNotNull();
					// and so do those its sends' observations made (this one from the start of the observation)
					assertThat(registry.find("waterdrop.send.active").tag("waterdrop.producer", name).meter())
						.isNotNull();
					assertThat(runtime.remove(name)).isTrue();
				}
				assertThat(context.getBean(InMemoryKafka.class).payloads("events")).hasSize(1001);
				assertThat(ids(registry)).isEqualTo(before);
				assertThat(health.stream().map(HealthContributors.Entry::name)).containsExactly("orders");
				assertThat(endpoint.waterdrop().producers()).containsOnlyKeys("orders");
				assertThat(runtime.names()).isEmpty();
				assertThat(context.getBean("tenantsPoller", Poller.class).registeredProducers()).isZero();
			});
	}

	/**
	 * Threads creating and removing the same name at once: each producer is told to the listeners as added
	 * once and removed once, in that order, and ends closed.
	 */
	@Test
	void concurrentCreatesAndRemovesOfOneNameTellTheListenersOnceEach() {
		inMemory()
			.run((context) -> {
				WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
				Map<Producer, List<String>> told = new ConcurrentHashMap<>();
				runtime.subscribe(recordingInto(told));
				List<Producer> created = new CopyOnWriteArrayList<>();
				List<Throwable> unexpected = new CopyOnWriteArrayList<>();
				List<Thread> threads = new ArrayList<>();
				for (int thread = 0; thread < 4; thread++) {
					int first = thread;
					threads.add(new Thread(() -> {
						for (int i = 0; i < 150; i++) {
							try {
								if ((i + first) % 2 == 0) {
									created.add(runtime.create("x", "tenant"));
								}
								else {
									runtime.remove("x");
								}
							}
							catch (ProducerNameInUseException ex) {
								// another thread's producer has the name
							}
							catch (RuntimeException ex) {
								unexpected.add(ex);
							}
						}
					}));
				}
				threads.forEach(Thread::start);
				for (Thread thread : threads) {
					thread.join(TimeUnit.MINUTES.toMillis(2));
				}
				runtime.remove("x");

				assertThat(unexpected).isEmpty();
				assertThat(created).isNotEmpty()
					.allSatisfy((producer) -> assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED));
				assertThat(told).hasSameSizeAs(created)
					.allSatisfy((producer, events) -> assertThat(events).containsExactly("added", "removed"));
			});
	}

	/**
	 * A producer removed but still closing holds its transactional.id until its Kafka client is closed: a new
	 * runtime producer with that id would fence it (or be fenced by its abort).
	 */
	@Test
	void aTransactionalIdOfAProducerStillClosingIsRefused() throws Exception {
		inMemory().withPropertyValues("waterdrop.templates.tenant.kafka.acks=all")
			.run((context) -> {
				WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
				Producer first = runtime.create("t1", "tenant", Map.of("kafka.transactional.id", "tx-shared"));
				CountDownLatch inCallback = new CountDownLatch(1);
				CountDownLatch release = new CountDownLatch(1);
				first.produceAsync(Message.of("events", "one"), (report, failure) -> {
					inCallback.countDown();
					awaitUninterruptibly(release);
				});
				assertThat(inCallback.await(30, TimeUnit.SECONDS)).isTrue();
				CompletableFuture<Boolean> removal = CompletableFuture.supplyAsync(() -> runtime.remove("t1"));
				try {
					await().atMost(Duration.ofSeconds(30)).until(() -> first.status() == ProducerStatus.CLOSING);
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t2", "tenant", Map.of("kafka.transactional.id", "tx-shared")))
						.withMessageContaining("which producer 't1', still closing, has too");
				}
				finally {
					release.countDown();
				}
				assertThat(removal.get(30, TimeUnit.SECONDS)).isTrue();
				Producer second = runtime.create("t2", "tenant", Map.of("kafka.transactional.id", "tx-shared"));
				assertThat(second.transactional()).isTrue();
			});
	}

	/** Overrides from a JSON object may nest: a nested map stands for dotted keys, a list for indexed ones. */
	@Test
	void nestedOverridesAreAppliedOrRefusedLikeDottedKeys() {
		inMemory()
			.run((context) -> {
				WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
				Producer nested = runtime.create("nested", "tenant",
						Map.of("polling", Map.of("fd", Map.of("max-time", "30ms")), "kafka",
								Map.of("linger.ms", 77, "bootstrap.servers", List.of("h1:9092", "h2:9092")),
								"non-reloadable-errors", List.of("java.io.IOException")));
				assertThat(nested.config().maxTime()).isEqualTo(Duration.ofMillis(30));
				assertThat(nested.config().kafka()).containsEntry("linger.ms", "77")
					.containsEntry("bootstrap.servers", "h1:9092,h2:9092")
					.doesNotContainKeys("bootstrap.servers.0", "bootstrap.servers[0]");
				assertThat(nested.config().nonReloadableErrors()).containsExactly(java.io.IOException.class);
				assertThat(runtime.create("cleared", "tenant", Map.of("non-reloadable-errors", List.of()))
					.config()
					.nonReloadableErrors()).isEmpty();
				assertThatExceptionOfType(InvalidConfigurationException.class)
					.isThrownBy(() -> runtime.create("bogus", "tenant", Map.of("polling", Map.of("mode", "bogus"))))
					.satisfies((ex) -> assertThat(ex.property()).isEqualTo("overrides.polling.mode"));
				assertThatExceptionOfType(InvalidConfigurationException.class)
					.isThrownBy(() -> runtime.create("listed", "tenant", Map.of("max-in-flight", List.of(1, 2))))
					.satisfies((ex) -> assertThat(ex.property()).startsWith("overrides.max-in-flight"));
				assertThat(runtime.names()).containsExactly("cleared", "nested");
			});
	}

	/** A Kafka setting's list written indexed in a template is one comma-separated value; an override replaces it. */
	@Test
	void aKafkaSettingsListWrittenIndexedIsOneValue() {
		inMemory()
			.withPropertyValues("waterdrop.templates.tenant.kafka.bootstrap.servers[0]=h1:9092",
					"waterdrop.templates.tenant.kafka.bootstrap.servers[1]=h2:9092")
			.run((context) -> {
				WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
				assertThat(runtime.create("listed", "tenant").config().kafka())
					.containsEntry("bootstrap.servers", "h1:9092,h2:9092");
				assertThat(runtime.create("overridden", "tenant", Map.of("kafka.bootstrap.servers", "h3:9092"))
					.config()
					.kafka()).containsEntry("bootstrap.servers", "h3:9092");
			});
	}

	/**
	 * A template's list written in a source of higher precedence replaces a lower one's as a whole, as Boot's lists
	 * do; an override's too, written indexed or as a list.
	 */
	@Test
	void aKafkaSettingsListOfAHigherSourceOrOfTheOverridesReplacesTheTemplatesAsAWhole() {
		inMemory().withInitializer((context) -> {
			ConfigFiles.add(context, "application-local.yml",
					Map.of("waterdrop.templates.perTenant.kafka.bootstrap.servers[0]", "localhost:9092"));
			ConfigFiles.add(context, "application.yml",
					Map.of("waterdrop.templates.perTenant.kafka.bootstrap.servers[0]", "prod-a:9092",
							"waterdrop.templates.perTenant.kafka.bootstrap.servers[1]", "prod-b:9092"));
		}).run((context) -> {
			WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
			assertThat(runtime.create("local", "perTenant").config().kafka())
				.containsEntry("bootstrap.servers", "localhost:9092");
			assertThat(runtime.create("indexed", "perTenant", Map.of("kafka.bootstrap.servers[0]", "h3:9092"))
				.config()
				.kafka()).containsEntry("bootstrap.servers", "h3:9092").doesNotContainKey("bootstrap.servers.0");
			assertThat(runtime.create("listed", "perTenant", Map.of("kafka.bootstrap.servers", List.of("h4:9092")))
				.config()
				.kafka()).containsEntry("bootstrap.servers", "h4:9092");
		});
	}

	/**
	 * A listener removing the producer it is told of (a quota check, say): every listener hears of its addition,
	 * then of its removal.
	 */
	@Test
	void aListenerRemovingTheProducerItIsToldOfLeavesTheOthersHearingItsAdditionFirst() {
		inMemory()
			.run((context) -> {
				WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
				runtime.subscribe(new WaterDropRuntimeProducers.Listener() {

					@Override
					public void added(String name, Producer producer) {
						runtime.remove(name);
					}

				});
				List<String> told = new CopyOnWriteArrayList<>();
				runtime.subscribe(new WaterDropRuntimeProducers.Listener() {

					@Override
					public void added(String name, Producer producer) {
						told.add("added " + name);
					}

					@Override
					public void removed(String name, Producer producer) {
						told.add("removed " + name);
					}

				});

				Producer rejected = runtime.create("rejected", "tenant");

				assertThat(told).containsExactly("added rejected", "removed rejected");
				assertThat(rejected.status()).isEqualTo(ProducerStatus.CLOSED);
				assertThat(runtime.names()).isEmpty();
			});
	}

	/**
	 * A callback removing a runtime producer (on its polling thread, where the close only begins) waits for no
	 * lock a creation holds: a creation's listener sending on that Poller meanwhile is served.
	 */
	@Test
	void aCallbackRemovingAProducerDoesNotWaitForACreationsListeners() {
		inMemory()
			.run((context) -> {
				WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
				Producer first = runtime.create("a", "tenant");
				runtime.create("b", "tenant");
				CountDownLatch creating = new CountDownLatch(1);
				List<Object> announced = new CopyOnWriteArrayList<>();
				runtime.subscribe(new WaterDropRuntimeProducers.Listener() {

					@Override
					public void added(String name, Producer producer) {
						if (name.equals("c")) {
							creating.countDown();
							try {
								announced.add(
										producer.produceSync(Message.of("events", "hello"), Duration.ofSeconds(30)));
							}
							catch (RuntimeException ex) {
								announced.add(ex);
							}
						}
					}

				});
				first.produceAsync(Message.of("events", "x"), (report, failure) -> {
					awaitUninterruptibly(creating);
					runtime.remove("b");
				});

				runtime.create("c", "tenant");

				assertThat(announced).singleElement().isInstanceOf(DeliveryReport.class);
				await().atMost(Duration.ofSeconds(30)).until(() -> runtime.names().equals(Set.of("a", "c")));
			});
	}

	/**
	 * Removed from its own callback (the close only begins there), a producer keeps its transactional.id until it
	 * is closed, and its listeners hear of its removal then.
	 */
	@Test
	void aProducerRemovedFromItsCallbackKeepsItsTransactionalIdUntilClosed() throws Exception {
		inMemory().withPropertyValues("waterdrop.templates.tenant.kafka.acks=all")
			.run((context) -> {
				WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
				List<String> removed = new CopyOnWriteArrayList<>();
				runtime.subscribe(new WaterDropRuntimeProducers.Listener() {

					@Override
					public void added(String name, Producer producer) {
					}

					@Override
					public void removed(String name, Producer producer) {
						removed.add(name + " " + producer.status());
					}

				});
				Producer first = runtime.create("t1", "tenant", Map.of("kafka.transactional.id", "tx-own"));
				CountDownLatch removing = new CountDownLatch(1);
				CountDownLatch release = new CountDownLatch(1);
				first.produceAsync(Message.of("events", "one"), (report, failure) -> {
					runtime.remove("t1");
					removing.countDown();
					awaitUninterruptibly(release);
				});
				assertThat(removing.await(30, TimeUnit.SECONDS)).isTrue();
				try {
					assertThat(first.status()).isEqualTo(ProducerStatus.CLOSING);
					assertThatExceptionOfType(InvalidConfigurationException.class)
						.isThrownBy(() -> runtime.create("t2", "tenant", Map.of("kafka.transactional.id", "tx-own")))
						.withMessageContaining("which producer 't1', still closing, has too");
					assertThat(removed).isEmpty();
				}
				finally {
					release.countDown();
				}
				await().atMost(Duration.ofSeconds(30)).until(() -> removed.equals(List.of("t1 CLOSED")));
				assertThat(runtime.create("t2", "tenant", Map.of("kafka.transactional.id", "tx-own")).transactional())
					.isTrue();
			});
	}

	/**
	 * A removal that stops waiting for the producer's close (its thread interrupted, a cancelled request's) has
	 * taken it out all the same: its listeners hear of its removal once it is closed.
	 */
	@Test
	void aRemovalInterruptedWhileTheProducerClosesStillTellsTheListenersWhenItIsClosed() throws Exception {
		inMemory().run((context) -> {
			WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
			List<String> removed = new CopyOnWriteArrayList<>();
			runtime.subscribe(new WaterDropRuntimeProducers.Listener() {

				@Override
				public void added(String name, Producer producer) {
				}

				@Override
				public void removed(String name, Producer producer) {
					removed.add(name);
				}

			});
			Producer producer = runtime.create("p", "tenant");
			CountDownLatch inCallback = new CountDownLatch(1);
			CountDownLatch release = new CountDownLatch(1);
			producer.produceAsync(Message.of("events", "held"), (report, failure) -> {
				inCallback.countDown();
				awaitUninterruptibly(release);
			});
			assertThat(inCallback.await(30, TimeUnit.SECONDS)).isTrue();
			CompletableFuture<Void> closing = producer.closeAsync(Duration.ofSeconds(30)); // another closer
			await().atMost(Duration.ofSeconds(30)).until(() -> producer.status() == ProducerStatus.CLOSING);
			List<Object> removal = new CopyOnWriteArrayList<>();
			Thread remover = new Thread(() -> {
				Thread.currentThread().interrupt();
				try {
					removal.add(runtime.remove("p"));
				}
				catch (RuntimeException ex) {
					removal.add(ex);
				}
			});
			remover.start();
			remover.join(30_000);
			release.countDown();
			closing.get(30, TimeUnit.SECONDS);

			assertThat(removal).singleElement().isInstanceOf(WaterDropException.class);
			await().atMost(Duration.ofSeconds(30)).until(() -> removed.equals(List.of("p")));
			assertThat(runtime.names()).isEmpty();
		});
	}

	/**
	 * A listener subscribing while producers are removed (its replay of the existing ones runs under the runtime
	 * producers' lock, removals without it) hears of a producer's removal after its addition, and nothing of one
	 * removed before the replay came to it.
	 */
	@Test
	void aListenerSubscribingWhileProducersAreRemovedHearsOfEachRemovalAfterItsAddition() throws Exception {
		inMemory().run((context) -> {
			WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
			runtime.create("a", "tenant");
			runtime.create("b", "tenant");
			CountDownLatch replaying = new CountDownLatch(1);
			CountDownLatch release = new CountDownLatch(1);
			List<String> told = new CopyOnWriteArrayList<>();
			Thread subscriber = new Thread(() -> runtime.subscribe(new WaterDropRuntimeProducers.Listener() {

				@Override
				public void added(String name, Producer producer) {
					if (name.equals("a")) {
						replaying.countDown();
						awaitUninterruptibly(release);
					}
					told.add("added " + name);
				}

				@Override
				public void removed(String name, Producer producer) {
					told.add("removed " + name);
				}

			}));
			subscriber.start();
			assertThat(replaying.await(30, TimeUnit.SECONDS)).isTrue();
			assertThat(runtime.remove("a")).isTrue();
			assertThat(runtime.remove("b")).isTrue();
			release.countDown();
			subscriber.join(30_000);

			assertThat(told).containsExactly("added a", "removed a");
		});
	}

	/**
	 * Subscriptions racing removals, many times: every listener ends knowing exactly the producers that exist,
	 * told of each removal once and after the addition.
	 */
	@Test
	void listenersSubscribingWhileProducersAreRemovedEndKnowingExactlyThoseThatExist() {
		inMemory().run((context) -> {
			WaterDropRuntimeProducers runtime = context.getBean(WaterDropRuntimeProducers.class);
			for (int round = 0; round < 100; round++) {
				for (int i = 0; i < 4; i++) {
					runtime.create("p" + i, "tenant");
				}
				Map<Producer, List<String>> told = new ConcurrentHashMap<>();
				Thread subscriber = new Thread(() -> runtime.subscribe(recordingInto(told)));
				Thread remover = new Thread(() -> {
					for (int i = 0; i < 4; i += 2) {
						runtime.remove("p" + i);
					}
				});
				subscriber.start();
				remover.start();
				subscriber.join(30_000);
				remover.join(30_000);

				Map<Producer, List<String>> snapshot = Map.copyOf(told);
				assertThat(snapshot).allSatisfy((producer, events) -> assertThat(events)
					.isIn(List.of("added"), List.of("added", "removed")));
				assertThat(snapshot.entrySet()
					.stream()
					.filter((entry) -> entry.getValue().equals(List.of("added")))
					.map(Map.Entry::getKey)
					.collect(Collectors.toSet())).isEqualTo(Set.copyOf(runtime.asMap().values()));
				runtime.names().forEach(runtime::remove);
			}
		});
	}

	/** A listener recording, per producer, what it is told: "added", "removed". */
	private static WaterDropRuntimeProducers.Listener recordingInto(Map<Producer, List<String>> told) {
		return new WaterDropRuntimeProducers.Listener() {

			@Override
			public void added(String name, Producer producer) {
				told.computeIfAbsent(producer, (key) -> new CopyOnWriteArrayList<>()).add("added");
			}

			@Override
			public void removed(String name, Producer producer) {
				told.computeIfAbsent(producer, (key) -> new CopyOnWriteArrayList<>()).add("removed");
			}

		};
	}

	/** The runner with WaterDrop's in-memory Kafka: no broker. */
	private ApplicationContextRunner inMemory() {
		return this.runner.withPropertyValues("waterdrop.in-memory=true")
			.withConfiguration(AutoConfigurations.of(WaterDropInMemoryAutoConfiguration.class));
	}

	private static void awaitUninterruptibly(CountDownLatch latch) {
		try {
			latch.await(30, TimeUnit.SECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

	@Test
	void aChildContextHasRuntimeProducersOfItsOwn() {
		this.runner.run((parent) -> this.runner.withParent(parent)
			.withPropertyValues("waterdrop.producers.child.max-in-flight=10")
			.run((child) -> {
				WaterDropRuntimeProducers own = child.getBean(WaterDropRuntimeProducers.class);
				assertThat(own).isNotSameAs(parent.getBean(WaterDropRuntimeProducers.class));
				Producer producer = own.create("child-tenant", "tenant");
				assertThat(parent.getBean(WaterDropRuntimeProducers.class).names()).isEmpty();
				child.close();
				assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
			}));
	}

	private static Set<Meter.Id> ids(MeterRegistry registry) {
		return registry.getMeters().stream().map(Meter::getId).collect(Collectors.toSet());
	}

	private static List<Meter.Id> metersOf(MeterRegistry registry, String producer) {
		return registry.getMeters()
			.stream()
			.map(Meter::getId)
			.filter((id) -> producer.equals(id.getTag("producer")) || producer.equals(id.getTag("client.id")))
			.toList();
	}

}
