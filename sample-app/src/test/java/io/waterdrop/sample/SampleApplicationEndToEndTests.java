package io.waterdrop.sample;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.awaitility.Awaitility;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import io.waterdrop.Producer;
import io.waterdrop.ProducerStatus;
import io.waterdrop.autoconfigure.WaterDropProducers;
import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The sample as a user runs it: started by its main entry point on a random port with the embedded broker,
 * driven over HTTP, checked by consuming from Kafka (JSON with spring-kafka's type header and the W3C trace context) and reading
 * Actuator and the log lines (the request's trace id, also in the listener's line), then shut down.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
@ExtendWith(OutputCaptureExtension.class)
class SampleApplicationEndToEndTests {

	private final HttpClient http = HttpClient.newHttpClient();

	private final JsonMapper json = JsonMapper.builder().build();

	private String base;

	@Test
	void producesOverHttpShowsMetricsAndHealthAndShutsDownCleanly(CapturedOutput output) throws Exception {
		String topic = "e2e-" + UUID.randomUUID();
		// Other test contexts of this JVM (cached) may keep WaterDrop threads of their own, the global Poller's.
		Set<Thread> before = Set.copyOf(Thread.getAllStackTraces().keySet());
		ConfigurableApplicationContext context = SampleApplication.start("--server.port=0");
		Map<String, Producer> producers;
		Producer tenant = null;
		try {
			this.base = "http://localhost:" + context.getEnvironment().getProperty("local.server.port");
			producers = context.getBean(WaterDropProducers.class).asMap();

			JsonNode sync = post("/messages/sync?topic=" + topic + "&key=k1", "text/plain", "one");
			assertThat(sync.get("topic").asString()).isEqualTo(topic);
			assertThat(sync.get("label").asString()).isEqualTo("http");
			JsonNode async = post("/messages/async?producer=audit&topic=" + topic, "text/plain", "two");
			assertThat(async.get("offset").asLong()).isGreaterThan(sync.get("offset").asLong());
			JsonNode batch = post("/messages/batch?producer=legacy&topic=" + topic, "application/json",
					"[\"three\",\"four\"]");
			assertThat(batch).hasSize(2);
			JsonNode transaction = post("/messages/transaction?topic=" + topic + "-tx", "application/json",
					"[\"debit\",\"credit\"]");
			assertThat(transaction).hasSize(2);
			JsonNode placed = post("/orders", "application/json",
					"{\"id\":\"o-e2e\",\"item\":\"book\",\"quantity\":2}");
			assertThat(placed.get("topic").asString()).isEqualTo(OrdersController.TOPIC);
			JsonNode load = post("/load?messages=200&producers=orders,audit", "application/json", "");
			assertThat(load.get("messages").asInt()).isEqualTo(400);

			String servers = context.getEnvironment().getProperty("spring.kafka.bootstrap-servers");
			assertThat(consume(servers, topic, 4)).containsExactlyInAnyOrder("one", "two", "three", "four");
			assertThat(consume(servers, topic + "-tx", 2)).containsExactlyInAnyOrder("debit", "credit");
			// The order as JSON, with spring-kafka's type header and the request's trace context.
			ConsumerRecord<String, String> order = records(servers, OrdersController.TOPIC, 1).stream()
				.filter((record) -> "o-e2e".equals(record.key()))
				.findFirst()
				.orElseThrow();
			assertThat(this.json.readTree(order.value()).get("item").asString()).isEqualTo("book");
			assertThat(header(order, "__TypeId__")).isEqualTo(Order.class.getName());
			String traceId = header(order, "traceparent").split("-")[1];
			// The same trace id in the log line of the request and in the listener's, across Kafka.
			assertThat(output.getOut().lines().filter((line) -> line.contains("Order o-e2e published")))
				.singleElement()
				.asString()
				.contains(traceId);
			Awaitility.await()
				.atMost(Duration.ofSeconds(60))
				.untilAsserted(() -> assertThat(
						output.getOut().lines().filter((line) -> line.contains("Order o-e2e received: 2 x book")))
					.singleElement()
					.asString()
					.contains(traceId));

			// Counted per dispatched batch, just after the handles the load request awaited completed.
			await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
				JsonNode acknowledged = get("/actuator/metrics/waterdrop.messages.acknowledged?tag=producer:orders");
				assertThat(acknowledged.get("measurements").get(0).get("value").asDouble()).isGreaterThanOrEqualTo(201);
			});
			JsonNode drains = get("/actuator/metrics/waterdrop.poller.drains?tag=poller:critical");
			assertThat(drains.get("measurements").get(0).get("value").asDouble()).isPositive();
			HttpResponse<String> unknown = this.http.send(HttpRequest.newBuilder(URI.create(this.base
					+ "/messages/sync?producer=nope"))
				.header("Content-Type", "text/plain")
				.POST(HttpRequest.BodyPublishers.ofString("hello"))
				.build(), HttpResponse.BodyHandlers.ofString());
			assertThat(unknown.statusCode()).isEqualTo(404);
			assertThat(unknown.headers().firstValue("Content-Type")).hasValue("application/problem+json");
			assertThat(this.json.readTree(unknown.body()).get("title").asString()).isEqualTo("Unknown producer");

			// A tenant's runtime producer: created over HTTP, delivers, is metered, shown and health-checked.
			HttpResponse<String> created = this.http.send(HttpRequest.newBuilder(URI.create(this.base + "/tenants/e2e"))
				.POST(HttpRequest.BodyPublishers.noBody())
				.build(), HttpResponse.BodyHandlers.ofString());
			assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
			JsonNode tenantReport = post("/tenants/e2e/messages", "text/plain", "tenant hello");
			assertThat(tenantReport.get("topic").asString()).isEqualTo("tenant-events");
			assertThat(consume(servers, "tenant-events", 1)).containsExactly("tenant hello");
			assertThat(get("/actuator/waterdrop").get("producers").has("tenant-e2e")).isTrue();
			JsonNode tenantProduced = get("/actuator/metrics/waterdrop.messages.produced?tag=producer:tenant-e2e");
			assertThat(tenantProduced.get("measurements").get(0).get("value").asDouble()).isEqualTo(1);
			tenant = context.getBean(WaterDropRuntimeProducers.class).get("tenant-e2e");

			JsonNode health = get("/actuator/health");
			assertThat(health.get("status").asString()).isEqualTo("UP");
			assertThat(health.get("components").get("waterdrop").get("status").asString()).isEqualTo("UP");
			assertThat(health.get("components").get("waterdrop").get("components").has("tenant-e2e")).isTrue();
		}
		finally {
			context.close();
		}
		// The tenant's producer was closed with the others, its message delivered.
		assertThat(tenant.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(tenant.stats().acknowledged()).isEqualTo(1);
		assertThat(producers.values()).allSatisfy((producer) -> {
			assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
			assertThat(producer.inFlight()).isZero();
		});
		// The close threads end right after reporting completion; everything else is gone already.
		await().atMost(Duration.ofSeconds(30))
			.untilAsserted(() -> assertThat(Thread.getAllStackTraces().keySet()).noneMatch((thread) -> thread.isAlive()
					&& thread.getName().startsWith("waterdrop.") && !before.contains(thread)));
	}

	private JsonNode post(String path, String contentType, String body) throws Exception {
		HttpRequest request = HttpRequest.newBuilder(URI.create(this.base + path))
			.header("Content-Type", contentType)
			.timeout(Duration.ofSeconds(60))
			.POST(HttpRequest.BodyPublishers.ofString(body))
			.build();
		return send(request);
	}

	private JsonNode get(String path) throws Exception {
		return send(HttpRequest.newBuilder(URI.create(this.base + path)).timeout(Duration.ofSeconds(30)).build());
	}

	private JsonNode send(HttpRequest request) throws Exception {
		HttpResponse<String> response = this.http.send(request, HttpResponse.BodyHandlers.ofString());
		assertThat(response.statusCode()).as("%s %s: %s", request.method(), request.uri(), response.body())
			.isEqualTo(200);
		return this.json.readTree(response.body());
	}

	private static String header(ConsumerRecord<?, ?> record, String name) {
		return new String(record.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
	}

	private static List<String> consume(String servers, String topic, int expected) {
		return records(servers, topic, expected).stream().map(ConsumerRecord::value).toList();
	}

	private static List<ConsumerRecord<String, String>> records(String servers, String topic, int expected) {
		Map<String, Object> properties = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, servers,
				ConsumerConfig.GROUP_ID_CONFIG, "e2e-" + UUID.randomUUID(), ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
				"earliest", ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
		List<ConsumerRecord<String, String>> records = new ArrayList<>();
		try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(properties, new StringDeserializer(),
				new StringDeserializer())) {
			consumer.subscribe(List.of(topic));
			long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
			while (records.size() < expected && System.nanoTime() < deadline) {
				for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
					records.add(record);
				}
			}
		}
		return records;
	}

}
