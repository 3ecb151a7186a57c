package io.waterdrop;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.producer.ProducerConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.PollingMode;
import io.waterdrop.testing.KafkaTestBroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

/**
 * Closing never loses a message: every message handed to a producer ends as exactly one of acknowledged,
 * failed or purged, and its report is dispatched (handle completed, callback run, event published) before
 * close returns.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class CloseIntegrationTests {

	/**
	 * Lingering that outlasts every bound below by far: a close that waited it out (instead of flushing or
	 * purging) fails them, while a busy machine does not. Set with a delivery timeout a minute longer, as Kafka
	 * wants at least linger plus request timeout.
	 */
	private static final int LONG_LINGER_MS = 120_000;

	/** The producers' maxWaitTimeout ({@link TestProducers#config}), which bounds the purge after a close timeout. */
	private static final Duration MAX_WAIT = Duration.ofSeconds(30);

	/** Slack on top of a configured timeout for purging, releasing and a busy machine. */
	private static final Duration SLACK = Duration.ofSeconds(30);

	private final TestProducers producers = new TestProducers();

	@AfterEach
	void closeProducers() {
		this.producers.closeAll();
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void closeReturnsOnlyAfterEveryReportOfThousandsInFlightWasDispatched(PollingMode mode) {
		int count = 5_000;
		String topic = topic("close-drain", 3);
		// Lingering keeps the last batches unsent when close begins (however slowly this thread got here), so
		// close really has to wait for them; its flush sends them at once.
		Producer producer = this.producers
			.create(TestProducers.config("close-drain").pollingMode(mode).kafka(ProducerConfig.LINGER_MS_CONFIG, 5_000));
		Outcomes outcomes = Outcomes.track(producer);
		List<DeliveryHandle> handles = new ArrayList<>(count);
		for (int i = 0; i < count; i++) {
			Message message = Message.builder(topic).key("key-" + (i % 50)).payload("message-" + i).label(i).build();
			handles.add(producer.produceAsync(message, outcomes.callback(i)));
		}
		long inFlightAtClose = producer.inFlight();

		producer.close();

		// Nothing is awaited here: close itself must have waited.
		assertThat(inFlightAtClose).as("messages in flight when close began").isPositive();
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(handles).allMatch(DeliveryHandle::isDone);
		assertThat(handles)
			.allSatisfy((handle) -> assertThat(handle.await(Duration.ZERO).label()).isEqualTo(handle.label()));
		assertThat(producer.stats().acknowledged()).isEqualTo(count);
		assertThat(producer.stats().dispatched()).isEqualTo(count);
		assertThat(producer.inFlight()).isZero();
		assertThat(producer.queueSize()).isZero();
		outcomes.assertEachExactlyOnce(count);
		assertThat(outcomes.acknowledgedEvents).hasSize(count);
		assertThat(KafkaTestBroker.recordCount(topic)).isEqualTo(count);
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void closeForcefullyEndsEveryMessageWithExactlyOneOutcome(PollingMode mode) {
		int count = 2_000;
		String topic = topic("close-forcefully", 2);
		// Full batches go out at once, the last ones linger for minutes: a mix of delivered and purged.
		Producer producer = this.producers.create(TestProducers.config("close-forcefully")
			.pollingMode(mode)
			.kafka(ProducerConfig.LINGER_MS_CONFIG, LONG_LINGER_MS)
			.kafka(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, LONG_LINGER_MS + 60_000)
			.kafka(ProducerConfig.BATCH_SIZE_CONFIG, 16_384));
		Outcomes outcomes = Outcomes.track(producer);
		List<DeliveryHandle> handles = new ArrayList<>(count);
		for (int i = 0; i < count; i++) {
			Message message = Message.builder(topic).partition(i % 2).payload("x".repeat(100)).label(i).build();
			handles.add(producer.produceAsync(message, outcomes.callback(i)));
		}

		long started = System.nanoTime();
		producer.closeForcefully();

		assertThat(Duration.ofNanos(System.nanoTime() - started)).as("a forced close does not wait for linger.ms")
			.isLessThan(MAX_WAIT.plus(SLACK));
		assertThat(handles).allMatch(DeliveryHandle::isDone);
		List<Object> acknowledged = new ArrayList<>();
		List<Object> purged = new ArrayList<>();
		for (DeliveryHandle handle : handles) {
			Throwable failure = catchThrowable(() -> handle.await(Duration.ZERO));
			if (failure == null) {
				acknowledged.add(handle.label());
			}
			else {
				assertThat(failure).isInstanceOf(MessagePurgedException.class)
					.hasMessageContaining("purged undelivered")
					.hasMessageContaining("producer '" + producer.id() + "' purged what it had not delivered");
				assertThat(((MessagePurgedException) failure).label()).isEqualTo(handle.label());
				purged.add(handle.label());
			}
		}
		ProducerStats stats = producer.stats();
		assertThat(purged).as("lingering messages were purged").isNotEmpty();
		assertThat(stats.acknowledged() + stats.failed() + stats.purged()).isEqualTo(count);
		assertThat(stats.acknowledged()).isEqualTo(acknowledged.size());
		assertThat(stats.purged()).isEqualTo(purged.size());
		assertThat(stats.failed()).isZero();
		assertThat(producer.inFlight()).isZero();
		outcomes.assertEachExactlyOnce(count);
		assertThat(outcomes.purgedEvents).extracting(ProducerEvent.MessagePurged::label)
			.containsExactlyInAnyOrderElementsOf(purged);
		assertThat(outcomes.acknowledgedEvents).extracting((event) -> event.report().label())
			.containsExactlyInAnyOrderElementsOf(acknowledged);
		assertThat(outcomes.errorEvents).isEmpty();
		// What was acknowledged is on the broker (aborted in-flight batches may have landed as well).
		assertThat(KafkaTestBroker.recordCount(topic)).isGreaterThanOrEqualTo(acknowledged.size());
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void closeSendsLingeringMessagesAtOnceInsteadOfWaitingOutLingerOrPurgingThem(PollingMode mode) {
		int count = 50;
		String topic = topic("close-flush", 1);
		Producer producer = this.producers.create(TestProducers.config("close-flush")
			.pollingMode(mode)
			.kafka(ProducerConfig.LINGER_MS_CONFIG, LONG_LINGER_MS)
			.kafka(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, LONG_LINGER_MS + 60_000));
		Outcomes outcomes = Outcomes.track(producer);
		List<DeliveryHandle> handles = new ArrayList<>(count);
		for (int i = 0; i < count; i++) {
			handles.add(producer.produceAsync(Message.builder(topic).payload("m-" + i).label(i).build(),
					outcomes.callback(i)));
		}

		Duration timeout = Duration.ofSeconds(60);
		long started = System.nanoTime();
		producer.close(timeout);
		Duration took = Duration.ofNanos(System.nanoTime() - started);

		// The broker is healthy: a close must deliver them (as Kafka's own close does), not wait out the
		// 2 min linger and purge them at its timeout.
		assertThat(producer.stats().acknowledged()).isEqualTo(count);
		assertThat(producer.stats().purged()).isZero();
		assertThat(took).isLessThan(timeout);
		assertThat(handles).allMatch(DeliveryHandle::isDone);
		outcomes.assertEachExactlyOnce(count);
		assertThat(KafkaTestBroker.recordCount(topic)).isEqualTo(count);
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void closeWithTinyTimeoutPurgesWhatIsNotDeliveredByThen(PollingMode mode) {
		int count = 2_000;
		String topic = topic("close-timeout", 2);
		Producer producer = this.producers.create(TestProducers.config("close-timeout")
			.pollingMode(mode)
			.kafka(ProducerConfig.LINGER_MS_CONFIG, LONG_LINGER_MS)
			.kafka(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, LONG_LINGER_MS + 60_000)
			.kafka(ProducerConfig.BATCH_SIZE_CONFIG, 1_048_576));
		Outcomes outcomes = Outcomes.track(producer);
		List<DeliveryHandle> handles = new ArrayList<>(count);
		for (int i = 0; i < count; i++) {
			handles.add(producer.produceAsync(
					Message.builder(topic).partition(i % 2).payload("x".repeat(100)).label(i).build(),
					outcomes.callback(i)));
		}

		long started = System.nanoTime();
		producer.close(Duration.ofMillis(1));
		Duration took = Duration.ofNanos(System.nanoTime() - started);

		// The close timeout, then the purge's own bound (maxWaitTimeout): never the 2 min linger.
		assertThat(took).isLessThan(MAX_WAIT.plus(SLACK));
		assertThat(handles).allMatch(DeliveryHandle::isDone);
		long purged = handles.stream()
			.filter((handle) -> catchThrowable(() -> handle.await(Duration.ZERO)) instanceof MessagePurgedException)
			.count();
		ProducerStats stats = producer.stats();
		// Usually most are purged, but the close's flush races the 1 ms timeout: only the sum is certain (purging
		// itself is proven with a client that cannot deliver, in ShutdownRaceTests and BrokerFaultTests).
		assertThat(purged).isEqualTo(stats.purged());
		assertThat(stats.acknowledged() + stats.purged()).isEqualTo(count);
		assertThat(stats.failed()).isZero();
		assertThat(producer.inFlight()).isZero();
		outcomes.assertEachExactlyOnce(count);
		assertThat(outcomes.purgedEvents).hasSize((int) purged);
		assertThat(outcomes.acknowledgedEvents).hasSize(count - (int) purged);
	}

	@Test
	void undeliverableMessagesFailOnceEachAndCloseForcefullyFindsNothingToPurge() throws IOException {
		int count = 20;
		Producer producer = this.producers.create(TestProducers.config("closed-port")
			.kafka(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + closedPort())
			// Metadata never comes: each send gives up after max.block.ms and reports a failure.
			.kafka(ProducerConfig.MAX_BLOCK_MS_CONFIG, 50)
			.kafka(ProducerConfig.RECONNECT_BACKOFF_MS_CONFIG, 10));
		Outcomes outcomes = Outcomes.track(producer);
		List<DeliveryHandle> handles = new ArrayList<>(count);
		for (int i = 0; i < count; i++) {
			handles.add(producer.produceAsync(Message.builder("nowhere").payload("m-" + i).label(i).build(),
					outcomes.callback(i)));
		}

		producer.closeForcefully();

		assertThat(handles).allMatch(DeliveryHandle::isDone);
		assertThat(handles).allSatisfy((handle) -> assertThat(catchThrowable(() -> handle.await(Duration.ZERO)))
			.isExactlyInstanceOf(DeliveryFailedException.class)
			.hasMessageContaining("was not delivered by producer '" + producer.id() + "'"));
		assertThat(producer.stats().failed()).isEqualTo(count);
		assertThat(producer.stats().acknowledged() + producer.stats().purged()).isZero();
		assertThat(producer.inFlight()).isZero();
		outcomes.assertEachExactlyOnce(count);
		assertThat(outcomes.errorEvents).hasSize(count).allSatisfy((event) -> {
			assertThat(event.type()).isEqualTo(ErrorType.DELIVERY);
			assertThat(event.message()).isNotNull();
			assertThat(event.label()).isEqualTo(event.message().label());
		});
		assertThat(outcomes.purgedEvents).isEmpty();
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void closeFromACallbackReturnsAtOnceAndStillDispatchesEveryReport(PollingMode mode) throws Exception {
		int count = 500;
		String topic = topic("close-in-callback", 1);
		Producer producer = this.producers.create(TestProducers.config("close-in-callback").pollingMode(mode));
		Outcomes outcomes = Outcomes.track(producer);
		List<ProducerEvent.Closed> closed = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Closed.class, closed::add);
		CompletableFuture<String> closedOn = new CompletableFuture<>();
		producer.monitor()
			.subscribe(ProducerEvent.Closed.class, (event) -> closedOn.complete(Thread.currentThread().getName()));
		CompletableFuture<ProducerStatus> statusAfterClose = new CompletableFuture<>();
		List<DeliveryHandle> handles = new ArrayList<>(count);
		for (int i = 0; i < count; i++) {
			DeliveryCallback track = outcomes.callback(i);
			boolean first = i == 0;
			handles.add(producer.produceAsync(Message.builder(topic).payload("m-" + i).label(i).build(),
					(report, failure) -> {
						track.onDelivery(report, failure);
						if (first) {
							// On the polling thread a waiting close would deadlock: it must only start the close,
							// which cannot end while this callback holds the polling thread.
							producer.close();
							statusAfterClose.complete(producer.status());
						}
					}));
		}

		assertThat(statusAfterClose.get(60, TimeUnit.SECONDS)).as("status right after close() in the callback")
			.isEqualTo(ProducerStatus.CLOSING);
		await()
			.atMost(Duration.ofSeconds(60))
			.until(() -> producer.status() == ProducerStatus.CLOSED);
		assertThat(closed).hasSize(1);
		assertThat(closedOn).isCompletedWithValue("waterdrop.close-" + producer.id());
		assertThat(handles).allMatch(DeliveryHandle::isDone);
		assertThat(producer.stats().acknowledged()).isEqualTo(count);
		assertThat(producer.inFlight()).isZero();
		outcomes.assertEachExactlyOnce(count);
		// A close from another thread now finds it closed and returns.
		producer.close();
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void messagesRacingACloseAreEitherRefusedOrDispatched(PollingMode mode) throws Exception {
		String topic = topic("close-race", 3);
		Producer producer = this.producers.create(TestProducers.config("close-race").pollingMode(mode));
		Outcomes outcomes = Outcomes.track(producer);
		List<DeliveryHandle> accepted = new CopyOnWriteArrayList<>();
		AtomicInteger refused = new AtomicInteger();
		List<Throwable> unexpected = new CopyOnWriteArrayList<>();
		AtomicInteger labels = new AtomicInteger();
		producer.connect();
		List<Thread> senders = new ArrayList<>();
		for (int t = 0; t < 4; t++) {
			Thread sender = new Thread(() -> {
				while (true) {
					int label = labels.incrementAndGet();
					try {
						Message message = Message.builder(topic).payload("m-" + label).label(label).build();
						accepted.add(producer.produceAsync(message, outcomes.callback(label)));
					}
					catch (ProducerClosedException ex) {
						refused.incrementAndGet();
						return;
					}
					catch (Throwable ex) {
						unexpected.add(ex);
						return;
					}
				}
			}, "close-race-sender-" + t);
			sender.start();
			senders.add(sender);
		}
		await().atMost(Duration.ofSeconds(60)).until(() -> accepted.size() >= 2_000);

		producer.close();

		for (Thread sender : senders) {
			sender.join(TimeUnit.SECONDS.toMillis(30));
		}
		assertThat(unexpected).isEmpty();
		assertThat(refused).hasValue(senders.size());
		// Whatever was accepted had its report dispatched before close returned.
		assertThat(accepted).allMatch(DeliveryHandle::isDone);
		assertThat(producer.stats().producedAsync()).isEqualTo(accepted.size());
		assertThat(producer.stats().acknowledged()).isEqualTo(accepted.size());
		assertThat(producer.inFlight()).isZero();
		outcomes.assertEachExactlyOnce(accepted.size());
		assertThat(KafkaTestBroker.recordCount(topic)).isEqualTo(accepted.size());
	}

	private static String topic(String prefix, int partitions) {
		String topic = KafkaTestBroker.uniqueTopic(prefix);
		KafkaTestBroker.createTopic(topic, partitions);
		return topic;
	}

	private static int closedPort() throws IOException {
		try (ServerSocket socket = new ServerSocket(0)) {
			return socket.getLocalPort();
		}
	}

	/** Records every outcome a producer reports, by callback and by event. */
	private static final class Outcomes {

		final ConcurrentMap<Object, AtomicInteger> callbacks = new ConcurrentHashMap<>();

		final List<ProducerEvent.MessageAcknowledged> acknowledgedEvents = new CopyOnWriteArrayList<>();

		final List<ProducerEvent.MessagePurged> purgedEvents = new CopyOnWriteArrayList<>();

		final List<ProducerEvent.ErrorOccurred> errorEvents = new CopyOnWriteArrayList<>();

		static Outcomes track(Producer producer) {
			Outcomes outcomes = new Outcomes();
			producer.monitor().subscribe(ProducerEvent.MessageAcknowledged.class, outcomes.acknowledgedEvents::add);
			producer.monitor().subscribe(ProducerEvent.MessagePurged.class, outcomes.purgedEvents::add);
			producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, outcomes.errorEvents::add);
			return outcomes;
		}

		DeliveryCallback callback(Object label) {
			return (report, failure) -> {
				assertThat((report == null) != (failure == null)).as("exactly one of report and failure").isTrue();
				this.callbacks.computeIfAbsent(label, (key) -> new AtomicInteger()).incrementAndGet();
			};
		}

		/** Every message's callback ran, exactly once. */
		void assertEachExactlyOnce(int count) {
			assertThat(this.callbacks).hasSize(count);
			assertThat(this.callbacks.values()).allMatch((calls) -> calls.get() == 1);
		}

	}

}
