package io.waterdrop;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

import io.waterdrop.instrumentation.Event;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.instrumentation.micrometer.WaterDropMetrics;
import io.waterdrop.polling.Poller;
import io.waterdrop.testing.KafkaTestBroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Producers configured with SASL and SSL secrets (a JAAS config with a password, keystore, key and
 * truststore passwords, an OAuth client secret) fail in every way a misconfigured or unreachable cluster
 * makes them fail. None of the secrets appears in what WaterDrop produces: exception messages and stack
 * traces, event {@code toString()}s, {@code Producer.toString()}, {@code ProducerConfig.toString()},
 * {@link InvalidConfigurationException}s, meter names and tags, or WaterDrop's own log output.
 * <p>
 * kafka-clients' own log output is outside WaterDrop's control; it is captured and reported here (Kafka
 * prints password-typed settings as {@code [hidden]}), not asserted.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class SecretsTests {

	private static final String SASL_PASSWORD = secret("sasl-password");

	private static final String JAAS_CONFIG = "org.apache.kafka.common.security.plain.PlainLoginModule required "
			+ "username=\"alice\" password=\"" + SASL_PASSWORD + "\";";

	private static final String KEYSTORE_PASSWORD = secret("keystore-password");

	private static final String KEY_PASSWORD = secret("key-password");

	private static final String TRUSTSTORE_PASSWORD = secret("truststore-password");

	private static final String OAUTH_CLIENT_SECRET = secret("oauth-client-secret");

	private static final List<String> SECRETS = List.of(SASL_PASSWORD, KEYSTORE_PASSWORD, KEY_PASSWORD,
			TRUSTSTORE_PASSWORD, OAUTH_CLIENT_SECRET);

	/** Everything WaterDrop said: exception texts, events, toStrings, meters, its log lines. */
	private final List<String> ours = new CopyOnWriteArrayList<>();

	private final List<Event> events = new CopyOnWriteArrayList<>();

	private final List<Producer> created = new ArrayList<>();

	private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

	private Level waterDropLevel;

	private Level kafkaLevel;

	@BeforeEach
	void captureLogs() {
		LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
		this.logs.setContext(context);
		this.logs.start();
		context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).addAppender(this.logs);
		Logger waterDrop = context.getLogger("io.waterdrop");
		Logger kafka = context.getLogger("org.apache.kafka");
		this.waterDropLevel = waterDrop.getLevel();
		this.kafkaLevel = kafka.getLevel();
		// Everything WaterDrop logs, and Kafka's INFO lines (its configuration dump among them).
		waterDrop.setLevel(Level.TRACE);
		kafka.setLevel(Level.INFO);
	}

	@AfterEach
	void restoreLogs() {
		for (Producer producer : this.created) {
			producer.closeForcefully();
		}
		LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
		context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).detachAppender(this.logs);
		context.getLogger("io.waterdrop").setLevel(this.waterDropLevel);
		context.getLogger("org.apache.kafka").setLevel(this.kafkaLevel);
	}

	@Test
	void secretsNeverAppearInWhatWaterDropReports() throws Exception {
		// 1. SASL against a listener that speaks no SASL: the client never gets metadata.
		Producer sasl = create(withSecrets("sasl-unreachable")
			.kafka(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT")
			.kafka(SaslConfigs.SASL_MECHANISM, "PLAIN")
			.kafka(SaslConfigs.SASL_JAAS_CONFIG, JAAS_CONFIG)
			.statisticsInterval(Duration.ofMillis(100)));
		record(catchThrowable(() -> sasl.produceSync(Message.of("secrets", "sync"))));
		DeliveryHandle handle = sasl.produceAsync(Message.of("secrets", "async"),
				(report, failure) -> record(failure));
		record(catchThrowable(() -> handle.await(Duration.ofSeconds(30))));
		record(catchThrowable(() -> sasl.produceSync(Message.builder("secrets").payload("p").partition(0).build())));

		// 2. SSL with stores that do not exist: the client cannot even be created.
		Producer ssl = create(withSecrets("ssl-missing-stores")
			.kafka(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SSL")
			.kafka(SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG, "/nonexistent/keystore.jks")
			.kafka(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, "/nonexistent/truststore.jks"));
		record(catchThrowable(() -> ssl.produceSync(Message.of("secrets", "ssl"))));
		record(catchThrowable(ssl::connect));
		record(catchThrowable(() -> ssl.produceAsync(Message.of("secrets", "ssl async"))));

		// 3. A JAAS config Kafka cannot parse, the password inside it.
		Producer malformed = create(withSecrets("jaas-malformed")
			.kafka(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT")
			.kafka(SaslConfigs.SASL_MECHANISM, "PLAIN")
			.kafka(SaslConfigs.SASL_JAAS_CONFIG, "PlainLoginModule password=\"" + SASL_PASSWORD + "\""));
		record(catchThrowable(() -> malformed.produceSync(Message.of("secrets", "jaas"))));

		// 4. OAuth client credentials with a token endpoint nobody serves.
		Producer oauth = create(withSecrets("oauth")
			.kafka(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT")
			.kafka(SaslConfigs.SASL_MECHANISM, "OAUTHBEARER")
			.kafka(SaslConfigs.SASL_JAAS_CONFIG,
					"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=\"app\" "
							+ "clientSecret=\"" + OAUTH_CLIENT_SECRET + "\";")
			.kafka(SaslConfigs.SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL, "http://127.0.0.1:1/token")
			.kafka("sasl.oauthbearer.client.credentials.client.secret", OAUTH_CLIENT_SECRET)
			.kafka(SaslConfigs.SASL_LOGIN_CALLBACK_HANDLER_CLASS,
					"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler"));
		record(catchThrowable(() -> oauth.produceSync(Message.of("secrets", "oauth"))));

		// 5. A WaterDrop setting that is invalid, next to the secrets.
		record(catchThrowable(() -> withSecrets("invalid").maxInFlight(0).build()));
		Throwable invalid = catchThrowable(() -> withSecrets("invalid").maxWaitTimeout(Duration.ZERO).build());
		assertThat(invalid).isInstanceOf(InvalidConfigurationException.class);
		record(invalid);
		this.ours.add(((InvalidConfigurationException) invalid).action());

		// 6. What the producers say about themselves, and their meters.
		SimpleMeterRegistry registry = new SimpleMeterRegistry();
		new WaterDropMetrics(this.created, List.of(Poller.global())).bindTo(registry);
		for (Meter meter : registry.getMeters()) {
			this.ours.add(meter.getId().toString());
		}
		for (Producer producer : this.created) {
			this.ours.add(producer.toString());
			this.ours.add(producer.config().toString());
			this.ours.add(String.valueOf(producer.pollerName()));
		}
		for (Producer producer : this.created) {
			record(catchThrowable(producer::close));
		}

		for (Event event : this.events) {
			this.ours.add(event.toString());
			if (event instanceof ProducerEvent.ErrorOccurred error) {
				record(error.error());
			}
		}
		List<String> kafkaLines = new ArrayList<>();
		for (ILoggingEvent line : this.logs.list) {
			String text = line.getLoggerName() + " " + line.getFormattedMessage()
					+ ((line.getThrowableProxy() != null) ? "\n" + ThrowableProxyUtil.asString(line.getThrowableProxy()) : "");
			(line.getLoggerName().startsWith("io.waterdrop") ? this.ours : kafkaLines).add(text);
		}

		assertThat(this.events).as("events published").isNotEmpty();
		assertThat(this.events).filteredOn(ProducerEvent.ErrorOccurred.class::isInstance).hasSizeGreaterThanOrEqualTo(5);
		for (String secret : SECRETS) {
			assertThat(this.ours).as("WaterDrop's texts mentioning secret %s", secret)
				.noneMatch((text) -> text.contains(secret));
		}
		assertThat(this.ours).noneMatch((text) -> text.contains(JAAS_CONFIG));
		long kafkaLeaks = kafkaLines.stream().filter((line) -> SECRETS.stream().anyMatch(line::contains)).count();
		System.out.println("Secrets: checked " + this.ours.size() + " WaterDrop texts (" + this.events.size()
				+ " events); kafka-clients logged " + kafkaLines.size() + " lines, " + kafkaLeaks
				+ " of them with a secret (outside WaterDrop's control); failures seen: " + this.events.stream()
					.filter(ProducerEvent.ErrorOccurred.class::isInstance)
					.map((event) -> ((ProducerEvent.ErrorOccurred) event).error())
					.map((error) -> {
						Throwable root = error;
						while (root.getCause() != null) {
							root = root.getCause();
						}
						return error.getClass().getSimpleName() + "/" + root.getClass().getSimpleName();
					})
					.distinct()
					.toList());
	}

	/** A producer whose settings carry every secret, ready for one way of failing. */
	private static ProducerConfig.Builder withSecrets(String name) {
		return ProducerConfig.builder()
			.id(TestProducers.uniqueId("secrets-" + name))
			.kafka(KafkaTestBroker.clientProperties())
			.kafka(SslConfigs.SSL_KEYSTORE_PASSWORD_CONFIG, KEYSTORE_PASSWORD)
			.kafka(SslConfigs.SSL_KEY_PASSWORD_CONFIG, KEY_PASSWORD)
			.kafka(SslConfigs.SSL_TRUSTSTORE_PASSWORD_CONFIG, TRUSTSTORE_PASSWORD)
			.kafka(org.apache.kafka.clients.producer.ProducerConfig.MAX_BLOCK_MS_CONFIG, 1_500)
			.kafka(org.apache.kafka.clients.producer.ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 1_000)
			.kafka(org.apache.kafka.clients.producer.ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 2_000)
			.kafka(org.apache.kafka.clients.producer.ProducerConfig.LINGER_MS_CONFIG, 0)
			.maxWaitTimeout(Duration.ofSeconds(20));
	}

	private Producer create(ProducerConfig.Builder config) {
		Producer producer = new Producer(config.build());
		producer.monitor().subscribe(this.events::add);
		this.created.add(producer);
		return producer;
	}

	/** Keeps a throwable's whole text: messages, causes, suppressed ones and stack traces. */
	private void record(Throwable error) {
		if (error == null) {
			return;
		}
		StringWriter text = new StringWriter();
		error.printStackTrace(new PrintWriter(text));
		this.ours.add(text.toString());
		this.ours.add(error.toString());
	}

	private static String secret(String what) {
		return what + "-" + UUID.randomUUID();
	}

}
