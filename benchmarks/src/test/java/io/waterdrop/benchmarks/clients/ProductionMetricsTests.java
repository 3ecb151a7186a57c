package io.waterdrop.benchmarks.clients;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.waterdrop.benchmarks.support.ClientSettings;
import io.waterdrop.polling.PollingMode;
import io.waterdrop.testing.broker.KafkaBrokerProcess;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The production rows must really be instrumented, or they would compare nothing: after a few sends the
 * registry holds WaterDrop's meters with counts, Kafka's client meters, and KafkaTemplate's observation timer.
 */
class ProductionMetricsTests {

	private static final int MESSAGES = 20;

	private static final byte[] PAYLOAD = new byte[100];

	private static KafkaBrokerProcess broker;

	private static ClientSettings settings;

	@BeforeAll
	static void startBroker() {
		broker = new KafkaBrokerProcess();
		broker.start();
		settings = new ClientSettings(broker.bootstrapServers(), "all", 1, broker.pid());
		settings.createTopics(List.of("metered"));
	}

	@AfterAll
	static void stopBroker() {
		broker.close();
	}

	@Test
	void waterDropFdRowBindsWaterDropAndKafkaClientMeters() throws InterruptedException {
		ProductionMetrics metrics = new ProductionMetrics();
		try (ProducerFleet fleet = new WaterDropFleet(PollingMode.FD, List.of(kafka("metered-fd")), "metered",
				metrics)) {
			sendAndAwait(fleet);
			MeterRegistry registry = metrics.registry();
			// Counts are published once per batch, before the batch's slots are given back (after the
			// callbacks): no message in flight means every acknowledgement is counted.
			awaitNothingInFlight(registry);

			assertThat(registry.get("waterdrop.messages.acknowledged").functionCounter().count())
				.isGreaterThanOrEqualTo(MESSAGES);
			assertThat(registry.get("waterdrop.delivery.latency").timer().count()).isGreaterThanOrEqualTo(MESSAGES);
			assertThat(registry.find("waterdrop.poller.wakeups").meters()).isNotEmpty();
			assertThat(registry.find("kafka.producer.record.send.total").meters()).isNotEmpty();
		}
	}

	@Test
	void kafkaTemplateRowObservesEverySendAndBindsKafkaClientMeters() throws InterruptedException {
		ProductionMetrics metrics = new ProductionMetrics();
		try (ProducerFleet fleet = new KafkaTemplateFleet(List.of(kafka("metered-template")), "metered", metrics)) {
			sendAndAwait(fleet);
			MeterRegistry registry = metrics.registry();

			assertThat(registry.get("spring.kafka.template").timer().count()).isGreaterThanOrEqualTo(MESSAGES);
			assertThat(registry.find("kafka.producer.record.send.total").meters()).isNotEmpty();
		}
	}

	private static Map<String, Object> kafka(String clientId) {
		return settings.producer(clientId, null);
	}

	private static void awaitNothingInFlight(MeterRegistry registry) throws InterruptedException {
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); // deadlock guard, not a timing claim
		while (registry.get("waterdrop.messages.inflight").gauge().value() != 0) {
			assertThat(System.nanoTime() - deadline).as("messages still in flight after 30 s").isNegative();
			Thread.sleep(1);
		}
	}

	private static void sendAndAwait(ProducerFleet fleet) throws InterruptedException {
		fleet.prime(PAYLOAD);
		CountDownLatch delivered = new CountDownLatch(MESSAGES);
		for (int i = 0; i < MESSAGES; i++) {
			fleet.sendAsync(0, PAYLOAD, (error) -> delivered.countDown());
		}
		assertThat(delivered.await(30, TimeUnit.SECONDS)).isTrue();
	}

}
