package io.waterdrop.testing.broker;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
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
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

/**
 * Tests for {@link KafkaBrokerProcess} against the real broker it launches.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class KafkaBrokerProcessTests {

	private static final String TOPIC = "broker-process-test";

	private static final TopicPartition PARTITION = new TopicPartition(TOPIC, 0);

	@Test
	// A format, three cold starts (up to 60 s each) and three stops (up to 30 s each) on a busy machine.
	@Timeout(value = 8, unit = TimeUnit.MINUTES)
	void recordsSurviveStopAndRestart() throws Exception {
		Path directory;
		try (KafkaBrokerProcess broker = new KafkaBrokerProcess()) {
			broker.start();
			String bootstrapServers = broker.bootstrapServers();
			directory = broker.logFile().getParent();
			long pid = broker.pid();
			assertThat(pid).isNotEqualTo(ProcessHandle.current().pid());
			assertThat(ProcessHandle.of(pid)).hasValueSatisfying((process) -> assertThat(process.isAlive()).isTrue());
			createTopic(bootstrapServers);
			send(bootstrapServers, "one");
			assertThat(consume(bootstrapServers, 1)).containsExactly("one");

			broker.stop();
			assertThat(broker.isRunning()).isFalse();
			assertThatIllegalStateException().isThrownBy(broker::pid).withMessageContaining("not running");
			assertThat(acceptsConnections(bootstrapServers)).isFalse();

			broker.start();
			assertThat(broker.bootstrapServers()).isEqualTo(bootstrapServers);
			send(bootstrapServers, "two");

			broker.restart();
			assertThat(consume(bootstrapServers, 2)).containsExactly("one", "two");
			assertThat(broker.logFile()).content().contains("Kafka Server started");
		}
		assertThat(directory).doesNotExist();
	}

	@Test
	void startFailsClearlyWhenThePortIsTaken() throws Exception {
		try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
				KafkaBrokerProcess broker = new KafkaBrokerProcess(taken.getLocalPort())) {
			assertThatIllegalStateException().isThrownBy(broker::start).withMessageContaining("is not free");
			assertThat(broker.isRunning()).isFalse();
		}
	}

	private static void createTopic(String bootstrapServers) throws Exception {
		try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers))) {
			admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
		}
	}

	private static void send(String bootstrapServers, String value) throws Exception {
		Map<String, Object> config = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
				ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
				ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
		try (KafkaProducer<String, String> producer = new KafkaProducer<>(config)) {
			producer.send(new ProducerRecord<>(TOPIC, value)).get(30, TimeUnit.SECONDS);
		}
	}

	// assign() rather than a group: no coordinator round trips, and always from the first offset.
	private static List<String> consume(String bootstrapServers, int count) {
		Map<String, Object> config = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
				ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
				ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
		List<String> values = new ArrayList<>();
		try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config)) {
			consumer.assign(List.of(PARTITION));
			consumer.seekToBeginning(List.of(PARTITION));
			long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
			while (values.size() < count && System.nanoTime() < deadline) {
				for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
					values.add(record.value());
				}
			}
		}
		return values;
	}

	private static boolean acceptsConnections(String bootstrapServers) {
		String[] hostAndPort = bootstrapServers.split(":");
		try (Socket socket = new Socket()) {
			socket.connect(new InetSocketAddress(hostAndPort[0], Integer.parseInt(hostAndPort[1])), 1000);
			return true;
		}
		catch (IOException ex) {
			return false;
		}
	}

}
