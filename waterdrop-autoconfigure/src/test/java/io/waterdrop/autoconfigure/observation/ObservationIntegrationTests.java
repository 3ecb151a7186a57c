package io.waterdrop.autoconfigure.observation;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import brave.handler.MutableSpan;
import brave.handler.SpanHandler;
import brave.propagation.TraceContext;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.tracing.Span;
import io.micrometer.tracing.Tracer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.micrometer.observation.autoconfigure.ObservationAutoConfiguration;
import org.springframework.boot.micrometer.tracing.autoconfigure.MicrometerTracingAutoConfiguration;
import org.springframework.boot.micrometer.tracing.brave.autoconfigure.BraveAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import io.waterdrop.DeliveryFailedException;
import io.waterdrop.DeliveryHandle;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.TestBroker;
import io.waterdrop.autoconfigure.TopicReader;
import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropProducerCustomizer;
import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;

import static io.micrometer.observation.tck.TestObservationRegistryAssert.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * Each produce is a {@code waterdrop.send} observation from the send to its dispatched report, with
 * spring-kafka's sender context, so that a tracer writes the W3C trace context into the record headers; and
 * nothing is set up while observation is off.
 */
@Timeout(120)
class ObservationIntegrationTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class,
				WaterDropLifecycleAutoConfiguration.class))
		.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers());

	@Test
	void eachSendIsAnObservationStoppedWhenItsReportIsDispatched() {
		String topic = TopicReader.uniqueTopic("observed");
		this.runner.withUserConfiguration(TestRegistry.class)
			.withPropertyValues("waterdrop.observation-enabled=true", "waterdrop.producers.orders.polling.poller=critical",
					"waterdrop.pollers.critical.poll-timeout=1s")
			.run((context) -> {
				TestObservationRegistry registry = context.getBean(TestObservationRegistry.class);
				context.getBean("orders", Producer.class).produceSync(Message.of(topic, "traced"));

				await().atMost(Duration.ofSeconds(30))
					.untilAsserted(() -> assertThat(registry).hasObservationWithNameEqualTo("waterdrop.send")
						.that()
						.hasBeenStarted()
						.hasBeenStopped()
						.hasContextualNameEqualTo(topic + " send")
						.doesNotHaveError()
						.hasLowCardinalityKeyValue("spring.kafka.template.name", "orders")
						.hasLowCardinalityKeyValue("messaging.system", "kafka")
						.hasLowCardinalityKeyValue("messaging.operation", "publish")
						.hasLowCardinalityKeyValue("messaging.destination.kind", "topic")
						.hasLowCardinalityKeyValue("messaging.destination.name", topic)
						.hasLowCardinalityKeyValue("waterdrop.producer", "orders")
						.hasLowCardinalityKeyValue("waterdrop.poller", "critical")
						.satisfies((observed) -> {
							WaterDropSenderContext sender = (WaterDropSenderContext) observed;
							assertThat(sender.getReport()).isNotNull();
							assertThat(sender.getReport().topic()).isEqualTo(topic);
							assertThat(sender.getMessage().payload()).isEqualTo("traced");
							assertThat(sender.getRemoteServiceName()).isEqualTo("Apache Kafka");
						}));
			});
	}

	@Test
	void aRuntimeProducersObservationsNameItsPoller() {
		MockProducer<byte[], byte[]> kafka = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		this.runner.withUserConfiguration(TestRegistry.class)
			.withBean(WaterDropProducerCustomizer.class,
					() -> (name, builder) -> builder.clientFactory((settings) -> kafka))
			.withPropertyValues("waterdrop.observation-enabled=true",
					"waterdrop.templates.tenant.polling.poller=tenants", "waterdrop.pollers.tenants.poll-timeout=1s")
			.run((context) -> {
				TestObservationRegistry registry = context.getBean(TestObservationRegistry.class);
				Producer producer = context.getBean(WaterDropRuntimeProducers.class).create("acme", "tenant");
				producer.produceSync(Message.of("events", "tenant's"));

				await().atMost(Duration.ofSeconds(30))
					.untilAsserted(() -> assertThat(registry).hasObservationWithNameEqualTo("waterdrop.send")
						.that()
						.hasBeenStopped()
						.hasLowCardinalityKeyValue("waterdrop.producer", "acme")
						.hasLowCardinalityKeyValue("waterdrop.poller", "tenants"));
			});
	}

	@Test
	void aFailedDeliveryStopsItsObservationWithTheError() {
		MockProducer<byte[], byte[]> kafka = new MockProducer<>(false, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		this.runner.withUserConfiguration(TestRegistry.class)
			.withBean(WaterDropProducerCustomizer.class, () -> (name, builder) -> builder.clientFactory((settings) -> kafka))
			.withPropertyValues("waterdrop.observation-enabled=true")
			.run((context) -> {
				TestObservationRegistry registry = context.getBean(TestObservationRegistry.class);
				DeliveryHandle handle = context.getBean(Producer.class).produceAsync(Message.of("events", "lost"));
				assertThat(registry).hasObservationWithNameEqualTo("waterdrop.send").that().isNotStopped();

				kafka.errorNext(new KafkaException("broker said no (simulated)"));

				assertThatExceptionOfType(DeliveryFailedException.class).isThrownBy(handle::await);
				await().atMost(Duration.ofSeconds(30))
					.untilAsserted(() -> assertThat(registry).hasObservationWithNameEqualTo("waterdrop.send")
						.that()
						.hasBeenStopped()
						.assertThatError()
						.isInstanceOf(DeliveryFailedException.class)
						.hasRootCauseMessage("broker said no (simulated)"));
			});
	}

	@Test
	void offByDefaultNoObserverIsSetAtAll() {
		this.runner.withUserConfiguration(TestRegistry.class)
			.withPropertyValues("waterdrop.producers.orders.kafka.linger.ms=0")
			.run((context) -> assertThat(context.getBean("orders", Producer.class).config().observer()).isNull());
	}

	@Test
	void followsBootsTemplateSettingUnlessSetAndMayBeSetPerProducer() {
		this.runner.withUserConfiguration(TestRegistry.class)
			.withPropertyValues("spring.kafka.template.observation-enabled=true",
					"waterdrop.producers.orders.kafka.linger.ms=0",
					"waterdrop.producers.audit.observation-enabled=false")
			.run((context) -> {
				assertThat(context.getBean("orders", Producer.class).config().observer()).isNotNull();
				assertThat(context.getBean("audit", Producer.class).config().observer()).isNull();
			});
		this.runner.withUserConfiguration(TestRegistry.class)
			.withPropertyValues("spring.kafka.template.observation-enabled=true", "waterdrop.observation-enabled=false",
					"waterdrop.producers.orders.observation-enabled=true", "waterdrop.producers.audit.kafka.linger.ms=0")
			.run((context) -> {
				assertThat(context.getBean("orders", Producer.class).config().observer()).isNotNull();
				assertThat(context.getBean("audit", Producer.class).config().observer()).isNull();
			});
	}

	@Test
	void withoutAnObservationRegistryNoObserverIsSet() {
		this.runner.withPropertyValues("waterdrop.observation-enabled=true")
			.run((context) -> assertThat(context.getBean(Producer.class).config().observer()).isNull());
	}

	@Test
	void aCustomConventionBeanIsUsed() {
		this.runner.withUserConfiguration(TestRegistry.class)
			.withBean(WaterDropObservationConvention.class, () -> new DefaultWaterDropObservationConvention() {

				@Override
				public String getName() {
					return "orders.published";
				}

			})
			.withPropertyValues("waterdrop.observation-enabled=true")
			.run((context) -> {
				context.getBean(Producer.class).produceSync(Message.of("events", "renamed"));
				await().atMost(Duration.ofSeconds(30))
					.untilAsserted(() -> assertThat(context.getBean(TestObservationRegistry.class))
						.hasObservationWithNameEqualTo("orders.published")
						.that()
						.hasBeenStopped());
			});
	}

	@Test
	void withBootsBraveTracingTheW3cTraceContextTravelsInTheRecordHeaders() {
		String topic = TopicReader.uniqueTopic("traced");
		List<MutableSpan> finished = new CopyOnWriteArrayList<>();
		this.runner
			.withConfiguration(AutoConfigurations.of(ObservationAutoConfiguration.class,
					MicrometerTracingAutoConfiguration.class, BraveAutoConfiguration.class))
			.withBean(SpanHandler.class, () -> new SpanHandler() {

				@Override
				public boolean end(TraceContext context, MutableSpan span, Cause cause) {
					finished.add(span);
					return true;
				}

			})
			.withPropertyValues("waterdrop.observation-enabled=true", "management.tracing.sampling.probability=1.0")
			.run((context) -> {
				ObservationRegistry registry = context.getBean(ObservationRegistry.class);
				Tracer tracer = context.getBean(Tracer.class);
				Producer producer = context.getBean(Producer.class);
				Observation request = Observation.start("http.server.requests", registry);
				Span parent;
				try (Observation.Scope scope = request.openScope()) {
					parent = tracer.currentSpan();
					producer.produceSync(Message.of(topic, "with a trace"));
				}
				finally {
					request.stop();
				}

				ConsumerRecord<byte[], byte[]> record = TopicReader.read(topic, 1).get(0);
				String traceparent = new String(record.headers().lastHeader("traceparent").value(),
						StandardCharsets.UTF_8);
				String[] parts = traceparent.split("-");
				assertThat(parts).hasSize(4);
				assertThat(parts[0]).isEqualTo("00");
				assertThat(parts[1]).isEqualTo(parent.context().traceId());
				assertThat(parts[2]).isNotEqualTo(parent.context().spanId());
				assertThat(parts[3]).isEqualTo("01");
				// The span in the header is WaterDrop's producer span, a child of the request's span.
				await().atMost(Duration.ofSeconds(30))
					.untilAsserted(() -> assertThat(finished)
						.anySatisfy((span) -> {
							assertThat(span.id()).isEqualTo(parts[2]);
							assertThat(span.parentId()).isEqualTo(parent.context().spanId());
							assertThat(span.name()).isEqualTo(topic + " send");
							assertThat(span.kind()).isEqualTo(brave.Span.Kind.PRODUCER);
							assertThat(span.remoteServiceName()).isEqualToIgnoringCase("Apache Kafka");
							assertThat(span.tag("waterdrop.producer")).isEqualTo("waterdropProducer");
						}));
			});
	}

	/**
	 * As in a KafkaTemplate's whenComplete, a delivery callback and a future's dependent (both run on the polling
	 * thread) see the message's send span as the current one, so that their log lines carry its trace.
	 */
	@Test
	void aDeliveryCallbackSeesTheSendSpanAsCurrent() {
		String topic = TopicReader.uniqueTopic("traced-callback");
		this.runner
			.withConfiguration(AutoConfigurations.of(ObservationAutoConfiguration.class,
					MicrometerTracingAutoConfiguration.class, BraveAutoConfiguration.class))
			.withPropertyValues("waterdrop.observation-enabled=true", "management.tracing.sampling.probability=1.0")
			.run((context) -> {
				ObservationRegistry registry = context.getBean(ObservationRegistry.class);
				Tracer tracer = context.getBean(Tracer.class);
				Producer producer = context.getBean(Producer.class);
				CompletableFuture<Span> inCallback = new CompletableFuture<>();
				CompletableFuture<Span> inDependent = new CompletableFuture<>();
				Observation request = Observation.start("http.server.requests", registry);
				Span parent;
				try (Observation.Scope scope = request.openScope()) {
					parent = tracer.currentSpan();
					producer.produceAsync(Message.of(topic, "callback"),
							(report, failure) -> inCallback.complete(tracer.currentSpan()))
						.await();
					producer.produceAsync(Message.of(topic, "dependent"))
						.toCompletableFuture()
						.whenComplete((report, failure) -> inDependent.complete(tracer.currentSpan()))
						.get(30, TimeUnit.SECONDS);
				}
				finally {
					request.stop();
				}
				for (Span seen : java.util.Arrays.asList(inCallback.get(30, TimeUnit.SECONDS),
						inDependent.get(30, TimeUnit.SECONDS))) {
					assertThat(seen).as("the current span in the callback").isNotNull();
					assertThat(seen.context().traceId()).isEqualTo(parent.context().traceId());
					assertThat(seen.context().spanId()).isNotEqualTo(parent.context().spanId()); // the send span
				}
			});
	}

	@Configuration(proxyBeanMethods = false)
	static class TestRegistry {

		@Bean
		TestObservationRegistry observationRegistry() {
			return TestObservationRegistry.create();
		}

	}

}
