package io.waterdrop.autoconfigure;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.kafka.clients.producer.RoundRobinPartitioner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Lazy;
import org.springframework.core.annotation.Order;
import org.springframework.core.convert.ConversionService;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.format.support.DefaultFormattingConversionService;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.core.ProducerFactory;

import io.waterdrop.InvalidConfigurationException;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerConfig;
import io.waterdrop.ProducerStatus;
import io.waterdrop.TransactionalPool;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;
import io.waterdrop.autoconfigure.transaction.WaterDropTransactionManager;
import io.waterdrop.instrumentation.Event;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingMode;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Conditions, back-offs and the beans of {@link WaterDropAutoConfiguration}.
 */
@Timeout(60)
class WaterDropAutoConfigurationTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class, WaterDropLifecycleAutoConfiguration.class))
		.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers());

	@Test
	void withoutEntriesDefinesOneDefaultProducerOnTheGlobalPoller() {
		this.runner.run((context) -> {
			assertThat(context).hasSingleBean(Producer.class).hasBean("waterdropProducer");
			Producer producer = context.getBean("waterdropProducer", Producer.class);
			assertThat(producer.id()).isEqualTo("waterdropProducer");
			assertThat(producer.status()).isEqualTo(ProducerStatus.CONNECTED);
			assertThat(producer.config().pollingMode()).isEqualTo(PollingMode.FD);
			assertThat(producer.config().poller()).isSameAs(Poller.global());
			assertThat(context.getBean("waterdropPoller")).isSameAs(Poller.global());
			assertThat(context.getBean(WaterDropProducers.class).asMap()).containsOnlyKeys("waterdropProducer");
		});
	}

	/**
	 * Boot's transaction-id-prefix left from a KafkaTemplate set-up makes no WaterDrop producer transactional:
	 * warned of once, while no producer, pool or template has a transactional.id.
	 */
	@Test
	@ExtendWith(OutputCaptureExtension.class)
	void bootsTransactionIdPrefixWithoutATransactionalProducerIsWarnedOf(CapturedOutput output) {
		String prefix = "spring.kafka.producer.transaction-id-prefix=orders-";
		String warning = "spring.kafka.producer.transaction-id-prefix is set, but it makes only Boot's own "
				+ "KafkaTemplate transactional";
		this.runner.withPropertyValues(prefix, "waterdrop.producers.orders.max-in-flight=10")
			.run((context) -> assertThat(context).hasNotFailed());
		this.runner
			.withPropertyValues(prefix,
					"waterdrop.producers.orders.kafka.transactional.id=prefix-check-" + java.util.UUID.randomUUID())
			.run((context) -> assertThat(context).hasNotFailed());
		this.runner.withPropertyValues(prefix, "waterdrop.templates.tenant.kafka.transactional.id=tenant")
			.run((context) -> assertThat(context).hasNotFailed());
		this.runner.run((context) -> assertThat(context).hasNotFailed());
		// Once for a parent and its child, which sees the parent's settings.
		this.runner.withPropertyValues(prefix, "waterdrop.producers.orders.max-in-flight=10")
			.run((parent) -> this.runner.withParent(parent)
				.withPropertyValues(prefix, "waterdrop.producers.orders.max-in-flight=10")
				.run((child) -> assertThat(child).hasNotFailed()));

		assertThat(output.getOut().split(java.util.regex.Pattern.quote(warning), -1)).hasSize(3);
		assertThat(output.getOut()).contains("waterdrop.producers.<name>.kafka.transactional.id");
	}

	@Test
	void leavesBootsKafkaTemplateAndProducerFactoryInPlace() {
		this.runner.withPropertyValues("waterdrop.producers.orders.max-payload-size=10").run((context) -> {
			assertThat(context).hasSingleBean(KafkaTemplate.class);
			assertThat(context).hasSingleBean(ProducerFactory.class);
		});
	}

	@Test
	void defaultsAreTheCoresDefaults() {
		this.runner.run((context) -> {
			ProducerConfig config = context.getBean(Producer.class).config();
			ProducerConfig core = ProducerConfig.builder().build();
			assertThat(config.maxPayloadSize()).isEqualTo(core.maxPayloadSize());
			assertThat(config.maxWaitTimeout()).isEqualTo(core.maxWaitTimeout());
			assertThat(config.statisticsInterval()).isEqualTo(core.statisticsInterval());
			assertThat(config.pollingMode()).isEqualTo(core.pollingMode());
			assertThat(config.maxTime()).isEqualTo(core.maxTime());
			assertThat(config.pollTimeout()).isEqualTo(core.pollTimeout());
			assertThat(config.slowCallbackThreshold()).isEqualTo(core.slowCallbackThreshold());
			assertThat(config.maxInFlight()).isEqualTo(core.maxInFlight());
			assertThat(config.waitOnQueueFull()).isEqualTo(core.waitOnQueueFull());
			assertThat(config.waitTimeoutOnQueueFull()).isEqualTo(core.waitTimeoutOnQueueFull());
			assertThat(config.reloadOnTransactionFatalError()).isEqualTo(core.reloadOnTransactionFatalError());
			assertThat(config.minTime()).isEqualTo(core.minTime());
			assertThat(config.idleDisconnectTimeout()).isEqualTo(core.idleDisconnectTimeout());
			assertThat(config.reloadOnIdempotentFatalError()).isEqualTo(core.reloadOnIdempotentFatalError());
			assertThat(config.maxReloadAttempts()).isEqualTo(core.maxReloadAttempts());
			assertThat(config.reloadBackoff()).isEqualTo(core.reloadBackoff());
			assertThat(config.maxAttemptsOnTransactionCommand()).isEqualTo(core.maxAttemptsOnTransactionCommand());
			assertThat(config.nonReloadableErrors()).isEqualTo(core.nonReloadableErrors());
		});
		WaterDropProperties.PollerProperties poller = new WaterDropProperties.PollerProperties();
		PollerConfig core = PollerConfig.named("any");
		assertThat(poller.getPollTimeout()).isEqualTo(core.pollTimeout());
		assertThat(poller.getBackoffMin()).isEqualTo(core.backoffMin());
		assertThat(poller.getBackoffMax()).isEqualTo(core.backoffMax());
	}

	@Test
	void failureAndIdleSettingsApplyPerProducerOverTheDefaults() {
		this.runner
			.withPropertyValues("waterdrop.polling.fd.min-time=2ms", "waterdrop.idle-disconnect-timeout=5m",
					"waterdrop.max-reload-attempts=4", "waterdrop.producers.orders.polling.fd.min-time=3ms",
					"waterdrop.producers.orders.reload-on-idempotent-fatal-error=true",
					"waterdrop.producers.orders.reload-backoff=250ms",
					"waterdrop.producers.orders.max-attempts-on-transaction-command=5",
					"waterdrop.producers.orders.non-reloadable-errors="
							+ "org.apache.kafka.common.errors.ClusterAuthorizationException",
					"waterdrop.producers.audit.max-payload-size=10")
			.run((context) -> {
				ProducerConfig orders = context.getBean("orders", Producer.class).config();
				assertThat(orders.minTime()).isEqualTo(Duration.ofMillis(3));
				assertThat(orders.idleDisconnectTimeout()).isEqualTo(Duration.ofMinutes(5));
				assertThat(orders.reloadOnIdempotentFatalError()).isTrue();
				assertThat(orders.maxReloadAttempts()).isEqualTo(4);
				assertThat(orders.reloadBackoff()).isEqualTo(Duration.ofMillis(250));
				assertThat(orders.maxAttemptsOnTransactionCommand()).isEqualTo(5);
				assertThat(orders.nonReloadableErrors())
					.containsExactly(org.apache.kafka.common.errors.ClusterAuthorizationException.class);
				ProducerConfig audit = context.getBean("audit", Producer.class).config();
				assertThat(audit.minTime()).isEqualTo(Duration.ofMillis(2));
				assertThat(audit.reloadOnIdempotentFatalError()).isFalse();
				assertThat(audit.nonReloadableErrors()).isEqualTo(ProducerConfig.DEFAULT_NON_RELOADABLE_ERRORS);
			});
	}

	@Test
	void entriesDefineProducerBeansByNameAndNoDefault() {
		this.runner.withUserConfiguration(QualifiedInjection.class)
			.withPropertyValues("waterdrop.producers.orders.max-payload-size=10",
					"waterdrop.producers.audit.polling.mode=thread")
			.run((context) -> {
				assertThat(context).doesNotHaveBean("waterdropProducer");
				assertThat(context.getBeansOfType(Producer.class)).containsOnlyKeys("orders", "audit");
				assertThat(context.getBean(QualifiedInjection.class).orders)
					.isSameAs(context.getBean("orders"));
				assertThat(context.getBean(WaterDropProducers.class).asMap()).containsOnlyKeys("orders", "audit");
				assertThat(context.getBean(WaterDropProducers.class).get("audit").config().pollingMode())
					.isEqualTo(PollingMode.THREAD);
			});
	}

	@Test
	void userDefinedProducerReplacesTheDefaultAndIsManagedToo() {
		this.runner.withUserConfiguration(UserProducer.class).run((context) -> {
			assertThat(context).doesNotHaveBean("waterdropProducer");
			Producer mine = context.getBean("myProducer", Producer.class);
			assertThat(context.getBean(WaterDropProducers.class).asMap()).containsOnlyKeys("myProducer");
			assertThat(mine.status()).isEqualTo(ProducerStatus.CONNECTED);
			context.close();
			assertThat(mine.status()).isEqualTo(ProducerStatus.CLOSED);
		});
	}

	@Test
	void aBeanOfAnyTypeNamedLikeAnEntryFailsStartUp() {
		this.runner.withBean("audit", StringBuilder.class)
			.withPropertyValues("waterdrop.producers.orders.max-payload-size=10",
					"waterdrop.producers.audit.max-payload-size=20")
			.run((context) -> {
				FailureAnalysis analysis = analyze(context);
				assertThat(analysis.getDescription()).contains("Property: waterdrop.producers.audit")
					.contains("Reason: its bean name 'audit' is already taken by the bean 'audit' of type "
							+ "java.lang.StringBuilder, so the entry would not be defined");
				assertThat(analysis.getAction())
					.startsWith("Rename waterdrop.producers.audit, or give that bean another name")
					.contains("remove waterdrop.producers.audit");
			});
	}

	@Test
	void aProducerBeanNamedLikeAnEntryFailsStartUpToo() {
		this.runner.withUserConfiguration(UserOrdersProducer.class)
			.withPropertyValues("waterdrop.producers.orders.max-payload-size=10")
			.run((context) -> assertThat(analyze(context).getDescription())
				.contains("its bean name 'orders' is already taken by the bean 'orders' of type io.waterdrop.Producer"));
	}

	@Test
	void aBeanNamedLikeAPollerEntrysBeanFailsStartUp() {
		this.runner.withBean("criticalPoller", StringBuilder.class)
			.withPropertyValues("waterdrop.pollers.critical.poll-timeout=1s")
			.run((context) -> assertThat(analyze(context).getDescription())
				.contains("Property: waterdrop.pollers.critical")
				.contains("its bean name 'criticalPoller' is already taken by the bean 'criticalPoller'"));
	}

	@Test
	void aPrimaryEntryIsInjectedWithoutQualifier() {
		this.runner.withUserConfiguration(UnqualifiedInjection.class)
			.withPropertyValues("waterdrop.producers.orders.max-payload-size=10",
					"waterdrop.producers.audit.primary=true")
			.run((context) -> assertThat(context.getBean(UnqualifiedInjection.class).producer)
				.isSameAs(context.getBean("audit")));
	}

	@Test
	void twoPrimaryEntriesFailStartUp() {
		this.runner
			.withPropertyValues("waterdrop.producers.orders.primary=true", "waterdrop.producers.audit.primary=true")
			.run((context) -> {
				FailureAnalysis analysis = analyze(context);
				assertThat(analysis.getDescription()).contains("Property: waterdrop.producers.audit.primary")
					.contains("is true, as is waterdrop.producers.orders.primary: there can be only one primary");
				assertThat(analysis.getAction()).isEqualTo("Set primary to true on one producer entry only: "
						+ "waterdrop.producers.orders.primary, waterdrop.producers.audit.primary.");
			});
	}

	@Test
	void aChildContextDefinesNoSecondTransactionManagerForItsParentsDefaultProducer() {
		String transactional = "waterdrop.kafka.transactional.id=child-tm-" + java.util.UUID.randomUUID();
		this.runner.withPropertyValues(transactional).run((parent) -> {
			Object manager = parent.getBean("waterdropProducerTransactionManager");
			this.runner.withParent(parent).withPropertyValues(transactional).run((child) -> {
				assertThat(child).hasNotFailed();
				assertThat(child.getBeanFactory().containsLocalBean("waterdropProducer")).isFalse();
				assertThat(child.getBeanFactory().containsLocalBean("waterdropProducerTransactionManager")).isFalse();
				assertThat(child.getBean("waterdropProducerTransactionManager")).isSameAs(manager);
			});
		});
	}

	@Test
	void aChildContextUsesItsParentsProducersAndManagesOnlyItsOwn() {
		this.runner.withPropertyValues("waterdrop.producers.orders.max-in-flight=10").run((parent) -> {
			Producer orders = parent.getBean("orders", Producer.class);
			this.runner.withParent(parent)
				.withPropertyValues("waterdrop.producers.child.max-in-flight=30")
				.run((child) -> {
					assertThat(child).hasNotFailed();
					// The parent's entry is not defined again in the child (no second client with its ids).
					assertThat(child.getBeanFactory().containsLocalBean("orders")).isFalse();
					assertThat(child.getBean("orders")).isSameAs(orders);
					Producer own = child.getBean("child", Producer.class);
					assertThat(own.status()).isEqualTo(ProducerStatus.CONNECTED);
					WaterDropProducers producers = child.getBean(WaterDropProducers.class);
					assertThat(producers).isNotSameAs(parent.getBean(WaterDropProducers.class));
					assertThat(producers.asMap()).containsOnlyKeys("child", "orders");
					assertThat(producers.get("orders")).isSameAs(orders);
					child.close();
					assertThat(own.status()).isEqualTo(ProducerStatus.CLOSED);
				});
			assertThat(orders.status()).isEqualTo(ProducerStatus.CONNECTED);
			assertThat(parent.getBean(WaterDropProducers.class).asMap()).containsOnlyKeys("orders");
			assertThat(orders.produceSync(Message.of("orders", "after the child closed")).offset()).isNotNegative();
		});
	}

	/**
	 * A child that sees its parent's settings of an entry (as {@code SpringApplicationBuilder.child} does) uses
	 * the parent's bean; one that gives the entry other settings would have them bind and do nothing: refused.
	 */
	@Test
	void aChildContextsOwnSettingsOfItsParentsEntryMustBeTheParents() {
		this.runner.withPropertyValues("waterdrop.producers.orders.max-in-flight=10",
				"waterdrop.producers.orders.kafka.linger.ms=5", "waterdrop.pollers.critical.poll-timeout=2s",
				"suffix=parent", "waterdrop.producers.orders.kafka.client.id=orders-${suffix}")
			.run((parent) -> {
				childWith(parent, Map.of("waterdrop.producers.orders.max-in-flight", "10"))
					.run((child) -> assertThat(child).hasNotFailed());
				// Compared as written: a placeholder the child resolves otherwise is the same setting.
				childWith(parent, Map.of("suffix", "child")).run((child) -> assertThat(child).hasNotFailed());
				childWith(parent, Map.of("WATERDROP_PRODUCERS_ORDERS_MAXINFLIGHT", "10"))
					.run((child) -> assertThat(child).hasNotFailed());
				childWith(parent, Map.of("waterdrop.producers.orders.max-in-flight", "5"))
					.run((child) -> assertThat(child).getFailure()
						.isInstanceOfSatisfying(InvalidConfigurationException.class,
								(ex) -> assertThat(ex.property()).isEqualTo("waterdrop.producers.orders.max-in-flight"))
						.hasMessageContaining(
								"differs from the parent context's setting (differing: [max-in-flight])"));
				childWith(parent, Map.of("waterdrop.pollers.critical.poll-timeout", "3s"))
					.run((child) -> assertThat(child).getFailure()
						.isInstanceOfSatisfying(InvalidConfigurationException.class,
								(ex) -> assertThat(ex.property())
									.isEqualTo("waterdrop.pollers.critical.poll-timeout")));
				// The parent's global Poller is the child's too: its settings would do nothing.
				childWith(parent, Map.of("waterdrop.pollers.global.poll-timeout", "3s"))
					.run((child) -> assertThat(child).getFailure()
						.isInstanceOfSatisfying(InvalidConfigurationException.class,
								(ex) -> assertThat(ex.property()).isEqualTo("waterdrop.pollers.global.poll-timeout")));
			});
	}

	/**
	 * An entry may be named waterdropProducer, transactional too: the default producer of that name (and its
	 * transaction manager) exists only without entries.
	 */
	@Test
	void aTransactionalEntryNamedLikeTheDefaultProducerHasItsTransactionManager() {
		this.runner.withPropertyValues("waterdrop.producers.waterdropProducer.kafka.transactional.id=tx-default-name")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertThat(context.getBean("waterdropProducerTransactionManager", WaterDropTransactionManager.class)
					.getProducer()).isSameAs(context.getBean("waterdropProducer", Producer.class));
			});
	}

	/**
	 * A child whose own properties are a source of their own before its parent's, as a child application's
	 * (the runner's property values would be written into the source the child shares with its parent).
	 */
	private ApplicationContextRunner childWith(ConfigurableApplicationContext parent, Map<String, Object> own) {
		return this.runner.withParent(parent)
			.withInitializer((child) -> child.getEnvironment()
				.getPropertySources()
				.addFirst(new MapPropertySource("child", own)));
	}

	@Test
	void aUserDefinedWaterDropProducersIsTheLookupAndEveryProducerIsStillManaged() {
		this.runner.withUserConfiguration(UserRegistry.class)
			.withPropertyValues("waterdrop.producers.orders.max-payload-size=10",
					"waterdrop.producers.audit.max-payload-size=20")
			.run((context) -> {
				assertThat(context).hasSingleBean(WaterDropProducers.class);
				assertThat(context.getBean(WaterDropProducers.class).asMap()).containsOnlyKeys("orders");
				Producer audit = context.getBean("audit", Producer.class);
				assertThat(audit.status()).isEqualTo(ProducerStatus.CONNECTED);
				context.close();
				assertThat(audit.status()).isEqualTo(ProducerStatus.CLOSED);
			});
	}

	@Test
	void kafkaLoadsTheClassesInItsSettingsWithTheContextsClassLoader() {
		RecordingClassLoader classLoader = new RecordingClassLoader(getClass().getClassLoader());
		this.runner.withClassLoader(classLoader)
			.withPropertyValues("spring.kafka.bootstrap-servers=127.0.0.1:1",
					"waterdrop.producers.orders.kafka.partitioner.class=" + RoundRobinPartitioner.class.getName())
			.run((context) -> {
				assertThat(context.getBean("orders", Producer.class).status()).isEqualTo(ProducerStatus.CONNECTED);
				assertThat(classLoader.loaded).contains(RoundRobinPartitioner.class.getName());
			});
	}

	@Test
	void globalPollerSettingsGiveTheContextAPollerOfItsOwn() {
		this.runner
			.withPropertyValues("waterdrop.pollers.global.poll-timeout=250ms", "waterdrop.pollers.global.backoff-max=5s",
					"waterdrop.producers.orders.max-payload-size=10", "waterdrop.producers.audit.polling.poller=global")
			.run((context) -> {
				Poller global = context.getBean("waterdropPoller", Poller.class);
				assertThat(global).isNotSameAs(Poller.global());
				assertThat(global.config()).isEqualTo(new PollerConfig("global", Duration.ofMillis(250),
						PollerConfig.DEFAULT_BACKOFF_MIN, Duration.ofSeconds(5)));
				assertThat(context).doesNotHaveBean("globalPoller");
				assertThat(context.getBean("orders", Producer.class).config().poller()).isSameAs(global);
				assertThat(context.getBean("audit", Producer.class).config().poller()).isSameAs(global);
				assertThat(global.threadName()).matches("waterdrop\\.poller#\\d+-global");
				assertThat(global.isRunning()).isTrue();
				context.close();
				assertThat(global.isRunning()).isFalse();
			});
	}

	@Test
	void maxPayloadSizeIsADataSize() {
		this.runner
			.withPropertyValues("waterdrop.max-payload-size=1MB", "waterdrop.producers.orders.max-payload-size=64KB",
					"waterdrop.producers.audit.max-in-flight=10", "waterdrop.producers.legacy.max-payload-size=5000")
			.run((context) -> {
				assertThat(context.getBean("orders", Producer.class).config().maxPayloadSize()).isEqualTo(65_536);
				assertThat(context.getBean("audit", Producer.class).config().maxPayloadSize()).isEqualTo(1_048_576);
				assertThat(context.getBean("legacy", Producer.class).config().maxPayloadSize()).isEqualTo(5_000);
			});
	}

	@Test
	void aMaxPayloadSizeBeyondAnIntIsReportedWhereItWasSet() {
		this.runner.withPropertyValues("waterdrop.max-payload-size=3GB", "waterdrop.producers.orders.max-in-flight=10")
			.run((context) -> {
				FailureAnalysis analysis = analyze(context);
				assertThat(analysis.getDescription()).contains("Property: waterdrop.max-payload-size")
					.contains("must be at most 2147483647 bytes but was 3221225472 bytes");
			});
	}

	@Test
	void invalidGlobalPollerSettingsAreReportedUnderTheirKey() {
		this.runner.withPropertyValues("waterdrop.pollers.global.poll-timeout=0")
			.run((context) -> assertThat(analyze(context).getDescription())
				.contains("Property: waterdrop.pollers.global.poll-timeout"));
	}

	@Test
	void userDefinedWaterdropPollerServesProducersWithoutAPoller() {
		this.runner.withUserConfiguration(UserGlobalPoller.class).run((context) -> {
			Poller mine = context.getBean("waterdropPoller", Poller.class);
			assertThat(mine.name()).isEqualTo("mine");
			assertThat(context.getBean(Producer.class).config().poller()).isSameAs(mine);
		});
	}

	@Test
	void namedPollersAreBeansThatProducersUse() {
		this.runner
			.withPropertyValues("waterdrop.pollers.critical.poll-timeout=250ms",
					"waterdrop.pollers.critical.backoff-min=10ms", "waterdrop.pollers.critical.backoff-max=2s",
					"waterdrop.pollers.spare.poll-timeout=2s", "waterdrop.producers.orders.polling.poller=critical",
					"waterdrop.producers.audit.max-payload-size=10")
			.run((context) -> {
				Poller critical = context.getBean("criticalPoller", Poller.class);
				assertThat(critical.config())
					.isEqualTo(new PollerConfig("critical", Duration.ofMillis(250), Duration.ofMillis(10),
							Duration.ofSeconds(2)));
				assertThat(critical.threadName()).matches("waterdrop\\.poller#\\d+-critical");
				assertThat(context.getBean("sparePoller", Poller.class).config().pollTimeout())
					.isEqualTo(Duration.ofSeconds(2));
				Producer orders = context.getBean("orders", Producer.class);
				assertThat(orders.config().poller()).isSameAs(critical);
				assertThat(orders.pollerName()).isEqualTo("critical");
				assertThat(context.getBean("audit", Producer.class).config().poller()).isSameAs(Poller.global());
			});
	}

	@Test
	void entriesWithoutSettingsTakeTheDefaults() {
		this.runner
			.withPropertyValues("waterdrop.pollers.critical=", "waterdrop.producers.orders=",
					"waterdrop.producers.audit.polling.poller=critical")
			.run((context) -> {
				assertThat(context.getBean("criticalPoller", Poller.class).config())
					.isEqualTo(PollerConfig.named("critical"));
				assertThat(context.getBeansOfType(Producer.class)).containsOnlyKeys("orders", "audit");
				assertThat(context.getBean("orders", Producer.class).config().maxTime())
					.isEqualTo(ProducerConfig.DEFAULT_MAX_TIME);
			});
	}

	/** Boot binds with an application's own {@code conversionService} bean alone, ignoring converter beans. */
	@Test
	void entriesWithoutSettingsTakeTheDefaultsWithTheApplicationsOwnConversionService() {
		this.runner.withBean("conversionService", ConversionService.class, DefaultFormattingConversionService::new)
			.withPropertyValues("waterdrop.pollers.critical=", "waterdrop.producers.orders=",
					"waterdrop.producers.audit.polling.poller=critical")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertThat(context.getBean(WaterDropProperties.class).getProducers()).containsOnlyKeys("orders",
						"audit");
				assertThat(context.getBean("orders", Producer.class).config().maxTime())
					.isEqualTo(ProducerConfig.DEFAULT_MAX_TIME);
				assertThat(context.getBean("criticalPoller", Poller.class).config())
					.isEqualTo(PollerConfig.named("critical"));
			});
	}

	/**
	 * An entry written empty in {@code application.yml} ({@code orders:}) takes the settings a profile's file or
	 * an environment variable gives it, as any bean Boot binds does.
	 */
	@Test
	void anEntryWrittenEmptyTakesSettingsFromOtherSources() {
		withEnvironment(Map.of("WATERDROP_PRODUCERS_AUDIT_MAXINFLIGHT", "5"))
			.withInitializer((context) -> {
				ConfigFiles.add(context, "application-prod.yml",
						Map.of("waterdrop.producers.orders.max-in-flight", "7",
								"waterdrop.pollers.critical.poll-timeout", "2s",
								"waterdrop.templates.tenant.max-in-flight", "9"));
				ConfigFiles.add(context, "application.yml", Map.of("waterdrop.producers.orders", "",
						"waterdrop.producers.audit", "", "waterdrop.pollers.critical", "",
						"waterdrop.templates.tenant", ""));
			})
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertThat(context.getBean("orders", Producer.class).config().maxInFlight()).isEqualTo(7);
				assertThat(context.getBean("audit", Producer.class).config().maxInFlight()).isEqualTo(5);
				assertThat(context.getBean("criticalPoller", Poller.class).config().pollTimeout())
					.isEqualTo(Duration.ofSeconds(2));
				assertThat(context.getBean(WaterDropProperties.class).getTemplates().get("tenant").getMaxInFlight())
					.isEqualTo(9);
			});
	}

	/** So do entries written empty by a placeholder or a blank value, as Boot binds them. */
	@Test
	void anEntryWrittenEmptyByAPlaceholderOrBlankTakesSettingsFromOtherSources() {
		this.runner.withInitializer((context) -> {
			ConfigFiles.add(context, "application-prod.yml", Map.of("waterdrop.producers.orders.max-in-flight", "7",
					"waterdrop.producers.audit.max-in-flight", "5"));
			ConfigFiles.add(context, "application.yml",
					Map.of("waterdrop.producers.orders", "${WATERDROP_TEST_UNSET:}", "waterdrop.producers.audit", " "));
		}).run((context) -> {
			assertThat(context).hasNotFailed();
			assertThat(context.getBean("orders", Producer.class).config().maxInFlight()).isEqualTo(7);
			assertThat(context.getBean("audit", Producer.class).config().maxInFlight()).isEqualTo(5);
		});
	}

	/**
	 * Settings written empty elsewhere (a variable set to "" for "the default", a blank value, a placeholder of
	 * nothing) leave such entries defined, with the defaults.
	 */
	@Test
	void anEntryWrittenEmptyWhoseSettingsElsewhereAreEmptyTakesTheDefaults() {
		withEnvironment(Map.of("WATERDROP_PRODUCERS_ORDERS_CLOSETIMEOUT", "",
				"WATERDROP_POLLERS_CRITICAL_POLLTIMEOUT", "", "WATERDROP_TEMPLATES_TENANT_CLOSETIMEOUT", ""))
			.withInitializer((context) -> {
				ConfigFiles.add(context, "application-prod.yml",
						Map.of("waterdrop.producers.orders.max-in-flight", "${WATERDROP_TEST_UNSET:}",
								"waterdrop.producers.orders.wait-on-queue-full", " "));
				ConfigFiles.add(context, "application.yml",
						Map.of("waterdrop.producers.orders", "", "waterdrop.pollers.critical", "",
								"waterdrop.templates.tenant", "", "waterdrop.producers.audit.polling.poller",
								"critical"));
			})
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertThat(context.getBeansOfType(Producer.class)).containsOnlyKeys("orders", "audit");
				assertThat(context.getBean("criticalPoller", Poller.class).config())
					.isEqualTo(PollerConfig.named("critical"));
				assertThat(context.getBean(WaterDropRuntimeProducers.class).templateNames()).containsExactly("tenant");
			});
	}

	/**
	 * An environment variable overriding an entry whose name has dashes or capitals sets that entry and defines
	 * no other (Boot's relaxed binding adds its spelling, {@code orderevents}, as a key of the map too): a
	 * per-pod {@code transactional.id}, the common case, does not clash with a producer nobody defined.
	 */
	@Test
	void anEnvironmentVariableOverridesAnEntryWithoutDefiningAnother() {
		withEnvironment(Map.of("WATERDROP_PRODUCERS_ORDEREVENTS_MAXINFLIGHT", "5",
				"WATERDROP_PRODUCERS_AUDITLOG_KAFKA_TRANSACTIONAL_ID", "audit-7",
				"WATERDROP_POLLERS_CRITICALPATH_POLLTIMEOUT", "2s", "WATERDROP_TEMPLATES_PERTENANT_MAXINFLIGHT", "9"))
			.withPropertyValues("waterdrop.producers.order-events.max-in-flight=10",
					"waterdrop.producers.auditLog.polling.poller=critical-path",
					"waterdrop.pollers.critical-path.backoff-min=200ms",
					"waterdrop.templates.per-tenant.max-in-flight=3")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertThat(context.getBeansOfType(Producer.class)).containsOnlyKeys("order-events", "auditLog");
				assertThat(context.getBean("order-events", Producer.class).config().maxInFlight()).isEqualTo(5);
				assertThat(context.getBean("auditLog", Producer.class).config().kafka())
					.containsEntry("transactional.id", "audit-7");
				assertThat(context.getBeansOfType(Poller.class)).containsKey("critical-pathPoller")
					.doesNotContainKey("criticalpathPoller");
				assertThat(context.getBean(WaterDropRuntimeProducers.class).templateNames())
					.containsExactly("per-tenant");
			});
	}

	@ParameterizedTest
	@ValueSource(strings = { "orderEvents", "orderevents" })
	void twoSpellingsOfOneEntryWrittenInTheConfigurationFailStartUp(String other) {
		this.runner.withPropertyValues("waterdrop.producers.order-events.max-in-flight=10",
				"waterdrop.producers." + other + ".max-in-flight=20")
			.run((context) -> assertThat(context).getFailure()
				.hasMessageContaining("waterdrop.producers.")
				.hasMessageContaining("is the same entry as waterdrop.producers.")
				.hasMessageContaining(other)
				.hasMessageContaining("to Spring Boot's relaxed binding"));
	}

	private ApplicationContextRunner withEnvironment(Map<String, Object> variables) {
		return this.runner.withInitializer((context) -> context.getEnvironment()
			.getPropertySources()
			.addFirst(new SystemEnvironmentPropertySource("test-"
					+ StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, variables)));
	}

	/** {@code @Lazy} injection points (Spring's way out of a dependency cycle) get a proxy that works. */
	@Test
	void lazyInjectionPointsGetWorkingProxies() {
		this.runner.withPropertyValues("waterdrop.producers.orders.max-in-flight=10", "waterdrop.templates.tenant=",
				"waterdrop.producers.payments.pool-size=1",
				"waterdrop.producers.payments.kafka.transactional.id=lazy-payments")
			.withBean(LazyUser.class)
			.run((context) -> {
				assertThat(context).hasNotFailed();
				LazyUser user = context.getBean(LazyUser.class);
				assertThat(user.orders.produceSync(Message.of("lazy-orders", "x")).topic()).isEqualTo("lazy-orders");
				assertThat(user.producers.get("orders")).isSameAs(context.getBean("orders"));
				assertThat(user.runtime.templateNames()).containsExactly("tenant");
				assertThat(user.payments.size()).isEqualTo(1);
			});
	}

	static class LazyUser {

		final Producer orders;

		final WaterDropProducers producers;

		final WaterDropRuntimeProducers runtime;

		final TransactionalPool payments;

		LazyUser(@Lazy @Qualifier("orders") Producer orders, @Lazy WaterDropProducers producers,
				@Lazy WaterDropRuntimeProducers runtime, @Lazy @Qualifier("payments") TransactionalPool payments) {
			this.orders = orders;
			this.producers = producers;
			this.runtime = runtime;
			this.payments = payments;
		}

	}

	@Test
	void backsOffWithoutSpringKafka() {
		this.runner.withClassLoader(new FilteredClassLoader("org.springframework.kafka"))
			.run((context) -> assertThat(context).doesNotHaveBean(Producer.class)
				.doesNotHaveBean(WaterDropProducers.class));
	}

	@Test
	void backsOffWithoutBootsKafkaSupport() {
		new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(WaterDropAutoConfiguration.class, WaterDropLifecycleAutoConfiguration.class))
			.withClassLoader(new FilteredClassLoader(KafkaProperties.class))
			.run((context) -> assertThat(context).doesNotHaveBean(WaterDropProducers.class));
	}

	@Test
	void backsOffWithoutWaterDropCore() {
		this.runner.withClassLoader(new FilteredClassLoader(Producer.class))
			.run((context) -> assertThat(context).doesNotHaveBean(WaterDropProducers.class));
	}

	@Test
	void producersInheritTopLevelSettingsAndOverrideThem() {
		this.runner
			.withPropertyValues("waterdrop.max-payload-size=2000", "waterdrop.max-wait-timeout=20s",
					"waterdrop.statistics-interval=0", "waterdrop.polling.mode=thread",
					"waterdrop.polling.thread.poll-timeout=300ms", "waterdrop.polling.fd.max-time=40ms",
					"waterdrop.polling.slow-callback-threshold=10ms", "waterdrop.max-in-flight=500",
					"waterdrop.wait-on-queue-full=false", "waterdrop.wait-timeout-on-queue-full=3s",
					"waterdrop.reload-on-transaction-fatal-error=false", "waterdrop.producers.tuned.max-in-flight=50",
					"waterdrop.producers.tuned.wait-on-queue-full=true",
					"waterdrop.producers.tuned.wait-timeout-on-queue-full=1s",
					"waterdrop.producers.tuned.reload-on-transaction-fatal-error=true",
					"waterdrop.producers.tuned.max-payload-size=3000", "waterdrop.producers.tuned.max-wait-timeout=5s",
					"waterdrop.producers.tuned.statistics-interval=1s", "waterdrop.producers.tuned.polling.mode=fd",
					"waterdrop.producers.tuned.polling.fd.max-time=7ms",
					"waterdrop.producers.tuned.polling.slow-callback-threshold=2ms",
					"waterdrop.producers.plain.kafka.acks=1")
			.run((context) -> {
				ProducerConfig plain = context.getBean("plain", Producer.class).config();
				assertThat(plain.maxPayloadSize()).isEqualTo(2000);
				assertThat(plain.maxWaitTimeout()).isEqualTo(Duration.ofSeconds(20));
				assertThat(plain.statisticsInterval()).isZero();
				assertThat(plain.pollingMode()).isEqualTo(PollingMode.THREAD);
				assertThat(plain.pollTimeout()).isEqualTo(Duration.ofMillis(300));
				assertThat(plain.maxTime()).isEqualTo(Duration.ofMillis(40));
				assertThat(plain.slowCallbackThreshold()).isEqualTo(Duration.ofMillis(10));
				assertThat(plain.maxInFlight()).isEqualTo(500);
				assertThat(plain.waitOnQueueFull()).isFalse();
				assertThat(plain.waitTimeoutOnQueueFull()).isEqualTo(Duration.ofSeconds(3));
				assertThat(plain.reloadOnTransactionFatalError()).isFalse();
				ProducerConfig tuned = context.getBean("tuned", Producer.class).config();
				assertThat(tuned.maxPayloadSize()).isEqualTo(3000);
				assertThat(tuned.maxWaitTimeout()).isEqualTo(Duration.ofSeconds(5));
				assertThat(tuned.statisticsInterval()).isEqualTo(Duration.ofSeconds(1));
				assertThat(tuned.pollingMode()).isEqualTo(PollingMode.FD);
				assertThat(tuned.maxTime()).isEqualTo(Duration.ofMillis(7));
				assertThat(tuned.slowCallbackThreshold()).isEqualTo(Duration.ofMillis(2));
				assertThat(tuned.maxInFlight()).isEqualTo(50);
				assertThat(tuned.waitOnQueueFull()).isTrue();
				assertThat(tuned.waitTimeoutOnQueueFull()).isEqualTo(Duration.ofSeconds(1));
				assertThat(tuned.reloadOnTransactionFatalError()).isTrue();
			});
	}

	@Test
	void customizersApplyToEveryProducerInOrder() {
		this.runner.withUserConfiguration(Customizers.class)
			.withPropertyValues("waterdrop.producers.orders.max-payload-size=10",
					"waterdrop.producers.audit.max-payload-size=20")
			.run((context) -> {
				assertThat(context.getBean(Customizers.class).calls).containsExactly("first:orders",
						"second:orders", "first:audit", "second:audit");
				// "second" runs last, so its value wins over "first"'s and over the property.
				assertThat(context.getBean("orders", Producer.class).config().maxPayloadSize()).isEqualTo(222);
			});
	}

	private static FailureAnalysis analyze(AssertableApplicationContext context) {
		assertThat(context).hasFailed();
		// Without the environment: the value and origin of a property are not needed here.
		FailureAnalysis analysis = new WaterDropConfigurationFailureAnalyzer(null).analyze(context.getStartupFailure());
		assertThat(analysis).as("analysis of %s", context.getStartupFailure()).isNotNull();
		return analysis;
	}

	@Test
	void listenerBeansReceiveEventsOfTheProducersTheyApplyTo() {
		this.runner.withUserConfiguration(Listeners.class, UserProducer.class).run((context) -> {
			Listeners listeners = context.getBean(Listeners.class);
			assertThat(listeners.all).contains("producer.connected:myProducer");
			assertThat(listeners.onlyOrders).isEmpty();
		});
		this.runner.withUserConfiguration(Listeners.class)
			.withPropertyValues("waterdrop.producers.orders.max-payload-size=10",
					"waterdrop.producers.audit.max-payload-size=20")
			.run((context) -> {
				Listeners listeners = context.getBean(Listeners.class);
				assertThat(listeners.all).contains("producer.connected:orders", "producer.connected:audit");
				// Subscribed just before each producer connects: they see producer.configured too.
				assertThat(listeners.onlyOrders).containsExactly("producer.configured:orders",
						"producer.connected:orders");
				context.close();
				assertThat(listeners.onlyOrders).containsExactly("producer.configured:orders",
						"producer.connected:orders", "producer.closing:orders", "producer.closed:orders");
			});
	}

	@Configuration(proxyBeanMethods = false)
	static class QualifiedInjection {

		final Producer orders;

		QualifiedInjection(@Qualifier("orders") Producer orders) {
			this.orders = orders;
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UnqualifiedInjection {

		final Producer producer;

		UnqualifiedInjection(Producer producer) {
			this.producer = producer;
		}

	}

	/** Records the classes loaded through it, and loads them with its parent. */
	static final class RecordingClassLoader extends ClassLoader {

		final Set<String> loaded = ConcurrentHashMap.newKeySet();

		RecordingClassLoader(ClassLoader parent) {
			super(parent);
		}

		@Override
		protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
			this.loaded.add(name);
			return super.loadClass(name, resolve);
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UserProducer {

		@Bean
		Producer myProducer() {
			return new Producer(ProducerConfig.builder()
				.id("myProducer")
				.kafka("bootstrap.servers", TestBroker.bootstrapServers())
				.build());
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UserOrdersProducer {

		@Bean
		Producer orders() {
			return new Producer(ProducerConfig.builder()
				.id("orders")
				.maxPayloadSize(77)
				.kafka("bootstrap.servers", TestBroker.bootstrapServers())
				.build());
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UserRegistry {

		@Bean
		WaterDropProducers myProducers(@Qualifier("orders") Producer orders) {
			return new WaterDropProducers(Map.of("orders", orders));
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UserGlobalPoller {

		@Bean
		Poller waterdropPoller() {
			return new Poller(PollerConfig.named("mine"));
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class Customizers {

		final List<String> calls = new CopyOnWriteArrayList<>();

		@Bean
		@Order(2)
		WaterDropProducerCustomizer second() {
			return (name, builder) -> {
				this.calls.add("second:" + name);
				builder.maxPayloadSize(222);
			};
		}

		@Bean
		@Order(1)
		WaterDropProducerCustomizer first() {
			return (name, builder) -> {
				this.calls.add("first:" + name);
				builder.maxPayloadSize(111);
			};
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class Listeners {

		final List<String> all = new CopyOnWriteArrayList<>();

		final List<String> onlyOrders = new CopyOnWriteArrayList<>();

		@Bean
		WaterDropEventListener allListener() {
			return (event) -> {
				if (event instanceof ProducerEvent) {
					this.all.add(describe(event));
				}
			};
		}

		@Bean
		WaterDropEventListener ordersListener() {
			return new WaterDropEventListener() {

				@Override
				public void onEvent(Event event) {
					if (event instanceof ProducerEvent) {
						Listeners.this.onlyOrders.add(describe(event));
					}
				}

				@Override
				public boolean appliesTo(String producerName) {
					return "orders".equals(producerName);
				}

			};
		}

		private static String describe(Event event) {
			return event.name() + ":" + ((ProducerEvent) event).producerId();
		}

	}

}
