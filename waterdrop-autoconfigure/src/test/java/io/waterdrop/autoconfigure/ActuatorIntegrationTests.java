package io.waterdrop.autoconfigure;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.jayway.jsonpath.DocumentContext;
import com.jayway.jsonpath.JsonPath;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.waterdrop.DeliveryHandle;
import io.waterdrop.Message;
import io.waterdrop.Producer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The metrics, health and {@code waterdrop} endpoint of a web application over HTTP, against a real broker:
 * values after producing, secrets never shown, and a closed producer's meters and health entry gone.
 */
@SpringBootTest(classes = ActuatorIntegrationTests.Application.class, webEnvironment = WebEnvironment.RANDOM_PORT,
		properties = { "management.endpoints.web.exposure.include=health,metrics,waterdrop",
				"management.endpoint.waterdrop.show-values=always",
				"management.endpoint.health.show-details=always",
				"spring.kafka.properties.sasl.jaas.config=" + ActuatorIntegrationTests.JAAS,
				"spring.kafka.security.protocol=PLAINTEXT", "waterdrop.pollers.critical.poll-timeout=1s",
				"waterdrop.producers.orders.polling.poller=critical",
				"waterdrop.producers.orders.polling.fd.max-time=200ms",
				"waterdrop.producers.orders.kafka.ssl.key.password=" + ActuatorIntegrationTests.KEY_PASSWORD,
				"waterdrop.producers.audit.polling.fd.max-time=50ms",
				"waterdrop.producers.legacy.polling.mode=thread" })
@DirtiesContext
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(120)
class ActuatorIntegrationTests {

	static final String JAAS_PASSWORD = "jaas-pa55word";

	static final String JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required "
			+ "username=\"alice\" password=\"" + JAAS_PASSWORD + "\";";

	static final String KEY_PASSWORD = "key-pa55word";

	private static final List<String> PRODUCER_METERS = List.of("waterdrop.messages.produced",
			"waterdrop.messages.acknowledged", "waterdrop.messages.failed", "waterdrop.messages.purged",
			"waterdrop.messages.inflight", "waterdrop.reports.pending", "waterdrop.delivery.latency",
			"waterdrop.dispatch", "waterdrop.callbacks.slow");

	/** A topic whose broker-side size limit refuses the larger messages the client sends. */
	private static final String SMALL_MESSAGES_TOPIC = "small-messages";

	@DynamicPropertySource
	static void broker(DynamicPropertyRegistry registry) {
		registry.add("spring.kafka.bootstrap-servers", TestBroker::bootstrapServers);
	}

	@BeforeAll
	static void createSmallMessagesTopic() throws Exception {
		Map<String, Object> settings = Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
				TestBroker.bootstrapServers());
		try (Admin admin = Admin.create(settings)) {
			admin.createTopics(List.of(new NewTopic(SMALL_MESSAGES_TOPIC, 1, (short) 1)
				.configs(Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, "1000")))).all().get();
		}
	}

	private final HttpClient http = HttpClient.newHttpClient();

	private final List<String> bodies = new ArrayList<>();

	@LocalServerPort
	private int port;

	@Autowired
	@Qualifier("orders")
	private Producer orders;

	@Autowired
	@Qualifier("audit")
	private Producer audit;

	@Autowired
	@Qualifier("legacy")
	private Producer legacy;

	@Test
	@Order(1)
	void metersOverHttpAfterProducing() throws Exception {
		produce();

		assertThat(value("waterdrop.messages.produced?tag=producer:orders&tag=mode:sync", "COUNT")).isEqualTo(3);
		assertThat(value("waterdrop.messages.produced?tag=producer:orders&tag=mode:async", "COUNT")).isEqualTo(2);
		assertThat(value("waterdrop.messages.acknowledged?tag=producer:orders", "COUNT")).isEqualTo(5);
		assertThat(value("waterdrop.messages.acknowledged?tag=producer:legacy&tag=poller:thread", "COUNT"))
			.isEqualTo(1);
		assertThat(value("waterdrop.messages.failed?tag=producer:audit&tag=error:RecordTooLargeException", "COUNT"))
			.isEqualTo(1);
		assertThat(value("waterdrop.messages.purged?tag=producer:orders", "COUNT")).isZero();
		assertThat(value("waterdrop.messages.inflight?tag=producer:orders", "VALUE")).isZero();
		assertThat(value("waterdrop.reports.pending?tag=producer:orders", "VALUE")).isZero();
		assertThat(value("waterdrop.delivery.latency?tag=producer:orders", "COUNT")).isEqualTo(5);
		assertThat(value("waterdrop.delivery.latency?tag=producer:orders", "TOTAL_TIME")).isPositive();
		assertThat(value("waterdrop.dispatch?tag=producer:audit", "COUNT")).isEqualTo(2);
		// Whether a dispatch took over the 50 ms threshold depends on the machine: the meter shows the count.
		assertThat(value("waterdrop.callbacks.slow?tag=producer:orders", "COUNT"))
			.isEqualTo(this.orders.stats().slowCallbacks());

		assertThat(value("waterdrop.poller.wakeups?tag=poller:critical&tag=cause:signal", "COUNT")).isPositive();
		assertThat(value("waterdrop.poller.wakeups?tag=poller:critical&tag=cause:timeout", "COUNT"))
			.isNotNegative();
		assertThat(value("waterdrop.poller.drains?tag=poller:critical", "COUNT")).isPositive();
		assertThat(value("waterdrop.poller.drains?tag=poller:critical", "TOTAL_TIME")).isPositive();
		assertThat(value("waterdrop.poller.drains.ended.early?tag=poller:critical&tag=reason:producer-waiting",
				"COUNT")).isZero(); // alone on its Poller: nobody to yield to
		assertThat(value("waterdrop.poller.producers?tag=poller:critical", "VALUE")).isEqualTo(1);
		assertThat(value("waterdrop.poller.producers?tag=poller:global", "VALUE")).isPositive();
		assertThat(value("waterdrop.poller.loop.errors?tag=poller:critical", "COUNT")).isZero();

		assertThat(value("kafka.producer.record.send.total?tag=spring.id:waterdrop.orders&tag=client.id:orders",
				"COUNT")).isGreaterThanOrEqualTo(5);

		DocumentContext names = get("/actuator/metrics", 200);
		List<String> meterNames = names.read("$.names");
		assertThat(meterNames).containsAll(PRODUCER_METERS)
			.contains("waterdrop.poller.wakeups", "waterdrop.poller.drains", "waterdrop.poller.drains.ended.early",
					"waterdrop.poller.producers", "waterdrop.poller.loop.errors", "kafka.producer.record.send.total");
		DocumentContext acknowledged = get("/actuator/metrics/waterdrop.messages.acknowledged", 200);
		List<String> producers = acknowledged.read("$.availableTags[?(@.tag == 'producer')].values[*]");
		assertThat(producers).containsExactlyInAnyOrder("orders", "audit", "legacy");
		assertNoSecretIn(this.bodies);
	}

	@Test
	@Order(2)
	void healthShowsAnUpEntryPerProducerWithDetails() throws Exception {
		produce();
		DocumentContext health = get("/actuator/health", 200);
		assertThat(health.read("$.status", String.class)).isEqualTo("UP");
		assertThat(health.read("$.components.waterdrop.status", String.class)).isEqualTo("UP");
		Map<String, Object> orders = health.read("$.components.waterdrop.components.orders");
		assertThat(orders).containsEntry("status", "UP");
		Map<String, Object> details = health.read("$.components.waterdrop.components.orders.details");
		assertThat(details).containsEntry("mode", "fd")
			.containsEntry("poller", "critical")
			.containsEntry("status", "CONNECTED")
			.containsEntry("inFlight", 0)
			.containsEntry("pendingReports", 0)
			.containsKey("lastAcknowledged");
		assertThat(health.read("$.components.waterdrop.components.legacy.details.poller", String.class))
			.isEqualTo("waterdrop.dispatch-legacy");
		// The oversized message failed a moment ago: within the failure window, so still UP, with the error.
		assertThat(health.read("$.components.waterdrop.components.audit.status", String.class)).isEqualTo("UP");
		assertThat(health.read("$.components.waterdrop.components.audit.details.lastError.type", String.class))
			.isEqualTo("org.apache.kafka.common.errors.RecordTooLargeException");
		assertThat(get("/actuator/health/waterdrop/orders", 200).read("$.status", String.class)).isEqualTo("UP");
		assertNoSecretIn(this.bodies);
	}

	@Test
	@Order(3)
	void endpointListsPollersAndProducersWithSanitizedKafkaSettings() throws Exception {
		produce();
		DocumentContext waterdrop = get("/actuator/waterdrop", 200);
		assertThat(waterdrop.read("$.pollers.critical.threadName", String.class))
			.matches("waterdrop\\.poller#\\d+-critical");
		assertThat(waterdrop.read("$.pollers.critical.running", Boolean.class)).isTrue();
		List<String> critical = waterdrop.read("$.pollers.critical.producers");
		assertThat(critical).containsExactly("orders");
		assertThat(waterdrop.read("$.pollers.critical.wakeups.signal", Long.class)).isPositive();
		assertThat(waterdrop.read("$.pollers.critical.drains", Long.class)).isPositive();
		List<String> global = waterdrop.read("$.pollers.global.producers");
		assertThat(global).contains("audit");
		assertThat(waterdrop.read("$.producers.orders.status", String.class)).isEqualTo("CONNECTED");
		Map<String, Object> polling = waterdrop.read("$.producers.orders.polling");
		assertThat(polling).containsEntry("mode", "fd")
			.containsEntry("poller", "critical")
			.containsEntry("maxTime", "200ms");
		assertThat(waterdrop.read("$.producers.orders.counters.acknowledged", Long.class)).isGreaterThanOrEqualTo(5);
		assertThat(waterdrop.read("$.producers.audit.counters.failed", Long.class)).isGreaterThanOrEqualTo(1);
		assertThat(waterdrop.read("$.producers.legacy.polling.mode", String.class)).isEqualTo("thread");
		Map<String, Object> kafka = waterdrop.read("$.producers.orders.kafka");
		assertThat(kafka).containsEntry("sasl.jaas.config", "******")
			.containsEntry("ssl.key.password", "******")
			.containsEntry("security.protocol", "PLAINTEXT")
			.containsEntry("client.id", "orders");
		assertNoSecretIn(this.bodies);
	}

	@Test
	@Order(4)
	void aClosedProducersMetersAndHealthEntryGoAway() throws Exception {
		this.orders.close();

		for (String meter : PRODUCER_METERS) {
			get("/actuator/metrics/" + meter + "?tag=producer:orders", 404);
		}
		get("/actuator/metrics/kafka.producer.record.send.total?tag=spring.id:waterdrop.orders", 404);
		assertThat(value("waterdrop.messages.acknowledged?tag=producer:audit", "COUNT")).isPositive();

		DocumentContext health = get("/actuator/health", 200);
		Map<String, Object> components = health.read("$.components.waterdrop.components");
		assertThat(components).containsOnlyKeys("audit", "legacy");
		get("/actuator/health/waterdrop/orders", 404);
		assertThat(get("/actuator/waterdrop", 200).read("$.producers.orders.status", String.class))
			.isEqualTo("CLOSED");
		assertNoSecretIn(this.bodies);
	}

	/** Sync and async sends that reach the broker, and one that the broker refuses as too large. */
	private void produce() {
		for (int i = 0; i < 3; i++) {
			this.orders.produceSync(Message.of("orders", "sync " + i));
		}
		List<DeliveryHandle> handles = List.of(this.orders.produceAsync(Message.of("orders", "async 1")),
				this.orders.produceAsync(Message.of("orders", "async 2")),
				this.audit.produceAsync(Message.of("audit", "fine")),
				this.audit.produceAsync(Message.of(SMALL_MESSAGES_TOPIC, "x".repeat(5000))));
		this.legacy.produceSync(Message.of("legacy", "sync"));
		handles.forEach((handle) -> handle.toCompletableFuture().handle((report, error) -> null).join());
		// A report counts out of inFlight last, after its handle, callbacks and listeners (latency meter).
		await().atMost(Duration.ofSeconds(30)).until(() -> Stream.of(this.orders, this.audit, this.legacy)
			.allMatch((producer) -> producer.inFlight() == 0));
	}

	private double value(String meter, String statistic) throws Exception {
		List<Double> values = get("/actuator/metrics/" + meter, 200)
			.read("$.measurements[?(@.statistic == '" + statistic + "')].value");
		assertThat(values).as(meter + " " + statistic).hasSize(1);
		return values.get(0);
	}

	private DocumentContext get(String path, int expectedStatus) throws Exception {
		HttpRequest request = HttpRequest.newBuilder(URI.create("http://localhost:" + this.port + path))
			.timeout(Duration.ofSeconds(30))
			.build();
		HttpResponse<String> response = this.http.send(request, HttpResponse.BodyHandlers.ofString());
		assertThat(response.statusCode()).as("GET %s: %s", path, response.body()).isEqualTo(expectedStatus);
		this.bodies.add(response.body());
		return JsonPath.parse(response.body().isEmpty() ? "{}" : response.body());
	}

	private static void assertNoSecretIn(List<String> bodies) {
		assertThat(bodies).isNotEmpty()
			.allSatisfy((body) -> assertThat(body).doesNotContain(JAAS_PASSWORD).doesNotContain(KEY_PASSWORD));
	}

	@SpringBootConfiguration
	@EnableAutoConfiguration
	static class Application {

	}

}
