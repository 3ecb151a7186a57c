package io.waterdrop;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingMode;
import io.waterdrop.testing.KafkaTestBroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code statistics.emitted} carries the Kafka client's metrics to subscribers at the configured interval,
 * and costs nothing (the metrics are not even read) while nobody subscribes.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class StatisticsIntegrationTests {

	private static final Duration INTERVAL = Duration.ofMillis(200);

	private final TestProducers producers = new TestProducers();

	/** Calls of the Kafka client's {@code metrics()}: how statistics are computed. */
	private final AtomicInteger metricsReads = new AtomicInteger();

	private String topic;

	@BeforeEach
	void createTopic() {
		this.topic = KafkaTestBroker.uniqueTopic("statistics");
		KafkaTestBroker.createTopic(this.topic, 1);
	}

	@AfterEach
	void closeProducers() {
		this.producers.closeAll();
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void statisticsAreEmittedToSubscribersWithTheClientMetrics(PollingMode mode) {
		Producer producer = this.producers.create(countingMetricsReads(mode, INTERVAL));
		List<ProducerEvent.StatisticsEmitted> emitted = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.StatisticsEmitted.class, emitted::add);

		producer.produceSync(Message.of(this.topic, "counted"));

		await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(emitted).anySatisfy((event) -> {
			assertThat(event.producerId()).isEqualTo(producer.id());
			assertThat(event.statistics()).containsKey("producer-metrics:record-send-total");
			assertThat((Double) event.statistics().get("producer-metrics:record-send-total")).isEqualTo(1.0);
		}));
		// Keys drop the client-id tag but keep the others, e.g. the topic of per-topic metrics.
		assertThat(emitted.get(emitted.size() - 1).statistics())
			.containsKey("producer-topic-metrics:record-send-total;topic=" + this.topic)
			.allSatisfy((key, value) -> assertThat(key).doesNotContain("client-id"));
		assertThat(this.metricsReads).hasPositiveValue();
	}

	/**
	 * With a poll timeout of an hour only the statistics schedule can wake the idle polling thread: six
	 * emissions show it does, and it never emits more often than the interval allows.
	 */
	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void statisticsKeepTheConfiguredIntervalWhileTheProducerIsIdle(PollingMode mode) {
		Duration hour = Duration.ofHours(1);
		ProducerConfig.Builder config = countingMetricsReadsBuilder(mode, INTERVAL);
		if (mode == PollingMode.FD) {
			config.poller(new Poller(PollerConfig.named("statistics-idle").withPollTimeout(hour)));
		}
		else {
			config.pollTimeout(hour);
		}
		Producer producer = this.producers.create(config.build());
		List<Long> emittedNanos = new CopyOnWriteArrayList<>();
		producer.monitor()
			.subscribe(ProducerEvent.StatisticsEmitted.class, (event) -> emittedNanos.add(System.nanoTime()));
		long connecting = System.nanoTime();
		producer.connect();

		await().atMost(Duration.ofSeconds(30)).until(() -> emittedNanos.size() >= 6);
		long emitted = emittedNanos.size();
		long elapsed = System.nanoTime() - connecting;
		// Each emission is due one interval after the previous one was computed, the first one interval after
		// the connect: n of them take n intervals at least, however late each came.
		assertThat(emitted).as("emissions %s ns after connecting", elapsed)
			.isLessThanOrEqualTo(elapsed / INTERVAL.toNanos());
	}

	@Test
	void statisticsAreNotComputedWithoutSubscriber() {
		Producer producer = this.producers.create(countingMetricsReads(PollingMode.FD, INTERVAL));
		// Listeners of other events do not count as interest in statistics.
		List<ProducerEvent.MessageAcknowledged> acknowledged = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.MessageAcknowledged.class, acknowledged::add);

		producer.produceSync(Message.of(this.topic, "unobserved"));
		await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(30)).until(() -> this.metricsReads.get() == 0);

		// Interest can come later: subscribing is enough to start them.
		List<ProducerEvent.StatisticsEmitted> emitted = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.StatisticsEmitted.class, emitted::add);
		await().atMost(Duration.ofSeconds(30)).until(() -> !emitted.isEmpty());
		assertThat(this.metricsReads).hasPositiveValue();
		assertThat(acknowledged).hasSize(1);
	}

	@Test
	void statisticsIntervalZeroTurnsThemOffEvenForSubscribers() {
		Producer producer = this.producers.create(countingMetricsReads(PollingMode.FD, Duration.ZERO));
		List<ProducerEvent.StatisticsEmitted> emitted = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.StatisticsEmitted.class, emitted::add);

		producer.produceSync(Message.of(this.topic, "off"));

		await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(30))
			.until(() -> emitted.isEmpty() && this.metricsReads.get() == 0);
	}

	/** A real Kafka client that counts how often its metrics are read. */
	private ProducerConfig countingMetricsReads(PollingMode mode, Duration interval) {
		return countingMetricsReadsBuilder(mode, interval).build();
	}

	private ProducerConfig.Builder countingMetricsReadsBuilder(PollingMode mode, Duration interval) {
		return TestProducers.config("statistics")
			.pollingMode(mode)
			.statisticsInterval(interval)
			.clientFactory((properties) -> new KafkaProducer<byte[], byte[]>(properties) {

				@Override
				public Map<MetricName, ? extends Metric> metrics() {
					StatisticsIntegrationTests.this.metricsReads.incrementAndGet();
					return super.metrics();
				}

			});
	}

}
