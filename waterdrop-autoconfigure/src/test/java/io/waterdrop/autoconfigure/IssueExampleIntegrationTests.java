package io.waterdrop.autoconfigure;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.waterdrop.DeliveryReport;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollingMode;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The application of issue 4 (only the auto-configuration and {@code application-issue.yml}) against a
 * real broker. Its context stays cached (no {@code @DirtiesContext}) like any application's test context.
 */
@SpringBootTest(classes = IssueExampleApplication.class)
@ActiveProfiles("issue")
@Timeout(60)
class IssueExampleIntegrationTests {

	@DynamicPropertySource
	static void broker(DynamicPropertyRegistry registry) {
		registry.add("spring.kafka.bootstrap-servers", TestBroker::bootstrapServers);
	}

	@Autowired
	@Qualifier("orders")
	private Producer orders;

	@Autowired
	@Qualifier("audit")
	private Producer audit;

	@Autowired
	@Qualifier("legacy")
	private Producer legacy;

	@Autowired
	@Qualifier("criticalPoller")
	private Poller critical;

	@Autowired
	private WaterDropProducers producers;

	@Test
	void everyProducerDelivers() {
		for (Map.Entry<String, Producer> entry : this.producers.asMap().entrySet()) {
			DeliveryReport report = entry.getValue().produceSync(Message.of(entry.getKey(), "hello"));
			assertThat(report.topic()).isEqualTo(entry.getKey());
			assertThat(report.offset()).isNotNegative();
		}
		assertThat(this.producers.asMap()).containsOnlyKeys("orders", "audit", "legacy");
	}

	@Test
	void threadsAreTheGlobalPollerTheCriticalPollerAndLegacysDispatchThread() {
		// Other cached test contexts of this JVM may run WaterDrop threads too, but none per fd producer.
		assertThat(Threads.waterdrop()).contains("waterdrop.poller#0", this.critical.threadName(),
				"waterdrop.dispatch-legacy")
			.doesNotContain("waterdrop.dispatch-orders", "waterdrop.dispatch-audit");
		assertThat(this.critical.threadName()).matches("waterdrop\\.poller#\\d+-critical");
		for (String producer : new String[] { "orders", "audit", "legacy" }) {
			assertThat(Threads.kafkaNetworkThread(producer)).as(producer).isTrue();
		}
	}

	@Test
	void everyProducerHasItsOwnSettings() {
		assertThat(this.orders.config().maxTime()).isEqualTo(Duration.ofMillis(200));
		assertThat(this.orders.config().poller()).isSameAs(this.critical);
		assertThat(this.orders.pollerName()).isEqualTo("critical");
		assertThat(this.orders.config().kafka()).containsEntry("acks", "all").containsEntry("linger.ms", "5");
		assertThat(this.audit.config().maxTime()).isEqualTo(Duration.ofMillis(50));
		assertThat(this.audit.config().poller()).isSameAs(Poller.global());
		assertThat(this.legacy.config().pollingMode()).isEqualTo(PollingMode.THREAD);
		assertThat(this.legacy.pollerName()).isEqualTo("waterdrop.dispatch-legacy");
		assertThat(this.critical.config().pollTimeout()).isEqualTo(Duration.ofSeconds(1));
	}

}
