package io.waterdrop.benchmarks.clients;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerConfig;
import io.waterdrop.polling.PollingMode;

/** WaterDrop producers in one polling mode (fd producers use the global Poller). */
final class WaterDropFleet implements ProducerFleet {

	private final List<Producer> producers;

	private final String topic;

	WaterDropFleet(PollingMode mode, List<Map<String, Object>> kafka, String topic) {
		Function<Map<String, Object>, Producer> create = (properties) -> new Producer(ProducerConfig.builder()
			.id((String) properties.get(org.apache.kafka.clients.producer.ProducerConfig.CLIENT_ID_CONFIG))
			.kafka(properties)
			.pollingMode(mode)
			.build());
		this.producers = kafka.stream().map(create).toList();
		this.producers.forEach(Producer::connect);
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
	}

}
