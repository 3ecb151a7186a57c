package io.waterdrop.testing;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

import io.waterdrop.DeliveryReport;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerConfig;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One produce/consume round against Apache Kafka in a container, the broker image users run. Needs Docker;
 * without it the class is skipped, never failed.
 */
@Testcontainers(disabledWithoutDocker = true)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class KafkaContainerIntegrationTests {

	@Container
	static final KafkaContainer kafka = new KafkaContainer(KafkaTestBroker.KAFKA_IMAGE);

	@Test
	void producesAndConsumesOneMessageAgainstKafkaInAContainer() throws Exception {
		String topic = KafkaTestBroker.uniqueTopic("container");
		Map<String, Object> admin = Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.getBootstrapServers());
		try (Admin client = Admin.create(admin)) {
			client.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get(60, TimeUnit.SECONDS);
		}
		Producer producer = new Producer(ProducerConfig.builder()
			.id("container")
			.kafka("bootstrap.servers", kafka.getBootstrapServers())
			.build());
		DeliveryReport report;
		try {
			report = producer.produceSync(
					Message.builder(topic).key("k").payload("from a container").partition(1).label("round").build());
		}
		finally {
			producer.close(Duration.ofSeconds(30));
		}
		assertThat(report.partition()).isEqualTo(1);
		assertThat(report.label()).isEqualTo("round");

		try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(
				Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.getBootstrapServers(),
						ConsumerConfig.GROUP_ID_CONFIG, topic, ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"),
				new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
			consumer.assign(List.of(new TopicPartition(topic, 1)));
			List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
			long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
			while (records.isEmpty() && System.nanoTime() < deadline) {
				consumer.poll(Duration.ofMillis(200)).forEach(records::add);
			}
			assertThat(records).singleElement().satisfies((record) -> {
				assertThat(record.offset()).isEqualTo(report.offset());
				assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo("k");
				assertThat(new String(record.value(), StandardCharsets.UTF_8)).isEqualTo("from a container");
			});
		}
	}

}
