package io.waterdrop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingMode;
import io.waterdrop.testing.KafkaTestBroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The thread budget that fd mode exists for: one Poller thread however many producers share it, one
 * thread per producer in thread mode, and one more thread per dedicated Poller, each gone once its
 * producers are closed.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class PollerThreadsIntegrationTests {

	private static final int PRODUCERS = 10;

	private static final int MESSAGES_PER_PRODUCER = 50;

	private static final String GLOBAL_THREAD = "waterdrop.poller#0";

	private final TestProducers producers = new TestProducers();

	private String topic;

	/** Dedicated Poller threads that were running before the test (another test's); not counted. */
	private List<String> otherPollerThreads;

	@BeforeEach
	void globalPollerIsIdle() throws InterruptedException {
		// Counting threads only means something if no earlier test left a producer on the global Poller.
		assertThat(Poller.global().awaitStopped(Duration.ofSeconds(30)))
			.as("global Poller stopped; still registered: %s", Poller.global().producerIds())
			.isTrue();
		await().atMost(Duration.ofSeconds(30)).until(() -> TestProducers.threadsNamed(GLOBAL_THREAD).isEmpty());
		this.otherPollerThreads = TestProducers.threadsNamed("waterdrop.poller#").stream().map(Thread::getName).toList();
		this.topic = KafkaTestBroker.uniqueTopic("poller-threads");
		KafkaTestBroker.createTopic(this.topic, 3);
	}

	@AfterEach
	void closeProducers() {
		this.producers.closeAll();
	}

	@Test
	void fdModeProducersShareTheOneGlobalPollerThread() throws InterruptedException {
		List<Producer> fd = createProducers("fd", PollingMode.FD, null, PRODUCERS);

		assertAllAcknowledged(fd);

		assertThat(TestProducers.threadsNamed(GLOBAL_THREAD)).singleElement()
			.extracting(Thread::getName)
			.isEqualTo(GLOBAL_THREAD);
		assertThat(TestProducers.threadsNamed("waterdrop.dispatch-")).isEmpty();
		assertThat(fd).extracting(Producer::pollerName).containsOnly("global");
		assertThat(Poller.global().registeredProducers()).isEqualTo(PRODUCERS);
		assertThat(Poller.global().producerIds()).containsExactlyInAnyOrderElementsOf(ids(fd));

		this.producers.closeAll();
		assertThat(Poller.global().awaitStopped(Duration.ofSeconds(30))).isTrue();
		assertThat(Poller.global().registeredProducers()).isZero();
		await().atMost(Duration.ofSeconds(30)).until(() -> TestProducers.threadsNamed(GLOBAL_THREAD).isEmpty());
	}

	@Test
	void threadModeGivesEveryProducerAThreadOfItsOwn() {
		String prefix = TestProducers.uniqueId("thread-mode");
		List<Producer> threaded = createProducers(prefix, PollingMode.THREAD, null, PRODUCERS);

		assertAllAcknowledged(threaded);

		List<String> expectedThreads = ids(threaded).stream().map((id) -> "waterdrop.dispatch-" + id).toList();
		assertThat(TestProducers.threadsNamed("waterdrop.dispatch-" + prefix)).extracting(Thread::getName)
			.containsExactlyInAnyOrderElementsOf(expectedThreads);
		assertThat(threaded).allSatisfy(
				(producer) -> assertThat(producer.pollerName()).isEqualTo("waterdrop.dispatch-" + producer.id()));
		// Thread mode leaves the global Poller alone.
		assertThat(TestProducers.threadsNamed(GLOBAL_THREAD)).isEmpty();
		assertThat(Poller.global().registeredProducers()).isZero();

		this.producers.closeAll();
		await().atMost(Duration.ofSeconds(30)).until(() -> TestProducers.threadsNamed("waterdrop.dispatch-" + prefix).isEmpty());
	}

	@Test
	void dedicatedPollersAddOneThreadEachThatEndsWithTheirLastProducer() throws InterruptedException {
		String suffix = TestProducers.uniqueId("");
		Poller critical = new Poller(PollerConfig.named("critical" + suffix));
		Poller bulk = new Poller(PollerConfig.named("bulk" + suffix));
		List<Producer> global = createProducers("on-global", PollingMode.FD, null, PRODUCERS);
		TestProducers criticalProducers = new TestProducers();
		TestProducers bulkProducers = new TestProducers();
		List<Producer> onCritical = createProducers(criticalProducers, "on-critical", critical, 3);
		List<Producer> onBulk = createProducers(bulkProducers, "on-bulk", bulk, 3);
		try {
			assertAllAcknowledged(global);
			assertAllAcknowledged(onCritical);
			assertAllAcknowledged(onBulk);

			assertThat(critical.threadName()).matches("waterdrop\\.poller#[1-9][0-9]*-critical" + suffix);
			assertThat(bulk.threadName()).matches("waterdrop\\.poller#[1-9][0-9]*-bulk" + suffix)
				.isNotEqualTo(critical.threadName());
			assertThat(pollerThreadNames()).containsExactlyInAnyOrder(GLOBAL_THREAD, critical.threadName(),
					bulk.threadName());
			assertThat(onCritical).extracting(Producer::pollerName).containsOnly(critical.name());
			assertThat(onBulk).extracting(Producer::pollerName).containsOnly(bulk.name());
			assertThat(Poller.global().producerIds()).containsExactlyInAnyOrderElementsOf(ids(global));
			assertThat(critical.producerIds()).containsExactlyInAnyOrderElementsOf(ids(onCritical));
			assertThat(bulk.producerIds()).containsExactlyInAnyOrderElementsOf(ids(onBulk));

			// Each Poller's thread ends with its own last producer; the others keep running.
			criticalProducers.closeAll();
			assertThat(critical.awaitStopped(Duration.ofSeconds(30))).isTrue();
			assertThat(critical.registeredProducers()).isZero();
			await().atMost(Duration.ofSeconds(30)).until(() -> TestProducers.threadsNamed(critical.threadName()).isEmpty());
			assertThat(bulk.isRunning()).isTrue();
			assertThat(pollerThreadNames()).containsExactlyInAnyOrder(GLOBAL_THREAD, bulk.threadName());
			assertAllAcknowledged(onBulk);

			bulkProducers.closeAll();
			assertThat(bulk.awaitStopped(Duration.ofSeconds(30))).isTrue();
			await().atMost(Duration.ofSeconds(30)).until(() -> TestProducers.threadsNamed(bulk.threadName()).isEmpty());
			assertThat(pollerThreadNames()).containsExactly(GLOBAL_THREAD);
			assertAllAcknowledged(global);
		}
		finally {
			criticalProducers.closeAll();
			bulkProducers.closeAll();
		}
	}

	private List<Producer> createProducers(String idPrefix, PollingMode mode, Poller poller, int count) {
		List<Producer> created = new ArrayList<>();
		for (int i = 0; i < count; i++) {
			created.add(this.producers.create(TestProducers.config(idPrefix).pollingMode(mode).poller(poller)));
		}
		return created;
	}

	private List<Producer> createProducers(TestProducers owner, String idPrefix, Poller poller, int count) {
		List<Producer> created = new ArrayList<>();
		for (int i = 0; i < count; i++) {
			created.add(owner.create(TestProducers.config(idPrefix).poller(poller)));
		}
		return created;
	}

	/** Every producer sends a batch concurrently with the others; every message must be acknowledged. */
	private void assertAllAcknowledged(List<Producer> producers) {
		List<DeliveryHandle> handles = new ArrayList<>();
		for (int i = 0; i < MESSAGES_PER_PRODUCER; i++) {
			for (Producer producer : producers) {
				handles.add(producer.produceAsync(Message.of(this.topic, producer.id() + "-" + i)));
			}
		}
		assertThat(handles).allSatisfy((handle) -> assertThat(handle.await().topic()).isEqualTo(this.topic));
	}

	/** Poller threads started during this test. */
	private List<String> pollerThreadNames() {
		List<String> names = new ArrayList<>(
				TestProducers.threadsNamed("waterdrop.poller#").stream().map(Thread::getName).toList());
		this.otherPollerThreads.forEach(names::remove);
		return names;
	}

	private static List<String> ids(List<Producer> producers) {
		return producers.stream().map(Producer::id).toList();
	}

}
