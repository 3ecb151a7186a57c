package io.waterdrop.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.boot.Banner;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.event.ContextClosedEvent;

import io.waterdrop.DeliveryHandle;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerStats;
import io.waterdrop.ProducerStatus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Closing the application with thousands of messages in flight loses no delivery report and leaves no
 * WaterDrop or Kafka client thread behind.
 */
@Timeout(90)
class ShutdownIntegrationTests {

	private static final int MESSAGES_PER_PRODUCER = 3_000;

	@Test
	void closingTheContextDispatchesEveryReportThenStopsEveryThread() {
		Threads.Snapshot before = Threads.snapshot();
		ConfigurableApplicationContext context = new SpringApplicationBuilder(IssueExampleApplication.class)
			.web(WebApplicationType.NONE)
			.bannerMode(Banner.Mode.OFF)
			.logStartupInfo(false)
			.registerShutdownHook(false)
			.profiles("issue")
			.properties("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers())
			.run();
		Map<String, Producer> producers = context.getBean(WaterDropProducers.class).asMap();
		// Callbacks wait until the close has begun (its event comes before the lifecycle stops), so that every
		// message is still in flight then.
		CountDownLatch closing = new CountDownLatch(1);
		AtomicLong callbacks = new AtomicLong();
		List<DeliveryHandle> handles = new ArrayList<>();
		for (int i = 0; i < MESSAGES_PER_PRODUCER; i++) {
			for (Map.Entry<String, Producer> entry : producers.entrySet()) {
				handles.add(entry.getValue().produceAsync(Message.of(entry.getKey(), "message " + i), (report, failure) -> {
					awaitQuietly(closing);
					callbacks.incrementAndGet();
				}));
			}
		}
		long inFlight = producers.values().stream().mapToLong(Producer::inFlight).sum();
		context.addApplicationListener((ContextClosedEvent event) -> closing.countDown());

		context.close();

		assertThat(inFlight).as("messages in flight when the context began to close")
			.isGreaterThan(MESSAGES_PER_PRODUCER);
		assertThat(handles).allMatch(DeliveryHandle::isDone);
		assertThat(callbacks.get()).isEqualTo(handles.size());
		producers.forEach((name, producer) -> {
			ProducerStats stats = producer.stats();
			assertThat(producer.status()).as(name).isEqualTo(ProducerStatus.CLOSED);
			assertThat(producer.inFlight()).as(name).isZero();
			assertThat(stats.producedAsync()).as(name).isEqualTo(MESSAGES_PER_PRODUCER);
			assertThat(stats.acknowledged()).as(name).isEqualTo(MESSAGES_PER_PRODUCER);
			assertThat(stats.dispatched()).as(name).isEqualTo(stats.producedAsync());
		});
		// The close threads finish right after reporting completion; everything else is gone already.
		await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(before.newWaterDropThreads()).isEmpty());
		for (String producer : producers.keySet()) {
			assertThat(before.newKafkaNetworkThread(producer)).as(producer).isFalse();
		}
	}

	private static void awaitQuietly(CountDownLatch latch) {
		try {
			latch.await(30, TimeUnit.SECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
