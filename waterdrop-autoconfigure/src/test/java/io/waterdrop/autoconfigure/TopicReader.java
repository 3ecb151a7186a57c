package io.waterdrop.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;

/** Reads a topic of the {@link TestBroker} from its beginning, as a consumer of the application would. */
public final class TopicReader {

	private TopicReader() {
	}

	/** The first {@code count} records of {@code topic}, read_uncommitted; fails after 30 s without them. */
	public static List<ConsumerRecord<byte[], byte[]>> read(String topic, int count) {
		return read(topic, count, Map.of(), new ByteArrayDeserializer());
	}

	/**
	 * The first {@code count} records of {@code topic} with the given consumer settings (e.g.
	 * {@code isolation.level=read_committed}) and payload deserializer.
	 */
	public static <V> List<ConsumerRecord<byte[], V>> read(String topic, int count, Map<String, Object> settings,
			Deserializer<V> valueDeserializer) {
		Map<String, Object> config = new HashMap<>();
		config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, TestBroker.bootstrapServers());
		config.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + UUID.randomUUID());
		config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
		config.putAll(settings);
		List<ConsumerRecord<byte[], V>> records = new ArrayList<>();
		try (KafkaConsumer<byte[], V> consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(),
				valueDeserializer)) {
			consumer.subscribe(List.of(topic));
			long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
			while (records.size() < count && System.nanoTime() < deadline) {
				consumer.poll(Duration.ofMillis(200)).forEach(records::add);
			}
		}
		if (records.size() < count) {
			throw new AssertionError("Read " + records.size() + " of " + count + " record(s) from " + topic + " in 30 s");
		}
		return records;
	}

	/** A topic name no other test uses. */
	public static String uniqueTopic(String prefix) {
		return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
	}

}
