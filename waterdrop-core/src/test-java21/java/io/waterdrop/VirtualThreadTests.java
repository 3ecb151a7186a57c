package io.waterdrop;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.Timeout.ThreadMode;

import io.waterdrop.polling.PollingMode;
import io.waterdrop.testing.KafkaTestBroker;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A thousand virtual threads share one fd-mode producer, each calling {@code produceSync} against a real
 * broker: every call completes with its own report. On JDK 24 and later (where {@code synchronized} no
 * longer pins, JEP 491) a JFR recording of {@code jdk.VirtualThreadPinned} with no threshold shows that no
 * virtual thread was ever pinned inside WaterDrop's code; a deliberate pin proves the recording would see one.
 * <p>
 * Compiled and run only on JDK 21 and later (the {@code jdk21} profile adds {@code src/test-java21}).
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES, threadMode = ThreadMode.SEPARATE_THREAD)
class VirtualThreadTests {

	private static final int THREADS = 1_000;

	private static final String PINNED = "jdk.VirtualThreadPinned";

	private final TestProducers producers = new TestProducers();

	@AfterEach
	void closeProducers() {
		this.producers.closeAll();
	}

	@Test
	void thousandVirtualThreadsCallingProduceSyncOnOneProducerAllGetTheirReport() throws Exception {
		Run run = produceFromVirtualThreads(true, 0);
		run.assertComplete();
	}

	/**
	 * No warm-up: the first calls race to connect the producer and wait for the topic's metadata; and a
	 * hundred slots for a thousand callers, so most wait for a free one.
	 */
	@Test
	void thousandVirtualThreadsOnAColdProducerWithFewSlotsAllGetTheirReport() throws Exception {
		Run run = produceFromVirtualThreads(false, 100);
		run.assertComplete();
	}

	@Test
	void noVirtualThreadIsPinnedInWaterDropCode() throws Exception {
		int feature = Runtime.version().feature();
		if (feature < 24) {
			Assumptions.abort("On JDK " + feature + " Kafka's own monitors (its wait for metadata) pin virtual threads "
					+ "under produceSync, so a pin cannot be told from one of WaterDrop's (JEP 491 came in JDK 24); "
					+ "MonitorUseTests checks WaterDrop's monitors on every JDK");
		}
		Path file = Files.createTempFile("waterdrop-pinning", ".jfr");
		List<RecordedEvent> pinned = new ArrayList<>();
		try (Recording recording = new Recording()) {
			recording.enable(PINNED).withThreshold(Duration.ZERO).withStackTrace();
			recording.start();
			Run run = produceFromVirtualThreads(true, 0);
			// The control: a virtual thread that blocks in a class initializer is pinned on every JDK.
			Thread.ofVirtual().name("deliberately-pinned").start(PinsInClassInitializer::touch).join();
			recording.stop();
			recording.dump(file);
			run.assertComplete();
			for (RecordedEvent event : RecordingFile.readAllEvents(file)) {
				if (event.getEventType().getName().equals(PINNED)) {
					pinned.add(event);
				}
			}
		}
		finally {
			Files.deleteIfExists(file);
		}

		assertThat(pinned).as("the deliberate pin was recorded (else the recording proves nothing)")
			.anySatisfy((event) -> assertThat(frames(event)).anyMatch((frame) -> frame.contains("PinsInClassInitializer")));
		List<String> inWaterDrop = new ArrayList<>();
		for (RecordedEvent event : pinned) {
			List<String> frames = frames(event);
			if (frames.stream().anyMatch(VirtualThreadTests::isWaterDropCode)) {
				inWaterDrop.add(event.getDuration() + " " + (event.getStackTrace().isTruncated() ? "(truncated) " : "")
						+ String.join(" <- ", frames));
			}
		}
		System.out.println("Virtual threads pinned during the run: " + pinned.size() + " event(s), "
				+ inWaterDrop.size() + " in WaterDrop code");
		assertThat(inWaterDrop).as("pinned events with a WaterDrop frame").isEmpty();
	}

	/** WaterDrop's own code: package io.waterdrop, but not this test. */
	private static boolean isWaterDropCode(String frame) {
		return frame.startsWith("io.waterdrop.") && !frame.startsWith(VirtualThreadTests.class.getName());
	}

	private static List<String> frames(RecordedEvent event) {
		List<String> frames = new ArrayList<>();
		if (event.getStackTrace() != null) {
			for (RecordedFrame frame : event.getStackTrace().getFrames()) {
				frames.add(frame.getMethod().getType().getName() + "." + frame.getMethod().getName());
			}
		}
		return frames;
	}

	/**
	 * @param warm whether one message is produced first (connecting the producer, loading the metadata)
	 * @param maxInFlight the producer's slots; 0 for the default
	 */
	private Run produceFromVirtualThreads(boolean warm, int maxInFlight) throws Exception {
		String topic = KafkaTestBroker.uniqueTopic("virtual");
		KafkaTestBroker.createTopic(topic, 3);
		io.waterdrop.ProducerConfig.Builder config = TestProducers.config("virtual")
			.pollingMode(PollingMode.FD)
			.kafka(ProducerConfig.LINGER_MS_CONFIG, 5)
			.maxWaitTimeout(Duration.ofSeconds(60));
		if (maxInFlight > 0) {
			// Each caller waits from the start for a slot: the last ones until nearly all the others are done.
			config.maxInFlight(maxInFlight).waitTimeoutOnQueueFull(Duration.ofSeconds(60));
		}
		Producer producer = this.producers.create(config);
		if (warm) {
			producer.produceSync(Message.of(topic, "warm-up"));
		}
		AtomicInteger onVirtualThreads = new AtomicInteger();
		List<Future<DeliveryReport>> calls = new ArrayList<>(THREADS);
		long started = System.nanoTime();
		try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
			for (int i = 0; i < THREADS; i++) {
				int label = i;
				calls.add(executor.submit(() -> {
					if (Thread.currentThread().isVirtual()) {
						onVirtualThreads.incrementAndGet();
					}
					return producer.produceSync(Message.builder(topic).key("k-" + label).payload("v-" + label).label(label).build());
				}));
			}
			List<DeliveryReport> reports = new ArrayList<>(THREADS);
			for (Future<DeliveryReport> call : calls) {
				reports.add(call.get(90, TimeUnit.SECONDS));
			}
			Duration took = Duration.ofNanos(System.nanoTime() - started);
			System.out.println(THREADS + " virtual threads produced synchronously in " + took.toMillis() + " ms, "
					+ recordsPerRequest(producer) + " records per produce request");
			return new Run(topic, producer, reports, onVirtualThreads.get(), warm ? 1 : 0);
		}
	}

	private record Run(String topic, Producer producer, List<DeliveryReport> reports, int onVirtualThreads,
			int warmUps) {

		void assertComplete() {
			assertThat(this.onVirtualThreads).isEqualTo(THREADS);
			assertThat(this.reports).hasSize(THREADS);
			Set<Object> labels = new HashSet<>();
			Set<String> positions = new HashSet<>();
			for (DeliveryReport report : this.reports) {
				assertThat(report.topic()).isEqualTo(this.topic);
				labels.add(report.label());
				positions.add(report.partition() + "@" + report.offset());
			}
			assertThat(labels).hasSize(THREADS);
			assertThat(positions).as("distinct partition and offset for each").hasSize(THREADS);
			assertThat(this.producer.stats().producedSync()).isEqualTo(THREADS + this.warmUps);
			// A handle completes just before its batch's counts and slots are published: wait for them.
			org.awaitility.Awaitility.await()
				.atMost(Duration.ofSeconds(30))
				.until(() -> this.producer.inFlight() == 0);
			assertThat(this.producer.stats().acknowledged()).isEqualTo(THREADS + this.warmUps);
			assertThat(KafkaTestBroker.recordCount(this.topic)).isEqualTo(THREADS + this.warmUps);
			// Batched as Kafka batches concurrent sends: callers waiting one after another would make one
			// record per request.
			assertThat(recordsPerRequest(this.producer)).as("records per produce request").isGreaterThanOrEqualTo(2);
		}

	}

	private static double recordsPerRequest(Producer producer) {
		return producer.client()
			.metrics()
			.entrySet()
			.stream()
			.filter((metric) -> metric.getKey().group().equals("producer-metrics")
					&& metric.getKey().name().equals("records-per-request-avg"))
			.mapToDouble((metric) -> (Double) metric.getValue().metricValue())
			.findFirst()
			.orElseThrow();
	}

	/** Blocks in its static initializer: a virtual thread running it cannot unmount, so it is pinned. */
	private static final class PinsInClassInitializer {

		static {
			try {
				Thread.sleep(50);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}

		static void touch() {
		}

	}

}
