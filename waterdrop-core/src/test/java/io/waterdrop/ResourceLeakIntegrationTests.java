package io.waterdrop;

import java.io.File;
import java.io.IOException;
import java.lang.ref.WeakReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIf;

import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingMode;
import io.waterdrop.testing.KafkaTestBroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Producers opened and closed over and over leak nothing: no file descriptor (fd mode opens a pipe per
 * producer, and the Poller a selector each time its thread starts), and no thread.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
@EnabledIf("procSelfFdAvailable")
class ResourceLeakIntegrationTests {

	private static final Path OPEN_FDS = Path.of("/proc/self/fd");

	/** Room for descriptors the JVM opens on its own meanwhile (class files, logging, GC). */
	private static final int FD_TOLERANCE = 20;

	static boolean procSelfFdAvailable() {
		return new File("/proc/self/fd").isDirectory();
	}

	/** Dedicated Poller threads that were running before the test (another test's); not counted. */
	private List<String> otherPollerThreads;

	@BeforeEach
	void globalPollerIsIdle() throws InterruptedException {
		assertThat(Poller.global().awaitStopped(Duration.ofSeconds(30)))
			.as("global Poller stopped; still registered: %s", Poller.global().producerIds())
			.isTrue();
		await().atMost(Duration.ofSeconds(30)).until(() -> TestProducers.threadsNamed("waterdrop.poller#0").isEmpty());
		this.otherPollerThreads = pollerThreads();
	}

	@Test
	void thousandFdModeProducerLifecyclesLeakNoDescriptorAndNoThread() throws Exception {
		// Warm-up: classes, loggers and lazily opened jars open their descriptors once, before counting.
		cycles(PollingMode.FD, 50);
		long before = openFds();

		cycles(PollingMode.FD, 1_000);

		assertNoPollerLeft();
		assertThat(openFds()).as("open descriptors after 1,000 fd-mode producer lifecycles")
			.isLessThanOrEqualTo(before + FD_TOLERANCE);
	}

	@Test
	void thousandThreadModeProducerLifecyclesLeakNoThread() throws Exception {
		cycles(PollingMode.THREAD, 50);
		long before = openFds();

		cycles(PollingMode.THREAD, 1_000);

		await().atMost(Duration.ofSeconds(30)).until(() -> TestProducers.threadsNamed("waterdrop.dispatch-leak-").isEmpty());
		assertThat(openFds()).isLessThanOrEqualTo(before + FD_TOLERANCE);
	}

	@Test
	void realClientFdModeProducerLifecyclesLeakNoDescriptor() throws Exception {
		String topic = KafkaTestBroker.uniqueTopic("leak");
		KafkaTestBroker.createTopic(topic, 1);
		realCycles(topic, 5);
		long before = openFds();

		realCycles(topic, 20);

		assertNoPollerLeft();
		// Closed sockets of the Kafka client release their descriptors at once; a pipe leak would show 2 per cycle.
		assertThat(openFds()).isLessThanOrEqualTo(before + FD_TOLERANCE);
		assertThat(KafkaTestBroker.recordCount(topic)).isEqualTo(25);
	}

	/**
	 * A closed producer is not kept in memory by the Poller it left, neither while that Poller serves others nor
	 * after its thread ended (the Poller keeps the ended thread, the thread its loop, the loop its selector,
	 * whose cancelled key held the producer): a closed child context or tenant would stay with it.
	 */
	@Test
	void aClosedProducerIsNotKeptByThePollerItLeft() throws Exception {
		Poller poller = new Poller(PollerConfig.named("leak-retention"));
		Producer stays = leakProducer(PollingMode.FD, poller);
		stays.connect();
		WeakReference<Producer> leftWhileServing = closedAfterOneMessage(poller);
		awaitCollected(leftWhileServing);
		stays.close(Duration.ofSeconds(30));
		WeakReference<Producer> lastToLeave = closedAfterOneMessage(poller);
		assertThat(poller.awaitStopped(Duration.ofSeconds(30))).isTrue();
		awaitCollected(lastToLeave);
	}

	private static WeakReference<Producer> closedAfterOneMessage(Poller poller) {
		Producer producer = leakProducer(PollingMode.FD, poller);
		assertThat(producer.produceSync(Message.of("leak", "one")).topic()).isEqualTo("leak");
		producer.close(Duration.ofSeconds(30));
		return new WeakReference<>(producer);
	}

	private static void awaitCollected(WeakReference<Producer> reference) {
		await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
			System.gc();
			assertThat(reference.get()).as("collected").isNull();
		});
	}

	private static Producer leakProducer(PollingMode mode, Poller poller) {
		io.waterdrop.ProducerConfig.Builder builder = io.waterdrop.ProducerConfig.builder()
			.id(TestProducers.uniqueId("leak"))
			.pollingMode(mode)
			.clientFactory((properties) -> new MockProducer<>(true, null, new ByteArraySerializer(),
					new ByteArraySerializer()));
		return new Producer((poller != null) ? builder.poller(poller).build() : builder.build());
	}

	/** Connect, produce one message and wait for its report, close: with a client that acknowledges in send. */
	private static void cycles(PollingMode mode, int count) {
		for (int i = 0; i < count; i++) {
			Producer producer = leakProducer(mode, null);
			try {
				producer.connect();
				assertThat(producer.produceAsync(Message.of("leak", "m-" + i)).await(Duration.ofSeconds(30)).topic())
					.isEqualTo("leak");
			}
			finally {
				producer.close(Duration.ofSeconds(30));
			}
			assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		}
	}

	private static void realCycles(String topic, int count) {
		for (int i = 0; i < count; i++) {
			Producer producer = new Producer(TestProducers.config("leak-real").build());
			try {
				producer.produceSync(Message.of(topic, "m-" + i));
			}
			finally {
				producer.close(Duration.ofSeconds(30));
			}
		}
	}

	private void assertNoPollerLeft() throws InterruptedException {
		assertThat(Poller.global().awaitStopped(Duration.ofSeconds(30))).isTrue();
		assertThat(Poller.global().registeredProducers()).isZero();
		await().atMost(Duration.ofSeconds(30))
			.untilAsserted(() -> assertThat(pollerThreads()).isEqualTo(this.otherPollerThreads));
	}

	private static List<String> pollerThreads() {
		return TestProducers.threadsNamed("waterdrop.poller").stream().map(Thread::getName).sorted().toList();
	}

	private static long openFds() throws IOException {
		// Closed channels are released at once, but give finalization-free cleanups a moment.
		System.gc();
		try (Stream<Path> fds = Files.list(OPEN_FDS)) {
			return fds.count();
		}
	}

}
