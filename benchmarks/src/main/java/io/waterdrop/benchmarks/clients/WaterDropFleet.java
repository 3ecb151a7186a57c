package io.waterdrop.benchmarks.clients;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.apache.kafka.clients.producer.KafkaProducer;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerConfig;
import io.waterdrop.instrumentation.micrometer.WaterDropMetrics;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollingMode;

/**
 * WaterDrop producers in one polling mode (fd producers use the global Poller); with
 * {@link ProductionMetrics}, also WaterDrop's meters ({@link WaterDropMetrics}) and Kafka's client meters
 * bound, as the starter binds them when a meter registry exists.
 */
final class WaterDropFleet implements ProducerFleet {

	private final List<Producer> producers;

	private final PollingMode mode;

	private final ProductionMetrics metrics;

	private final String topic;

	/** @param metrics the instrumentation to bind, or {@code null} for bare producers */
	WaterDropFleet(PollingMode mode, List<Map<String, Object>> kafka, String topic, ProductionMetrics metrics) {
		this(mode, kafka, topic, metrics, true);
	}

	/**
	 * @param yielding whether slices yield to a waiting producer after min-time (the default); without,
	 * min-time is max-time, as before the rule existed
	 */
	WaterDropFleet(PollingMode mode, List<Map<String, Object>> kafka, String topic, ProductionMetrics metrics,
			boolean yielding) {
		Function<Map<String, Object>, Producer> create = (properties) -> {
			ProducerConfig.Builder config = ProducerConfig.builder()
				.id((String) properties.get(org.apache.kafka.clients.producer.ProducerConfig.CLIENT_ID_CONFIG))
				.kafka(properties)
				.pollingMode(mode);
			if (!yielding) {
				config.minTime(ProducerConfig.DEFAULT_MAX_TIME);
			}
			if (metrics != null) {
				config.clientFactory((clientProperties) -> metrics.bindClient(new KafkaProducer<byte[], byte[]>(clientProperties)));
			}
			return new Producer(config.build());
		};
		this.producers = kafka.stream().map(create).toList();
		this.producers.forEach(Producer::connect);
		this.mode = mode;
		this.metrics = metrics;
		if (metrics != null) {
			List<Poller> pollers = (mode == PollingMode.FD) ? List.of(Poller.global()) : List.of();
			new WaterDropMetrics(this.producers, pollers).bindTo(metrics.registry());
		}
		this.topic = topic;
	}

	@Override
	public int size() {
		return this.producers.size();
	}

	@Override
	public void sendAsync(int index, byte[] payload, DeliveryListener listener) {
		this.producers.get(index)
			.produceAsync(Message.of(this.topic, payload), (report, failure) -> listener.delivered(failure));
	}

	@Override
	public void sendSync(int index, byte[] payload) {
		this.producers.get(index).produceSync(Message.of(this.topic, payload));
	}

	@Override
	public void close() {
		this.producers.forEach(Producer::close);
		if (this.mode == PollingMode.FD) {
			awaitPollerStopped();
		}
		if (this.metrics != null) {
			this.metrics.close();
		}
	}

	/**
	 * The global Poller's thread ends after its last producer detached, shortly after the closes return;
	 * the next trial counts the threads it starts with, so this one must be gone by then.
	 */
	private static void awaitPollerStopped() {
		try {
			Poller.global().awaitStopped(Duration.ofSeconds(5));
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
