package io.waterdrop.autoconfigure;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.Banner;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.env.OriginTrackedMapPropertySource;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.kafka.autoconfigure.KafkaConnectionDetails;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.SslStoreBundle;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

import io.waterdrop.InvalidConfigurationException;
import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;

/**
 * Invalid configuration fails start-up with a description and an action. No broker is needed: start-up
 * fails before any client connects.
 */
@Timeout(60)
@ExtendWith(OutputCaptureExtension.class)
class WaterDropFailureAnalysisTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class, WaterDropLifecycleAutoConfiguration.class))
		.withPropertyValues("spring.kafka.bootstrap-servers=localhost:9001");

	@Test
	void unknownPoller() {
		FailureAnalysis analysis = analyze("waterdrop.pollers.critical.poll-timeout=1s",
				"waterdrop.producers.orders.polling.poller=nope");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.producers.orders.polling.poller")
			.contains("Value: \"nope\"")
			.contains("Origin: \"waterdrop.producers.orders.polling.poller\" from property source")
			.contains("Reason: no Poller named 'nope' is defined under waterdrop.pollers (defined: critical)");
		assertThat(analysis.getAction()).contains("Define it as waterdrop.pollers.nope")
			.contains("or remove waterdrop.producers.orders.polling.poller");
	}

	/** A typo in application.yml would leave the default in place, silently; it fails start-up, named. */
	@Test
	void anUnknownKeyInAConfigurationFile() {
		FailureAnalysis analysis = analyze(this.runner.withInitializer((context) -> configFile(context,
				Map.of("waterdrop.close-timout", "5s", "waterdrop.polling.mode", "thread", "waterdrop.in-memory",
						"false", "waterdrop.health.failure-window", "1m"))));
		assertThat(analysis.getDescription()).contains("Property: waterdrop.close-timout")
			.contains("Reason: is not a WaterDrop setting");
		assertThat(analysis.getAction()).startsWith("Correct or remove it; docs/configuration.md lists the settings");
	}

	/**
	 * A WATERDROP_* environment variable or a system property may be anything's, and a shared source (a config
	 * server's, DevTools' global settings) may hold a newer version's keys: only the application's files are
	 * checked.
	 */
	@Test
	void anUnknownKeyOutsideTheApplicationsConfigurationFilesIsLeftAlone() {
		this.runner.withPropertyValues("waterdrop.close-timout=5s")
			.withInitializer((context) -> {
				configFile(context, Map.of("waterdrop.close-timeout", "5s"));
				context.getEnvironment()
					.getPropertySources()
					.addLast(new OriginTrackedMapPropertySource("configserver:application.yml",
							Map.of("waterdrop.some-newer-setting", "on")));
			})
			.run((context) -> assertThat(context).hasNotFailed());
	}

	/**
	 * A Kafka setting is a free map key, which Boot accepts in two spellings ({@code kafka[linger.ms]} and
	 * {@code kafka.linger.ms}); when two sources spell one key differently, Boot binds the one that takes
	 * precedence and leaves the other unbound. That is an override (a profile's file, an environment variable
	 * in production), not an unknown key.
	 */
	@Test
	void aKafkaSettingSpelledDifferentlyInTwoSourcesIsAnOverride() {
		this.runner.withInitializer((context) -> {
			ConfigFiles.add(context, "application-prod.yml", Map.of("waterdrop.kafka[linger.ms]", "10",
					"waterdrop.producers.orders.kafka[linger.ms]", "20"));
			configFile(context, Map.of("waterdrop.kafka.linger.ms", "5", "waterdrop.producers.orders.kafka.linger.ms",
					"5", "waterdrop.producers.orders.kafka[acks]", "1"));
			context.getEnvironment()
				.getPropertySources()
				.addFirst(new SystemEnvironmentPropertySource("systemEnvironment",
						Map.of("WATERDROP_PRODUCERS_ORDERS_KAFKA_ACKS", "all")));
		}).run((context) -> {
			assertThat(context).hasNotFailed();
			WaterDropProperties properties = context.getBean(WaterDropProperties.class);
			assertThat(properties.getKafka()).containsEntry("linger.ms", "10");
			assertThat(properties.getProducers().get("orders").getKafka()).containsEntry("linger.ms", "20")
				.containsEntry("acks", "all");
		});
	}

	/** What Boot loads from application.yml: a property source that tracks origins, named after the file. */
	private static void configFile(ConfigurableApplicationContext context, Map<String, Object> properties) {
		ConfigFiles.add(context, "application.yml", properties);
	}

	/** Boot binds any class to {@code List<Class<? extends Throwable>>}: one that is no exception would never match. */
	@Test
	void aNonReloadableErrorThatIsNoException() {
		FailureAnalysis analysis = analyze("waterdrop.producers.orders.non-reloadable-errors=java.lang.String");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.producers.orders.non-reloadable-errors")
			.contains("Reason: names java.lang.String, which is not an exception class");
		assertThat(analysis.getAction()).contains("Name exception classes");
		assertThat(analyze("waterdrop.non-reloadable-errors=java.io.IOException,").getDescription())
			.contains("Property: waterdrop.non-reloadable-errors")
			.contains("Reason: has an empty element");
	}

	/** Kafka takes such a batch.size when it builds the client, then refuses every message. */
	@Test
	void aBatchSizeAboveTheBufferMemory() {
		FailureAnalysis analysis = analyze("waterdrop.kafka.batch.size=67108864");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.kafka.batch.size")
			.contains("Reason: is 67108864 bytes, above buffer.memory (33554432 bytes, Kafka's default)");
		assertThat(analysis.getAction()).isEqualTo("Lower batch.size, or raise buffer.memory above it.");
	}

	/** Kafka refuses such a delivery.timeout.ms when it builds the client: a template's, at its first message. */
	@Test
	void aDeliveryTimeoutBelowLingerAndRequestTimeout() {
		FailureAnalysis analysis = analyze("waterdrop.templates.tenant.kafka.delivery.timeout.ms=20000",
				"waterdrop.templates.tenant.kafka.linger.ms=10");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.templates.tenant.kafka.delivery.timeout.ms")
			.contains("Reason: is 20000 ms, below linger.ms + request.timeout.ms (10 + 30000 ms), which Kafka's "
					+ "client refuses");
		assertThat(analysis.getAction())
			.isEqualTo("Raise delivery.timeout.ms to at least 30010 ms, or lower linger.ms or request.timeout.ms.");
	}

	/** Kafka refuses these when it builds the client: a template's, at its first message. */
	@Test
	void aBootstrapAddressWithoutAPortOrAnInterceptorNotOnTheClassPath() {
		FailureAnalysis analysis = analyze("waterdrop.templates.tenant.kafka.bootstrap.servers=kafka-1:9092,kafka-2");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.templates.tenant.kafka.bootstrap.servers")
			.contains("Reason: has 'kafka-2', which is not host:port, and Kafka's client refuses it");
		assertThat(analysis.getAction()).startsWith("Give each broker as host:port");
		analysis = analyze("waterdrop.templates.tenant.kafka.interceptor.classes=com.example.Missing");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.templates.tenant.kafka.interceptor.classes")
			.contains("Reason: names class com.example.Missing, which cannot be loaded");
	}

	/** An address of a KafkaConnectionDetails bean is named after the bean, not after spring.kafka. */
	@Test
	void aBootstrapAddressFromConnectionDetailsIsNamedAfterTheBean() {
		FailureAnalysis analysis = analyze(this.runner.withBean("brokers", KafkaConnectionDetails.class,
				() -> () -> List.of("no-port-here")));
		assertThat(analysis.getDescription())
			.contains("Property: KafkaConnectionDetails bean 'brokers' (Kafka's bootstrap.servers)")
			.contains("Reason: has 'no-port-here', which is not host:port");
	}

	/**
	 * Boot's engine factory of an SSL bundle reads no key or trust store settings: a store set in a later layer
	 * would be ignored, silently. Boot refuses a bundle beside its own store properties likewise.
	 */
	@Test
	void aTrustStoreBesideTheSslBundleOfTheConnectionDetails() {
		KafkaConnectionDetails details = new KafkaConnectionDetails() {

			@Override
			public List<String> getBootstrapServers() {
				return List.of("localhost:9001");
			}

			@Override
			public SslBundle getSslBundle() {
				return SslBundle.of(SslStoreBundle.NONE);
			}

		};
		FailureAnalysis analysis = analyze(this.runner.withBean("brokers", KafkaConnectionDetails.class, () -> details)
			.withPropertyValues("waterdrop.kafka.security.protocol=SSL",
					"waterdrop.producers.orders.kafka.ssl.truststore.location=/etc/kafka/truststore.jks"));
		assertThat(analysis.getDescription())
			.contains("Property: waterdrop.producers.orders.kafka.ssl.truststore.location")
			.contains("Reason: is ignored beside the SSL bundle of KafkaConnectionDetails bean 'brokers'");
		assertThat(analysis.getAction()).startsWith("Use either the SSL bundle or the key and trust store settings");
	}

	/** A secret set at a wrong place is named, and its value is not shown (operations.md, "Secrets stay secret"). */
	@Test
	void aMisplacedSecretIsNamedWithoutItsValue() {
		String jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\" "
				+ "password=\"s3cr3t-in-report\";";
		FailureAnalysis analysis = analyze("waterdrop.producers.orders.sasl.jaas.config=" + jaas);
		assertThat(analysis.getDescription()).contains("Property: waterdrop.producers.orders.sasl.jaas.config")
			.contains("Value: \"******\"")
			.doesNotContain("s3cr3t-in-report");
	}

	@Test
	void pollerOnThreadModeProducer() {
		FailureAnalysis analysis = analyze("waterdrop.pollers.critical.poll-timeout=1s",
				"waterdrop.producers.legacy.polling.mode=thread", "waterdrop.producers.legacy.polling.poller=critical");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.producers.legacy.polling.poller")
			.contains("names Poller 'critical' but polling.mode is 'thread' "
					+ "(waterdrop.producers.legacy.polling.mode); Pollers serve fd-mode producers only");
		assertThat(analysis.getAction())
			.isEqualTo("Remove waterdrop.producers.legacy.polling.poller, or set polling.mode of this producer to fd.");
	}

	@Test
	void pollerOnProducerInheritingThreadMode() {
		FailureAnalysis analysis = analyze("waterdrop.polling.mode=thread", "waterdrop.pollers.critical.poll-timeout=1s",
				"waterdrop.producers.orders.polling.poller=critical");
		assertThat(analysis.getDescription()).contains("(waterdrop.polling.mode)");
	}

	/** The configuration metadata cannot flag a typo inside a map entry: start-up does. */
	@Test
	void misspeltKeyInAProducerEntry() {
		FailureAnalysis analysis = analyze("waterdrop.producers.payments.kafka.transactional.id=pay",
				"waterdrop.producers.payments.pool-szie=4");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.producers.payments.pool-szie")
			.contains("is not a setting of a waterdrop.producers entry");
		assertThat(analysis.getAction()).contains("Correct or remove it").contains("pool-size");
	}

	/** An empty value means "unset" to Boot (the default applies), not an unknown key. */
	@Test
	void aKnownKeyWithAnEmptyValueIsNotTakenForAnUnknownOne() {
		this.runner
			.withPropertyValues("waterdrop.producers.orders.max-in-flight=10",
					"waterdrop.producers.orders.close-timeout=", "waterdrop.producers.orders.polling.mode=",
					"waterdrop.pollers.critical=")
			.run((context) -> assertThat(context).hasNotFailed().hasBean("orders").hasBean("criticalPoller"));
	}

	@Test
	void misspeltKeysInPollerAndTemplateEntries() {
		assertThat(analyze("waterdrop.pollers.critical.pol-timeout=1s").getDescription())
			.contains("Property: waterdrop.pollers.critical.pol-timeout");
		assertThat(analyze("waterdrop.templates.tenant.max-in-fligth=10").getDescription())
			.contains("Property: waterdrop.templates.tenant.max-in-fligth");
	}

	/** Entries may be named with capitals (orderEvents): the value is found as Boot's binding found it. */
	@Test
	void anInvalidValueOfAnEntryWithCapitalsIsShownWithItsValue() {
		assertThat(analyze("waterdrop.producers.orderEvents.max-in-flight=0").getDescription())
			.contains("Property: waterdrop.producers.orderEvents.max-in-flight")
			.contains("Value: \"0\"")
			.contains("Origin: \"waterdrop.producers.orderEvents.max-in-flight\" from property source");
	}

	/** A name with a dot is one entry only in brackets: waterdrop.producers.tenant.eu would be the entry tenant. */
	@Test
	void anInvalidValueOfAnEntryWithADotIsReportedUnderItsOwnProperty() {
		assertThat(analyze("waterdrop.producers[tenant.eu].max-in-flight=0").getDescription())
			.contains("Property: waterdrop.producers[tenant.eu].max-in-flight")
			.contains("Value: \"0\"");
		assertThat(analyze("waterdrop.pollers[fast.eu].backoff-min=1s", "waterdrop.pollers[fast.eu].backoff-max=10ms")
			.getDescription()).contains("Property: waterdrop.pollers[fast.eu].backoff-max")
			.contains("Value: \"10ms\"");
	}

	@Test
	void zeroMaxTimeOnAProducer() {
		FailureAnalysis analysis = analyze("waterdrop.producers.orders.polling.fd.max-time=0");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.producers.orders.polling.fd.max-time")
			.contains("Reason: must be at least 1 ms but was 0 ms");
		assertThat(analysis.getAction()).isEqualTo("Set it to 1ms or more.");
	}

	@Test
	void negativeMaxTimeInheritedFromTheTopLevel() {
		FailureAnalysis analysis = analyze("waterdrop.polling.fd.max-time=-5ms");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.polling.fd.max-time")
			.contains("Value: \"-5ms\"")
			.contains("must be at least 1 ms but was -5 ms");
	}

	@Test
	void invalidPollerSetting() {
		FailureAnalysis analysis = analyze("waterdrop.pollers.critical.backoff-min=1s",
				"waterdrop.pollers.critical.backoff-max=10ms");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.pollers.critical.backoff-max")
			.contains("must be at least 1000 ms but was 10 ms");
	}

	@Test
	void negativeCloseTimeout() {
		FailureAnalysis analysis = analyze("waterdrop.producers.orders.close-timeout=-1s");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.producers.orders.close-timeout")
			.contains("must not be negative");
	}

	@Test
	void emptyProducerName() {
		FailureAnalysis analysis = analyze("waterdrop.producers[ ].max-payload-size=10");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.producers\n")
			.contains("an entry has an empty name");
		assertThat(analysis.getAction()).isEqualTo("Give every entry a name, e.g. waterdrop.producers.orders.");
	}

	@Test
	void fdSettingOnAThreadModeProducer() {
		FailureAnalysis analysis = analyze("waterdrop.producers.legacy.polling.mode=thread",
				"waterdrop.producers.legacy.polling.fd.max-time=200ms");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.producers.legacy.polling.fd.max-time")
			.contains("applies to fd mode only, but polling.mode is 'thread' (waterdrop.producers.legacy.polling.mode)");
		assertThat(analyze("waterdrop.producers.legacy.polling.mode=thread",
				"waterdrop.producers.legacy.polling.fd.min-time=5ms").getDescription())
			.contains("Property: waterdrop.producers.legacy.polling.fd.min-time")
			.contains("applies to fd mode only");
	}

	/** Read by pools alone: on a single producer it would be ignored, a negative value too. */
	@Test
	void poolWaitTimeoutOnAnEntryWithoutAPool() {
		FailureAnalysis analysis = analyze("waterdrop.producers.orders.pool-wait-timeout=-5s");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.producers.orders.pool-wait-timeout")
			.contains("applies to transactional pools only, but this entry has no pool-size");
		assertThat(analysis.getAction()).contains("waterdrop.producers.orders.pool-size");
	}

	@Test
	void threadSettingOnAnFdModeProducer() {
		FailureAnalysis analysis = analyze("waterdrop.producers.orders.polling.thread.poll-timeout=2s");
		assertThat(analysis.getDescription())
			.contains("Property: waterdrop.producers.orders.polling.thread.poll-timeout")
			.contains("applies to thread mode only, but polling.mode is 'fd' (waterdrop.polling.mode)");
	}

	@Test
	void serializerThatCannotBeLoaded() {
		FailureAnalysis analysis = analyze("waterdrop.producers.orders.kafka.value.serializer=com.example.Json");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.producers.orders.kafka.value.serializer")
			.contains("Value: \"com.example.Json\"")
			.contains("names class com.example.Json, which cannot be loaded");
		assertThat(analysis.getAction()).contains("Check the class name");
	}

	/** As spring-kafka's JsonSerializer on Boot 4 without Jackson 2: the action names what is missing. */
	@Test
	void serializerMissingADependency() {
		FailureAnalysis analysis = analyze("waterdrop.producers.orders.kafka.value.serializer="
				+ NeedsAMissingClass.class.getName());
		assertThat(analysis.getDescription()).contains("which could not be created")
			.contains("com/fasterxml/jackson/databind/ObjectMapper");
		assertThat(analysis.getAction()).startsWith("Add the jar with the missing class")
			.contains("NeedsAMissingClass");
	}

	/** A serializer built against another version of a library it calls: the jar is there, its version not. */
	@Test
	void serializerBuiltAgainstAnotherVersionOfALibrary() {
		FailureAnalysis analysis = analyze("waterdrop.producers.orders.kafka.value.serializer="
				+ NeedsAnotherVersion.class.getName());
		assertThat(analysis.getAction()).startsWith("Use versions of NeedsAnotherVersion's jar");
	}

	/** A serializer whose creation fails as one built against another version of a library does. */
	public static class NeedsAnotherVersion implements org.apache.kafka.common.serialization.Serializer<Object> {

		public NeedsAnotherVersion() {
			throw new NoSuchMethodError("'void com.example.Library.gone()'");
		}

		@Override
		public byte[] serialize(String topic, Object data) {
			return new byte[0];
		}

	}

	/** A serializer whose creation fails as one compiled against a library absent at run time does. */
	public static class NeedsAMissingClass implements org.apache.kafka.common.serialization.Serializer<Object> {

		public NeedsAMissingClass() {
			throw new NoClassDefFoundError("com/fasterxml/jackson/databind/ObjectMapper");
		}

		@Override
		public byte[] serialize(String topic, Object data) {
			return new byte[0];
		}

	}

	@Test
	void sharedSerializerThatIsNoSerializer() {
		FailureAnalysis analysis = analyze("waterdrop.kafka.key.serializer=java.lang.String");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.kafka.key.serializer")
			.contains("names java.lang.String, which is not a Kafka Serializer");
	}

	/**
	 * WaterDrop's default (JSON with Jackson) refusing the settings is reported as the producer's own serializer
	 * setting: no setting chose it, and a producer's name and side tell which one refused.
	 */
	@Test
	void aDefaultSerializerRefusingTheSettingsIsReportedUnderARealProperty() {
		FailureAnalysis analysis = analyze(
				"waterdrop.producers.orders.kafka.spring.json.type.mapping=order:com.nope.Order");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.producers.orders.kafka.key.serializer")
			.contains("JacksonJsonSerializer refused the producer's Kafka settings");
	}

	@Test
	void bootsSerializerSettingIsReportedUnderItsOwnName() {
		FailureAnalysis analysis = analyze("spring.kafka.producer.value-serializer=java.lang.String");
		assertThat(analysis.getDescription()).contains("Property: spring.kafka.producer.value-serializer")
			.contains("Value: \"java.lang.String\"")
			.contains("names java.lang.String, which is not a Kafka Serializer");
	}

	@Test
	void transactionalIdSharedByProducers() {
		FailureAnalysis analysis = analyze("waterdrop.kafka.transactional.id=tx",
				"waterdrop.producers.orders.max-payload-size=10", "waterdrop.producers.audit.max-payload-size=10");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.kafka.transactional.id")
			.contains("is shared by the producers orders, audit, but every Kafka client needs a transactional.id "
					+ "of its own");
		assertThat(analysis.getAction())
			.isEqualTo("Set it per producer, as waterdrop.producers.<name>.kafka.transactional.id, or remove it.");
	}

	/** docs' transfers-${HOSTNAME} where HOSTNAME is not exported: Spring keeps the text, every instance the id. */
	@Test
	void transactionalIdWithAPlaceholderNothingResolved() {
		FailureAnalysis analysis = analyze(
				"waterdrop.producers.transfers.kafka.transactional.id=transfers-${WATERDROP_UNSET_INSTANCE}",
				"waterdrop.producers.transfers.pool-size=2");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.producers.transfers.kafka.transactional.id")
			.contains("nothing resolved its placeholder ${WATERDROP_UNSET_INSTANCE}")
			.contains("every instance started so would share this id and fence the others");
		assertThat(analysis.getAction()).startsWith("Make WATERDROP_UNSET_INSTANCE known to the application");
		// Resolved, the producers are made (not connected: no lifecycle, no broker).
		new ApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class))
			.withPropertyValues("instance=host-a",
					"waterdrop.producers.transfers.kafka.transactional.id=transfers-${instance}")
			.run((context) -> assertThat(context.getBean("transfers", Producer.class).config().kafka())
				.containsEntry("transactional.id", "transfers-host-a"));
	}

	@Test
	void transactionalIdSharedThroughBootsProducerProperties() {
		FailureAnalysis analysis = analyze("spring.kafka.producer.properties.transactional.id=tx",
				"waterdrop.producers.orders.max-payload-size=10", "waterdrop.producers.audit.max-payload-size=10");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.producers.audit.kafka.transactional.id")
			.contains("gives producer 'audit' the transactional.id 'tx', which producer 'orders' has too");
		assertThat(analysis.getAction()).contains("Give every producer a transactional.id of its own")
			.contains("spring.kafka.producer.properties");
	}

	@Test
	void clientIdOfTwoEntries() {
		FailureAnalysis analysis = analyze("waterdrop.producers.orders.kafka.client.id=same",
				"waterdrop.producers.audit.kafka.client.id=same");
		assertThat(analysis.getDescription())
			.containsPattern("Property: waterdrop.producers.(orders|audit).kafka.client.id")
			.containsPattern("the client.id 'same', which producer '(orders|audit)' has too");
		assertThat(analysis.getAction()).contains("Give every producer a client.id of its own");
	}

	@Test
	void clientIdOfAnEntryEqualToAnotherEntrysName() {
		FailureAnalysis analysis = analyze("waterdrop.producers.orders.kafka.client.id=audit",
				"waterdrop.producers.audit.max-payload-size=10");
		assertThat(analysis.getDescription()).containsPattern("the client.id 'audit', which producer '(orders|audit)'")
			.contains("Property: waterdrop.producers.orders.kafka.client.id")
			.contains("Origin: \"waterdrop.producers.orders.kafka.client.id\"");
	}

	@Test
	void transactionalIdOfAnEntryEqualToAPoolMembers() {
		FailureAnalysis analysis = analyze("waterdrop.producers.payments.kafka.transactional.id=pay",
				"waterdrop.producers.payments.pool-size=2", "waterdrop.producers.refunds.kafka.transactional.id=pay-1");
		assertThat(analysis.getDescription())
			.containsPattern("transactional.id 'pay-1', which producer '(payments-1|refunds)' has too");
	}

	@Test
	void pollerWhoseBeanNameIsTaken() {
		FailureAnalysis analysis = analyze("waterdrop.pollers.waterdrop.poll-timeout=1s");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.pollers.waterdrop")
			.contains("its bean name 'waterdropPoller' is already taken by the global Poller bean");
	}

	@Test
	void producerNamedLikeAPollerBean() {
		FailureAnalysis analysis = analyze("waterdrop.pollers.critical.poll-timeout=1s",
				"waterdrop.producers.criticalPoller.max-payload-size=10");
		assertThat(analysis.getDescription()).contains("Property: waterdrop.producers.criticalPoller")
			.contains("its bean name 'criticalPoller' is already taken by waterdrop.pollers.critical");
	}

	@Test
	void invalidValueLeftByACustomizer() {
		FailureAnalysis analysis = analyze(this.runner.withUserConfiguration(BrokenCustomizer.class));
		assertThat(analysis.getDescription())
			.contains("Property: waterdrop.producers.waterdropProducer.max-payload-size")
			.contains("(as left by the WaterDropProducerCustomizer beans)");
		assertThat(analysis.getAction()).startsWith("Fix the WaterDropProducerCustomizer that sets it.");
	}

	@Test
	void kafkaSettingWithoutAValueLeftByACustomizer() {
		FailureAnalysis analysis = analyze(this.runner.withBean(WaterDropProducerCustomizer.class,
				() -> (name, builder) -> builder.kafka("acks", null)));
		assertThat(analysis.getDescription())
			.contains("Property: waterdrop.producers.waterdropProducer.kafka.acks")
			.contains("has no value (as left by the WaterDropProducerCustomizer beans)");
	}

	@Test
	void startupFailureIsReportedWithDescriptionAndAction(CapturedOutput output) {
		assertThatException().isThrownBy(() -> run("--waterdrop.producers.orders.polling.poller=nope"));
		assertThat(output).contains("APPLICATION FAILED TO START")
			.contains("Invalid WaterDrop configuration:")
			.contains("Property: waterdrop.producers.orders.polling.poller")
			.contains("Reason: no Poller named 'nope' is defined under waterdrop.pollers (defined: none)")
			.contains("Action:");
	}

	@Test
	void emptyYamlMapDefinesNoPollerAndTheActionSaysWhatToWrite(CapturedOutput output) {
		assertThatException().isThrownBy(() -> run("--spring.config.location=classpath:issue-verbatim.yml"));
		assertThat(output).contains("Property: waterdrop.producers.orders.polling.poller")
			.contains("in YAML 'critical:' under waterdrop.pollers, not 'critical: {}', "
					+ "which Spring Boot's YAML loader drops");
	}

	/** The check sees the files Boot loads as they are named: here an application.yml with a typo. */
	@Test
	void aTypoInTheApplicationsYamlFailsStartUpNamingTheKeyAndTheFile(CapturedOutput output) {
		assertThatException().isThrownBy(() -> run("--spring.config.location=classpath:typo.yml"));
		assertThat(output).contains("Property: waterdrop.close-timout")
			.contains("Reason: is not a WaterDrop setting")
			.contains("typo.yml");
	}

	@Test
	void entryWithAValueInsteadOfSettings(CapturedOutput output) {
		assertThatException().isThrownBy(() -> run("--waterdrop.pollers.critical=fast"));
		assertThat(output).contains("Failed to bind properties under 'waterdrop.pollers.critical'")
			.contains("an entry takes settings such as poll-timeout or kafka.acks, not the value 'fast'");
	}

	/** {@code polling: thread} for {@code polling.mode: thread}: the action says what to write. */
	@Test
	void pollingWithAModeInsteadOfSettings(CapturedOutput output) {
		assertThatException().isThrownBy(() -> run("--waterdrop.producers.orders.polling=thread"));
		assertThatException().isThrownBy(() -> run("--waterdrop.polling=fd"));
		assertThat(output).contains("Failed to bind properties under 'waterdrop.producers.orders.polling'")
			.contains("polling takes settings such as mode or fd.max-time, not the value 'thread': write polling.mode: "
					+ "thread")
			.contains("Failed to bind properties under 'waterdrop.polling'")
			.contains("not the value 'fd': write polling.mode: fd");
	}

	@Test
	void unknownModeIsReportedByBootsBindFailureAnalysisWithTheValidValues(CapturedOutput output) {
		assertThatException().isThrownBy(() -> run("--waterdrop.producers.orders.polling.mode=select"));
		assertThat(output).contains("APPLICATION FAILED TO START")
			.contains("Failed to bind properties under 'waterdrop.producers.orders.polling.mode' to "
					+ "io.waterdrop.polling.PollingMode")
			.contains("Value: \"select\"")
			.contains("The following values are valid:")
			.contains("FD")
			.contains("THREAD");
	}

	private FailureAnalysis analyze(String... properties) {
		return analyze(this.runner.withPropertyValues(properties));
	}

	private static FailureAnalysis analyze(ApplicationContextRunner runner) {
		Environment[] environment = new Environment[1];
		FailureAnalysis[] analysis = new FailureAnalysis[1];
		runner.withInitializer((context) -> environment[0] = context.getEnvironment())
			.run((context) -> analysis[0] = analyze(context.getStartupFailure(), environment[0]));
		return analysis[0];
	}

	private static FailureAnalysis analyze(Throwable failure, Environment environment) {
		assertThat(failure).isNotNull();
		FailureAnalysis analysis = new WaterDropConfigurationFailureAnalyzer(environment).analyze(failure);
		assertThat(analysis).as("analysis of %s", failure).isNotNull();
		assertThat(analysis.getCause()).isInstanceOf(InvalidConfigurationException.class);
		return analysis;
	}

	private static void run(String... args) {
		new SpringApplicationBuilder(MinimalApplication.class).web(WebApplicationType.NONE)
			.properties("spring.kafka.bootstrap-servers=localhost:9001")
			.bannerMode(Banner.Mode.OFF)
			.logStartupInfo(false)
			.registerShutdownHook(false)
			.run(args)
			.close();
	}

	@SpringBootConfiguration
	@EnableAutoConfiguration
	static class MinimalApplication {

	}

	@Configuration(proxyBeanMethods = false)
	static class BrokenCustomizer {

		@Bean
		WaterDropProducerCustomizer zeroPayload() {
			return (name, builder) -> builder.maxPayloadSize(0);
		}

	}

}
