package io.waterdrop.autoconfigure.lifecycle;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.producer.ProducerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.autoconfigure.context.LifecycleAutoConfiguration;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.mock.env.MockEnvironment;

import io.waterdrop.DeliveryHandle;
import io.waterdrop.DeliveryReport;
import io.waterdrop.Message;
import io.waterdrop.MessagePurgedException;
import io.waterdrop.Producer;
import io.waterdrop.ProducerStatus;
import io.waterdrop.TransactionalPool;
import io.waterdrop.autoconfigure.HoldingKafka;
import io.waterdrop.autoconfigure.TestBroker;
import io.waterdrop.autoconfigure.Threads;
import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropEventListener;
import io.waterdrop.autoconfigure.WaterDropKafkaClientFactoryCustomizer;
import io.waterdrop.autoconfigure.WaterDropProducerCustomizer;
import io.waterdrop.autoconfigure.WaterDropProducers;
import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;
import io.waterdrop.autoconfigure.inmemory.WaterDropInMemoryAutoConfiguration;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.Poller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * Start and shutdown of producers and Pollers: their order relative to the web server's phases, stops that
 * are not closes (context stop and restart, test-context pausing), the close timeout on every close path,
 * the shutdown budget warning, and event listeners subscribed when the lifecycle starts.
 */
@Timeout(60)
@ExtendWith(OutputCaptureExtension.class)
class LifecycleTests {

	/** Boot's web server start/stop phase (graceful shutdown is 1024 higher, so stops earlier). */
	private static final int WEB_SERVER_PHASE = SmartLifecycle.DEFAULT_PHASE - 2048;

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class,
				WaterDropLifecycleAutoConfiguration.class))
		.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers(),
				"waterdrop.pollers.critical.poll-timeout=1s", "waterdrop.producers.orders.polling.poller=critical",
				"waterdrop.producers.legacy.polling.mode=thread");

	/** Producers whose clients hold every message until released or closed; no broker involved. */
	private final ApplicationContextRunner holding = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class,
				WaterDropLifecycleAutoConfiguration.class))
		.withUserConfiguration(Holding.class)
		// A max-wait-timeout that no test outlives: a close that used it instead of close-timeout would hang.
		.withPropertyValues("spring.kafka.bootstrap-servers=127.0.0.1:1", "waterdrop.max-wait-timeout=10m",
				"waterdrop.close-timeout=0", "waterdrop.producers.orders.max-in-flight=10");

	@Test
	void theProducersPhaseIsAfterTheWebServers() {
		assertThat(ProducersLifecycle.PHASE).isLessThan(WEB_SERVER_PHASE)
			.as("after phase 0 (plain Lifecycle beans, a share consumer's listener containers), before spring-kafka's "
					+ "producer factories")
			.isLessThan(0)
			.isGreaterThan(Integer.MIN_VALUE);
		this.runner.run((context) -> assertThat(context.getBean(ProducersLifecycle.class).getPhase())
			.isEqualTo(ProducersLifecycle.PHASE));
	}

	@Test
	void producersAreConnectedWhileTheWebServerRunsDrainedAfterItAndClosedWhenDestroyedBeforeThePollersEnd() {
		Threads.Snapshot before = Threads.snapshot();
		// Without the drain's flush, the message would linger until the close at the producer's destruction.
		this.runner.withUserConfiguration(Probes.class)
			.withPropertyValues("waterdrop.producers.orders.kafka.linger.ms=600000")
			.run((context) -> {
				Probes probes = context.getBean(Probes.class);
				Poller critical = context.getBean("criticalPoller", Poller.class);
				Producer orders = context.getBean("orders", Producer.class);
				assertThat(probes.webServerStart).containsOnly(ProducerStatus.CONNECTED);
				assertThat(probes.listenerStart).containsOnly(ProducerStatus.CONNECTED);
				context.close();
				DeliveryHandle lingering = probes.watched; // produced as the phase-0 listener stopped
				assertThat(probes.webServerStop).containsOnly(ProducerStatus.CONNECTED);
				// Drained in their phase, and still open for the beans destroyed later.
				assertThat(probes.afterProducersPhase).containsOnly(ProducerStatus.CONNECTED);
				assertThat(probes.watchedAfterProducersPhase).singleElement()
					.satisfies((report) -> assertThat(report.offset()).isNotNegative());
				assertThat(errorOf(lingering)).isNull();
				assertThat(orders.status()).isEqualTo(ProducerStatus.CLOSED);
				assertThat(critical.isRunning()).isFalse();
				// Each thread has let go of everything it served; it may still be running its last instructions.
				await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
					assertThat(before.newWaterDropThreads()).doesNotContain(critical.threadName(),
							"waterdrop.dispatch-legacy");
					assertThat(before.newKafkaNetworkThread("orders")).isFalse();
					assertThat(before.newKafkaNetworkThread("legacy")).isFalse();
				});
			});
	}

	/**
	 * spring.main.lazy-initialization=true (Boot's LazyInitializationBeanFactoryPostProcessor): the producers
	 * still connect with the lifecycle, serve, and close with the context, their Pollers after them.
	 */
	@Test
	void withLazyInitializationTheProducersStillConnectServeAndClose() {
		this.runner
			.withInitializer((context) -> context
				.addBeanFactoryPostProcessor(new org.springframework.boot.LazyInitializationBeanFactoryPostProcessor()))
			.run((context) -> {
				Producer orders = context.getBean("orders", Producer.class);
				Producer legacy = context.getBean("legacy", Producer.class);
				Poller critical = context.getBean("criticalPoller", Poller.class);
				assertThat(orders.status()).isEqualTo(ProducerStatus.CONNECTED);
				assertThat(orders.produceSync(Message.of("orders", "lazy")).offset()).isNotNegative();
				assertThat(legacy.produceSync(Message.of("orders", "lazy")).offset()).isNotNegative();
				context.close();
				assertThat(orders.status()).isEqualTo(ProducerStatus.CLOSED);
				assertThat(legacy.status()).isEqualTo(ProducerStatus.CLOSED);
				assertThat(critical.isRunning()).isFalse();
			});
	}

	@Test
	void stoppingTheContextDisconnectsIdleProducersAndStartingConnectsThemAgain() {
		Threads.Snapshot before = Threads.snapshot();
		this.runner.run((context) -> {
			Producer orders = context.getBean("orders", Producer.class);
			context.stop();
			assertThat(orders.status()).isEqualTo(ProducerStatus.DISCONNECTED);
			assertThat(before.newKafkaNetworkThread("orders")).isFalse();
			context.start();
			assertThat(orders.status()).isEqualTo(ProducerStatus.CONNECTED);
			assertThat(orders.produceSync(Message.of("orders", "after restart")).offset()).isNotNegative();
			context.restart();
			assertThat(orders.produceSync(Message.of("orders", "after second restart")).offset()).isNotNegative();
			context.close();
			assertThat(orders.status()).isEqualTo(ProducerStatus.CLOSED);
			assertThat(before.newKafkaNetworkThread("orders")).isFalse();
		});
	}

	/**
	 * A start after a stop runs on a context that goes on: a producer that fails to connect then stays
	 * disconnected and connects on its next message, instead of every producer being closed for good.
	 */
	@Test
	void aProducerFailingToConnectOnARestartStaysDisconnectedAndTheOthersConnect() {
		AtomicBoolean refuseOrders = new AtomicBoolean();
		this.runner.withBean(WaterDropKafkaClientFactoryCustomizer.class, () -> (name, factory) -> {
			if (name.equals("orders") && refuseOrders.get()) {
				factory.updateConfigs(Map.of(ProducerConfig.INTERCEPTOR_CLASSES_CONFIG, "com.example.Missing"));
			}
		}).run((context) -> {
			Producer orders = context.getBean("orders", Producer.class);
			Producer legacy = context.getBean("legacy", Producer.class);
			context.stop();
			refuseOrders.set(true);

			context.start();

			assertThat(orders.status()).isEqualTo(ProducerStatus.DISCONNECTED);
			assertThat(legacy.status()).isEqualTo(ProducerStatus.CONNECTED);
			refuseOrders.set(false);
			assertThat(orders.produceSync(Message.of("orders", "after a failed restart")).offset()).isNotNegative();
		});
	}

	@Test
	void pausingTheContextDisconnectsIdleProducersAndRestartingConnectsThemAgain() {
		this.runner.run((context) -> {
			Producer legacy = context.getBean("legacy", Producer.class);
			context.pause();
			assertThat(legacy.status()).isEqualTo(ProducerStatus.DISCONNECTED);
			context.restart();
			assertThat(legacy.status()).isEqualTo(ProducerStatus.CONNECTED);
			assertThat(legacy.produceSync(Message.of("legacy", "after pause")).offset()).isNotNegative();
		});
	}

	/**
	 * Cached test contexts reading one configuration share a fixed transactional.id: each must let go of it
	 * when paused, or the next one's initTransactions fences it for good (fencing is not rebuilt by default).
	 */
	@Test
	void pausedContextsSharingATransactionalIdDoNotFenceEachOther() {
		ApplicationContextRunner transactional = this.runner.withPropertyValues(
				"waterdrop.producers.payments.kafka.transactional.id=payments-" + java.util.UUID.randomUUID());
		transactional.run((first) -> {
			Producer firstPayments = first.getBean("payments", Producer.class);
			firstPayments.transaction((transaction) -> transaction.produceSync(Message.of("payments", "first")));
			first.pause();
			transactional.run((second) -> second.getBean("payments", Producer.class)
				.transaction((transaction) -> transaction.produceSync(Message.of("payments", "second"))));
			first.restart();
			assertThat(firstPayments.transaction((transaction) -> transaction.produceSync(Message.of("payments",
					"first again"))).offset()).isNotNegative();
		});
	}

	/** As the producer beans: a runtime producer with a fixed transactional.id lets go of it when paused. */
	@Test
	void pausedContextsCreatingTheSameTransactionalRuntimeProducerDoNotFenceEachOther() {
		Map<String, String> transactionalId = Map.of("kafka.transactional.id", "acme-" + java.util.UUID.randomUUID());
		ApplicationContextRunner tenants = this.runner.withPropertyValues("waterdrop.templates.tenant.kafka.acks=all");
		tenants.run((first) -> {
			Producer firstAcme = first.getBean(WaterDropRuntimeProducers.class)
				.create("acme", "tenant", transactionalId);
			firstAcme.transaction((transaction) -> transaction.produceSync(Message.of("acme", "first")));
			first.pause();
			assertThat(firstAcme.status()).isEqualTo(ProducerStatus.DISCONNECTED);
			tenants.run((second) -> second.getBean(WaterDropRuntimeProducers.class)
				.create("acme", "tenant", transactionalId)
				.transaction((transaction) -> transaction.produceSync(Message.of("acme", "second"))));
			first.restart();
			assertThat(firstAcme.transaction((transaction) -> transaction.produceSync(Message.of("acme",
					"first again"))).offset()).isNotNegative();
		});
	}

	/** A producer that is not idle (here: a message buffered) stays connected through a stop. */
	@Test
	void aStopLeavesAProducerWithBufferedMessagesConnected() {
		this.runner.run((context) -> {
			Producer orders = context.getBean("orders", Producer.class);
			orders.buffer(Message.of("orders", "buffered"));
			context.stop();
			assertThat(orders.status()).isEqualTo(ProducerStatus.CONNECTED);
			context.start();
			assertThat(orders.flushSync()).hasSize(1);
		});
	}

	@Test
	void closingAfterAStopClosesWithTheCloseTimeout() {
		this.holding.run((context) -> {
			Producer orders = context.getBean("orders", Producer.class);
			DeliveryHandle held = orders.produceAsync(Message.of("orders", "held"));
			context.stop();
			assertThat(held.isDone()).isFalse();
			context.close(); // with max-wait-timeout (10m) instead of close-timeout (0) this would hang
			assertThat(orders.status()).isEqualTo(ProducerStatus.CLOSED);
			assertThat(held.isDone()).isTrue();
			assertThat(errorOf(held)).isInstanceOf(MessagePurgedException.class);
		});
	}

	/** No stop phase on this close: the producers drain all at once before the first is destroyed. */
	@Test
	void closingAfterAStopDrainsEveryProducerAtOnceBeforeTheFirstIsDestroyed() {
		List<String> closingThreads = new CopyOnWriteArrayList<>();
		this.holding.withPropertyValues("waterdrop.producers.audit.max-in-flight=10")
			.withBean(WaterDropEventListener.class, () -> (event) -> {
				if (event instanceof ProducerEvent.Closing closing) {
					closingThreads.add(closing.producerId() + "@" + Thread.currentThread().getName());
				}
			})
			.run((context) -> {
				DeliveryHandle heldByOrders = context.getBean("orders", Producer.class)
					.produceAsync(Message.of("orders", "held"));
				DeliveryHandle heldByAudit = context.getBean("audit", Producer.class)
					.produceAsync(Message.of("audit", "held"));
				context.stop();
				context.close();
				// Neither drained within its close-timeout (0): each drain closed its producer, on its own thread.
				assertThat(closingThreads).containsExactlyInAnyOrder("orders@waterdrop.drain-orders",
						"audit@waterdrop.drain-audit");
				assertThat(errorOf(heldByOrders)).isInstanceOf(MessagePurgedException.class);
				assertThat(errorOf(heldByAudit)).isInstanceOf(MessagePurgedException.class);
			});
	}

	/**
	 * The context does not close a transactional pool bean itself (which would close its members with their
	 * max-wait-timeout): each member closes as a producer bean, with its close-timeout, on the destroying thread.
	 */
	@Test
	void aPoolMemberClosesAsAProducerBeanNotThroughItsPool() {
		List<String> closingThreads = new CopyOnWriteArrayList<>();
		this.holding
			.withPropertyValues(
					"waterdrop.producers.ledger.kafka.transactional.id=ledger-" + java.util.UUID.randomUUID(),
					"waterdrop.producers.ledger.pool-size=1")
			.withBean(WaterDropEventListener.class, () -> (event) -> {
				if (event instanceof ProducerEvent.Closing closing) {
					closingThreads.add(closing.producerId() + "@" + Thread.currentThread().getName());
				}
			})
			.run((context) -> {
				Producer member = context.getBean("ledger-0", Producer.class);
				context.close();
				assertThat(member.status()).isEqualTo(ProducerStatus.CLOSED);
				assertThat(closingThreads).contains("ledger-0@" + Thread.currentThread().getName());
			});
	}

	/** Only a closing context drains: destroying one producer bean at run time leaves the others alone. */
	@Test
	void destroyingOneProducerBeanInARunningContextLeavesTheOthersAlone() {
		this.holding.withPropertyValues("waterdrop.producers.audit.max-in-flight=10").run((context) -> {
			Producer orders = context.getBean("orders", Producer.class);
			Producer audit = context.getBean("audit", Producer.class);
			DeliveryHandle held = orders.produceAsync(Message.of("orders", "held"));
			context.getBean(WaterDropProducers.class); // the beans that use it must not go with 'audit'

			((DefaultListableBeanFactory) context.getBeanFactory()).destroySingleton("audit");

			assertThat(context.getBeanFactory().containsSingleton(WaterDropAutoConfiguration.PRODUCERS_BEAN_NAME))
				.isTrue();

			assertThat(audit.status()).isEqualTo(ProducerStatus.CLOSED);
			assertThat(orders.status()).isEqualTo(ProducerStatus.CONNECTED);
			assertThat(held.isDone()).isFalse();
		});
	}

	@Test
	void aContextFailingBeforeItsLifecycleStartedClosesConnectedProducersWithTheCloseTimeout() {
		Handles handles = new Handles();
		this.holding.withBean(Handles.class, () -> handles)
			.withUserConfiguration(FailingEarly.class)
			.run((context) -> {
				assertThat(context).hasFailed();
				// 'orders' connected with its first message; destroying it closed it with close-timeout (0).
				assertThat(handles.list).singleElement().satisfies((held) -> {
					assertThat(held.isDone()).isTrue();
					assertThat(errorOf(held)).isInstanceOf(MessagePurgedException.class);
				});
			});
	}

	/**
	 * A setting Kafka checks only when it builds the client is a configuration error, not a broker one: the
	 * analysis says so and shows the cause Kafka wrapped.
	 */
	@Test
	void aProducerWhoseKafkaSettingsKafkaRefusesIsAnalysedAsAConfigurationError() {
		// A class that loads (the start-up check loads it) but is no interceptor, which only the client finds out.
		this.holding.withPropertyValues("waterdrop.producers.payments.kafka.interceptor.classes=java.lang.String")
			.run((context) -> {
				assertThat(context).hasFailed();
				FailureAnalysis analysis = new ProducerConnectFailureAnalyzer(new MockEnvironment())
					.analyze(context.getStartupFailure());
				assertThat(analysis.getDescription())
					.startsWith("WaterDrop producer 'payments' could not build its Kafka client: Kafka refused its "
							+ "settings.")
					.contains("Failed to construct kafka producer")
					.contains("Caused by: ")
					.contains("java.lang.String")
					.contains("The producers connected before it were closed again: orders.");
				assertThat(analysis.getAction()).contains("waterdrop.producers.payments.kafka.*")
					.doesNotContain("reachable");
			});
	}

	@Test
	void aProducerFailingToConnectClosesThoseConnectedBeforeAtOnceAndIsAnalysed() {
		Handles handles = new Handles();
		this.holding.withBean(Handles.class, () -> handles)
			.withUserConfiguration(ProducingOnConnect.class)
			.withPropertyValues("waterdrop.producers.payments.kafka.transactional.id=payments-1",
					"waterdrop.producers.payments.kafka.max.block.ms=500")
			.run((context) -> {
				assertThat(context).hasFailed();
				Throwable failure = context.getStartupFailure();
				ProducerConnectException cause = findCause(failure);
				assertThat(cause.producerName()).isEqualTo("payments");
				assertThat(cause.closed()).containsExactly("orders");
				// Closed with close-timeout (0): the held message was purged at once.
				assertThat(handles.list).singleElement()
					.satisfies((held) -> assertThat(errorOf(held)).isInstanceOf(MessagePurgedException.class));
				FailureAnalysis analysis = new ProducerConnectFailureAnalyzer(new MockEnvironment()).analyze(failure);
				assertThat(analysis.getDescription())
					.startsWith("WaterDrop producer 'payments' could not connect to Kafka.")
					.contains("Bootstrap servers: 127.0.0.1:1")
					.contains("Transactional id: payments-1")
					.contains("org.apache.kafka.common.errors.TimeoutException")
					.contains("The producers connected before it were closed again: orders.");
				assertThat(analysis.getAction()).contains("reachable at 127.0.0.1:1")
					.contains("spring.kafka.bootstrap-servers")
					.contains("waterdrop.producers.payments.kafka.bootstrap.servers")
					.contains("max.block.ms")
					.contains("waterdrop.in-memory=true")
					.contains("@AutoConfigureWaterDropInMemory");
			});
	}

	/** A pool member's settings are its pool's entry: the analysis names those, not an entry of the member's name. */
	@Test
	void aPoolMemberFailingToConnectIsAnalysedWithItsPoolsSettings() {
		new ApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class,
					WaterDropLifecycleAutoConfiguration.class))
			.withPropertyValues("spring.kafka.bootstrap-servers=127.0.0.1:1", "waterdrop.close-timeout=0",
					"waterdrop.producers.transfers.pool-size=2",
					"waterdrop.producers.transfers.kafka.transactional.id=transfers",
					"waterdrop.producers.transfers.kafka.max.block.ms=300")
			.run((context) -> {
				assertThat(context).hasFailed();
				ProducerConnectException cause = findCause(context.getStartupFailure());
				assertThat(cause.producerName()).isEqualTo("transfers-0");
				FailureAnalysis analysis = new ProducerConnectFailureAnalyzer(new MockEnvironment())
					.analyze(context.getStartupFailure());
				assertThat(analysis.getAction()).contains(
						"waterdrop.kafka.bootstrap.servers or waterdrop.producers.transfers.kafka.bootstrap.servers")
					.doesNotContain("transfers-0.");
			});
	}

	/** The in-memory switch cannot reach a producer the application builds: the analysis says so, not "use it". */
	@Test
	void anApplicationsOwnProducerFailingToConnectWithTheInMemorySwitchOnIsAnalysedAsOutOfItsReach(
			CapturedOutput output) {
		SpringApplication application = new SpringApplication(ApplicationBuiltProducer.class);
		application.setWebApplicationType(WebApplicationType.NONE);
		application.setDefaultProperties(Map.of("waterdrop.in-memory", "true",
				"spring.kafka.bootstrap-servers", "127.0.0.1:1", "waterdrop.close-timeout", "0"));

		assertThatExceptionOfType(RuntimeException.class).isThrownBy(application::run)
			.satisfies((failure) -> assertThat(findCause(failure).producerName()).isEqualTo("ledger"));
		assertThat(output).contains("WaterDrop producer 'ledger' could not connect to Kafka.")
			.contains("the application built this producer, with the bootstrap.servers of its own ProducerConfig")
			.doesNotContain("waterdrop.producers.ledger.kafka")
			.contains("waterdrop.in-memory is on, but it reaches only the producers the starter builds")
			.contains("'ledger' is a Producer the application built itself")
			.contains("clientFactory(inMemoryKafka)")
			.doesNotContain("set waterdrop.in-memory=true");
	}

	@Test
	void warnsAtStartUpWhenACloseTimeoutIsNotBelowTheShutdownPhaseTimeout(CapturedOutput output) {
		this.holding.run((context) -> assertThat(output).doesNotContain("WaterDrop close timeouts"));
		this.holding.withPropertyValues("waterdrop.producers.orders.close-timeout=30s")
			.run((context) -> assertThat(output).contains("WaterDrop close timeouts "
					+ "{waterdrop.producers.orders.close-timeout=PT30S} are not below "
					+ "spring.lifecycle.timeout-per-shutdown-phase (PT30S)"));
		this.holding.withPropertyValues("spring.lifecycle.timeout-per-shutdown-phase=10s",
				"waterdrop.close-timeout=20s")
			.run((context) -> assertThat(output).contains("{waterdrop.close-timeout=PT20S}"));
		this.holding.withPropertyValues("waterdrop.templates.tenant.close-timeout=45s",
				"waterdrop.templates[tenant.eu].close-timeout=1m", "waterdrop.templates.quick.close-timeout=5s")
			.run((context) -> assertThat(output).contains("{waterdrop.templates.tenant.close-timeout=PT45S, "
					+ "waterdrop.templates[tenant.eu].close-timeout=PT1M} are not below")
				.doesNotContain("quick"));
	}

	@Test
	void aDrainOutlastingTheShutdownPhaseFinishesWhenBeansAreDestroyed(CapturedOutput output) {
		this.holding.withConfiguration(AutoConfigurations.of(LifecycleAutoConfiguration.class))
			.withPropertyValues("spring.lifecycle.timeout-per-shutdown-phase=200ms",
					"waterdrop.producers.orders.close-timeout=10m")
			.withUserConfiguration(ReleaseAfterProducersPhase.class)
			.run((context) -> {
				Producer orders = context.getBean("orders", Producer.class);
				DeliveryHandle held = orders.produceAsync(Message.of("orders", "held"));
				context.close();
				// Released after the producers' phase, which Spring ended after 200 ms.
				assertThat(errorOf(held)).isNull();
				assertThat(orders.status()).isEqualTo(ProducerStatus.CLOSED);
				assertThat(output).doesNotContain("still serves").doesNotContain("still runs after");
			});
	}

	/** As with {@code KafkaTemplate}: a bean's {@code @PreDestroy} may still produce; its messages are delivered. */
	@Test
	void aBeanDestroyedOnShutdownMayStillProduceOnEveryKindOfProducerItDependsOn() {
		Threads.Snapshot before = Threads.snapshot();
		this.runner.withUserConfiguration(ProducingOnDestroy.class)
			.withPropertyValues("waterdrop.templates.tenant.kafka.acks=all",
					"waterdrop.producers.ledger.kafka.transactional.id=ledger-" + java.util.UUID.randomUUID(),
					"waterdrop.producers.ledger.pool-size=1")
			.run((context) -> {
				ProducingOnDestroy.Farewell farewell = context.getBean(ProducingOnDestroy.Farewell.class);
				ProducingOnDestroy.LookingUp lookingUp = context.getBean(ProducingOnDestroy.LookingUp.class);
				Producer orders = context.getBean("orders", Producer.class);
				Producer ledgerMember = context.getBean("ledger-0", Producer.class);
				context.close();
				assertThat(farewell.failures).isEmpty();
				assertThat(farewell.offsets).hasSize(4).allMatch((offset) -> offset >= 0);
				// Through the WaterDropProducers lookup, with no injected producer to order its destruction.
				assertThat(lookingUp.failures).isEmpty();
				assertThat(lookingUp.offsets).hasSize(2).allMatch((offset) -> offset >= 0);
				assertThat(orders.status()).isEqualTo(ProducerStatus.CLOSED);
				assertThat(ledgerMember.status()).isEqualTo(ProducerStatus.CLOSED);
				await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
					assertThat(before.newKafkaNetworkThread("orders")).isFalse();
					assertThat(before.newKafkaNetworkThread("acme")).isFalse();
				});
			});
	}

	@Test
	void listenersMayInjectAProducer() {
		this.runner.withUserConfiguration(DeadLetters.class).run((context) -> {
			assertThat(context).hasNotFailed();
			DeadLetters deadLetters = context.getBean(DeadLetters.class);
			assertThat(deadLetters.events).contains("producer.connected:orders", "producer.connected:legacy");
		});
	}

	/** The failure a completed handle reports, or {@code null} if delivered. */
	private static Throwable errorOf(DeliveryHandle handle) {
		assertThat(handle.isDone()).as("handle done").isTrue();
		try {
			handle.get();
			return null;
		}
		catch (ExecutionException ex) {
			return ex.getCause();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new AssertionError(ex);
		}
	}

	private static ProducerConnectException findCause(Throwable failure) {
		for (Throwable current = failure; current != null; current = current.getCause()) {
			if (current instanceof ProducerConnectException found) {
				return found;
			}
		}
		throw new AssertionError("No ProducerConnectException in " + failure);
	}

	@Configuration(proxyBeanMethods = false)
	static class Holding {

		@Bean
		HoldingKafka holdingKafka() {
			return new HoldingKafka();
		}

		/** Every producer but 'payments', which gets a real Kafka client. */
		@Bean
		WaterDropProducerCustomizer holdingClients(HoldingKafka kafka) {
			return (name, builder) -> {
				if (!name.equals("payments")) {
					builder.clientFactory(kafka);
				}
			};
		}

	}

	static final class Handles {

		final List<DeliveryHandle> list = new CopyOnWriteArrayList<>();

		final List<String> closingThreads = new CopyOnWriteArrayList<>();

	}

	/** Produces (which connects 'orders') while the context is being created, then a bean fails. */
	@Configuration(proxyBeanMethods = false)
	static class FailingEarly {

		@Bean
		Object early(Handles handles, @Qualifier("orders") Producer orders) {
			handles.list.add(orders.produceAsync(Message.of("orders", "early")));
			return new Object();
		}

		@Bean
		Object broken(@Qualifier("early") Object early) {
			throw new IllegalStateException("broken on purpose");
		}

	}

	/** Produces a held message as soon as 'orders' has connected, before 'payments' connects. */
	@Configuration(proxyBeanMethods = false)
	static class ProducingOnConnect {

		@Bean
		WaterDropEventListener producingOnConnect(Handles handles, @Qualifier("orders") Producer orders) {
			return (event) -> {
				if (event instanceof ProducerEvent.Connected connected && connected.producerId().equals("orders")) {
					handles.list.add(orders.produceAsync(Message.of("orders", "held")));
				}
				if (event instanceof ProducerEvent.Closing closing) {
					handles.closingThreads.add(closing.producerId() + "@" + Thread.currentThread().getName());
				}
			};
		}

	}

	@Configuration(proxyBeanMethods = false)
	@ImportAutoConfiguration({ KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class,
			WaterDropLifecycleAutoConfiguration.class, WaterDropInMemoryAutoConfiguration.class })
	static class ApplicationBuiltProducer {

		@Bean(destroyMethod = "close")
		Producer ledger() {
			return new Producer(io.waterdrop.ProducerConfig.builder()
				.id("ledger")
				.kafka(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1")
				.kafka(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "ledger-1")
				.kafka(ProducerConfig.MAX_BLOCK_MS_CONFIG, 500)
				.build());
		}

	}

	/** Releases the held messages after the producers' phase. */
	@Configuration(proxyBeanMethods = false)
	static class ReleaseAfterProducersPhase {

		@Bean
		SmartLifecycle releaser(HoldingKafka kafka) {
			return new Probe(ProducersLifecycle.PHASE - 1, () -> {
			}, kafka::release);
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class ProducingOnDestroy {

		@Bean
		Farewell farewell(@Qualifier("orders") Producer orders, @Qualifier("legacy") Producer legacy,
				WaterDropRuntimeProducers runtime, @Qualifier("ledger") TransactionalPool ledger) {
			runtime.create("acme", "tenant").connect();
			return new Farewell(orders, legacy, runtime, ledger);
		}

		@Bean
		LookingUp lookingUp(WaterDropProducers producers) {
			return new LookingUp(producers);
		}

		/** Produces on producers it looks up in {@link WaterDropProducers} when destroyed. */
		static final class LookingUp implements DisposableBean {

			final List<Long> offsets = new CopyOnWriteArrayList<>();

			final List<Throwable> failures = new CopyOnWriteArrayList<>();

			private final WaterDropProducers producers;

			LookingUp(WaterDropProducers producers) {
				this.producers = producers;
			}

			@Override
			public void destroy() {
				Farewell.record(this.offsets, this.failures,
						() -> this.producers.get("orders").produceSync(Message.of("orders", "farewell")).offset());
				Farewell.record(this.offsets, this.failures,
						() -> this.producers.get("legacy").produceSync(Message.of("legacy", "farewell")).offset());
			}

		}

		/** Produces on a producer bean of each polling mode, a runtime producer and a pool when destroyed. */
		static final class Farewell implements DisposableBean {

			final List<Long> offsets = new CopyOnWriteArrayList<>();

			final List<Throwable> failures = new CopyOnWriteArrayList<>();

			private final Producer orders;

			private final Producer legacy;

			private final WaterDropRuntimeProducers runtime;

			private final TransactionalPool ledger;

			Farewell(Producer orders, Producer legacy, WaterDropRuntimeProducers runtime, TransactionalPool ledger) {
				this.orders = orders;
				this.legacy = legacy;
				this.runtime = runtime;
				this.ledger = ledger;
			}

			@Override
			public void destroy() {
				record(() -> this.orders.produceSync(Message.of("orders", "farewell")).offset());
				record(() -> this.legacy.produceSync(Message.of("legacy", "farewell")).offset());
				record(() -> this.runtime.get("acme").produceSync(Message.of("acme", "farewell")).offset());
				record(() -> this.ledger.produceSync(Message.of("ledger", "farewell")).offset());
			}

			private void record(java.util.function.LongSupplier send) {
				record(this.offsets, this.failures, send);
			}

			static void record(List<Long> offsets, List<Throwable> failures, java.util.function.LongSupplier send) {
				try {
					offsets.add(send.getAsLong());
				}
				catch (RuntimeException ex) {
					failures.add(ex);
				}
			}

		}

	}

	@Configuration(proxyBeanMethods = false)
	static class DeadLetters {

		final List<String> events = new CopyOnWriteArrayList<>();

		@Bean
		WaterDropEventListener deadLetterListener(@Qualifier("orders") Producer orders) {
			return (event) -> {
				if (event instanceof ProducerEvent producerEvent) {
					this.events.add(event.name() + ":" + producerEvent.producerId());
				}
				if (event instanceof ProducerEvent.ErrorOccurred && orders.status() == ProducerStatus.CONNECTED) {
					orders.produceAsync(Message.of("dead-letters", "failed"));
				}
			};
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class Probes {

		final List<ProducerStatus> webServerStart = new CopyOnWriteArrayList<>();

		final List<ProducerStatus> webServerStop = new CopyOnWriteArrayList<>();

		final List<ProducerStatus> afterProducersPhase = new CopyOnWriteArrayList<>();

		/** A message whose report the producers' phase should have left behind it. */
		volatile DeliveryHandle watched;

		final List<DeliveryReport> watchedAfterProducersPhase = new CopyOnWriteArrayList<>();

		@Bean
		SmartLifecycle webServerProbe(ObjectProvider<Map<String, Producer>> producers) {
			return new Probe(WEB_SERVER_PHASE, () -> record(producers, this.webServerStart),
					() -> record(producers, this.webServerStop));
		}

		final List<ProducerStatus> listenerStart = new CopyOnWriteArrayList<>();

		/**
		 * At phase 0, as a plain Lifecycle bean, or the listener containers of a share consumer's factory (and
		 * so every container, through spring-kafka's registry): it produces until it stops.
		 */
		@Bean
		SmartLifecycle listenerProbe(ObjectProvider<Map<String, Producer>> producers) {
			return new Probe(0, () -> record(producers, this.listenerStart), () -> this.watched = producers.getObject()
				.get("orders")
				.produceAsync(Message.of("orders", "lingering")));
		}

		@Bean
		SmartLifecycle afterProducersProbe(ObjectProvider<Map<String, Producer>> producers) {
			return new Probe(ProducersLifecycle.PHASE - 1, () -> {
			}, () -> {
				record(producers, this.afterProducersPhase);
				if (this.watched != null) {
					// A deadlock guard: the drain's flush completes it at once, the close would only later.
					this.watchedAfterProducersPhase.add(this.watched.await(Duration.ofSeconds(30)));
				}
			});
		}

		private static void record(ObjectProvider<Map<String, Producer>> producers, List<ProducerStatus> statuses) {
			producers.getObject().values().forEach((producer) -> statuses.add(producer.status()));
		}

	}

	static final class Probe implements SmartLifecycle {

		private final int phase;

		private final Runnable onStart;

		private final Runnable onStop;

		private volatile boolean running;

		Probe(int phase, Runnable onStart, Runnable onStop) {
			this.phase = phase;
			this.onStart = onStart;
			this.onStop = onStop;
		}

		@Override
		public void start() {
			this.onStart.run();
			this.running = true;
		}

		@Override
		public void stop() {
			this.onStop.run();
			this.running = false;
		}

		@Override
		public boolean isRunning() {
			return this.running;
		}

		@Override
		public int getPhase() {
			return this.phase;
		}

	}

}
