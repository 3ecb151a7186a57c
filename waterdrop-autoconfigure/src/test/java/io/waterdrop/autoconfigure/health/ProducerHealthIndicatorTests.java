package io.waterdrop.autoconfigure.health;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;

import io.waterdrop.DeliveryHandle;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerConfig;
import io.waterdrop.ProducerFaults;
import io.waterdrop.ProducerStatus;
import io.waterdrop.TransactionFailedException;
import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingMode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * The states of {@link ProducerHealthIndicator}. A {@link MockProducer} plays Kafka (the test thread completes
 * or fails sends as the network thread would) and a clock the test moves stands for time passing.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ProducerHealthIndicatorTests {

	private static final Duration WINDOW = Duration.ofMinutes(1);

	private static final Instant START = Instant.parse("2025-01-01T00:00:00Z");

	private final MockProducer<byte[], byte[]> kafka = new MockProducer<>(false, null, new ByteArraySerializer(),
			new ByteArraySerializer()) {

		@Override
		public synchronized void flush() {
			// MockProducer's would complete every send; a closing producer waits for the test to complete them
		}

	};

	private final Poller poller = new Poller(PollerConfig.named("health-test"));

	private final MovingClock clock = new MovingClock(START);

	private Producer producer;

	private ProducerHealthIndicator indicator;

	@AfterEach
	void close() {
		while (this.kafka.completeNext()) {
			// MockProducer fires no callbacks on close, unlike KafkaProducer
		}
		if (this.producer != null) {
			this.producer.close();
		}
	}

	private void create(ProducerConfig.Builder builder) {
		create(builder, this.kafka);
	}

	private void create(ProducerConfig.Builder builder, MockProducer<byte[], byte[]> client) {
		this.producer = new Producer(builder.id("orders").clientFactory((properties) -> client).build());
		this.indicator = new ProducerHealthIndicator(this.producer, WINDOW, this.clock);
	}

	@Test
	void notConnectedYetIsUnknown() {
		create(ProducerConfig.builder().poller(this.poller));
		Health health = this.indicator.health();
		assertThat(health.getStatus()).isEqualTo(Status.UNKNOWN);
		assertThat(health.getDetails()).containsExactly(Map.entry("mode", "fd"), Map.entry("poller", "health-test"),
				Map.entry("status", "CONFIGURED"), Map.entry("inFlight", 0L), Map.entry("pendingReports", 0));
	}

	/** The last acknowledgement's time is when it was dispatched, not when a health check first saw it. */
	@Test
	void connectedIsUpAndShowsTheLastAcknowledgement() {
		create(ProducerConfig.builder().poller(this.poller));
		this.producer.connect();
		assertThat(this.indicator.health().getStatus()).isEqualTo(Status.UP);
		DeliveryHandle handle = this.producer.produceAsync(Message.of("orders", "one"));
		assertThat(this.indicator.health().getDetails()).containsEntry("inFlight", 1L);
		Instant before = Instant.now().truncatedTo(ChronoUnit.MILLIS);
		this.kafka.completeNext();
		handle.await();
		await().atMost(Duration.ofSeconds(30)).until(() -> this.producer.stats().acknowledged() == 1);
		Instant after = Instant.now();
		this.clock.advance(Duration.ofMinutes(6));
		Health health = this.indicator.health();
		assertThat(health.getStatus()).isEqualTo(Status.UP);
		assertThat(Instant.parse((String) health.getDetails().get("lastAcknowledged"))).isBetween(before, after);
		assertThat(health.getDetails()).containsEntry("status", "CONNECTED")
			.doesNotContainKeys("failingSince", "lastError");
	}

	@Test
	void aProducerThatLostItsPollingThreadIsDown() {
		create(ProducerConfig.builder().pollingMode(PollingMode.THREAD));
		this.producer.connect();
		ProducerFaults.losePolling(this.producer);
		Health health = this.indicator.health();
		assertThat(health.getStatus()).isEqualTo(Status.DOWN);
		assertThat(health.getDetails()).containsEntry("status", "CONNECTED");
		assertThat(health.getDetails().get("reason")).asString().contains("polling thread died");
	}

	@Test
	void failingLongerThanTheWindowIsDownUntilTheNextAcknowledgement() {
		create(ProducerConfig.builder().poller(this.poller));
		this.producer.connect();
		fail("Expiring 1 record(s) for orders-0: 120000 ms has passed since batch creation");
		Health failing = this.indicator.health();
		assertThat(failing.getStatus()).isEqualTo(Status.UP);
		assertThat(failing.getDetails()).containsEntry("failingSince", START.toString())
			.containsEntry("failuresSinceAcknowledged", 1L)
			.containsEntry("lastError", Map.of("type", TimeoutException.class.getName(), "message",
					"Expiring 1 record(s) for orders-0: 120000 ms has passed since batch creation", "at",
					START.toString()));

		this.clock.advance(Duration.ofSeconds(30));
		fail("again");
		assertThat(this.indicator.health().getStatus()).isEqualTo(Status.UP);
		assertThat(this.indicator.health().getDetails()).containsEntry("failingSince", START.toString())
			.containsEntry("failuresSinceAcknowledged", 2L);

		this.clock.advance(Duration.ofSeconds(31));
		Health down = this.indicator.health();
		assertThat(down.getStatus()).isEqualTo(Status.DOWN);
		assertThat(down.getDetails().get("reason")).asString().contains("failure window (1m)");

		DeliveryHandle handle = this.producer.produceAsync(Message.of("orders", "recovered"));
		this.kafka.completeNext();
		handle.await();
		await().atMost(Duration.ofSeconds(30)).until(() -> this.indicator.health().getStatus().equals(Status.UP));
		assertThat(this.indicator.health().getDetails()).doesNotContainKeys("failingSince", "failuresSinceAcknowledged")
			.containsKey("lastError");
	}

	@Test
	void aFailureAfterALongQuietSpellIsNotDownAtOnce() {
		create(ProducerConfig.builder().poller(this.poller));
		this.producer.connect();
		this.clock.advance(Duration.ofMinutes(10));
		fail("first failure in ten minutes");
		assertThat(this.indicator.health().getStatus()).isEqualTo(Status.UP);
		this.clock.advance(WINDOW);
		fail("still failing a window later");
		assertThat(this.indicator.health().getStatus()).isEqualTo(Status.UP);
		this.clock.advance(Duration.ofMillis(1));
		assertThat(this.indicator.health().getStatus()).isEqualTo(Status.DOWN);
	}

	/**
	 * One failure and then nothing to send (or an idle disconnect) is not down for good: in a readiness group
	 * that would keep traffic away, and with it the acknowledgement that ends the run of failures.
	 */
	@Test
	void failuresThatStoppedAWindowAgoAreNoLongerDown() {
		create(ProducerConfig.builder().poller(this.poller));
		this.producer.connect();
		fail("the only failure");
		this.clock.advance(WINDOW.multipliedBy(10));
		assertThat(this.indicator.health().getStatus()).isEqualTo(Status.UP);

		fail("failing again"); // a new run of failures, not the old one going on
		assertThat(this.indicator.health().getStatus()).isEqualTo(Status.UP);
		this.clock.advance(WINDOW.dividedBy(2));
		fail("still");
		this.clock.advance(WINDOW.dividedBy(2).plusMillis(1));
		fail("and still");
		assertThat(this.indicator.health().getStatus()).isEqualTo(Status.DOWN);
		this.producer.disconnect();
		this.clock.advance(WINDOW.plusMillis(1));
		assertThat(this.indicator.health().getStatus()).isEqualTo(Status.UP);
		assertThat(this.indicator.health().getDetails()).containsKey("lastError");
	}

	/**
	 * A disconnected producer whose Kafka client cannot be created again (a transactional one's
	 * initTransactions times out) refuses every message before it reaches Kafka: no delivery fails, yet the
	 * producer is as useless as one whose deliveries do.
	 */
	@Test
	void connectsFailingLongerThanTheWindowAreDownUntilTheNextAcknowledgement() {
		AtomicBoolean brokerGone = new AtomicBoolean();
		MockProducer<byte[], byte[]> afterwards = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		AtomicInteger created = new AtomicInteger();
		createConnectingWhile(brokerGone, () -> (created.getAndIncrement() == 0) ? this.kafka : afterwards);
		this.producer.connect();
		this.producer.disconnect();
		brokerGone.set(true);

		connectsFailingForLongerThanTheWindow(() -> {
			assertThat(this.indicator.health().getStatus()).isEqualTo(Status.UP);
			assertThat(this.indicator.health().getDetails()).containsEntry("failingSince", START.toString());
		});

		Health down = this.indicator.health();
		assertThat(down.getStatus()).isEqualTo(Status.DOWN);
		assertThat(down.getDetails()).containsEntry("status", "DISCONNECTED")
			.containsEntry("failuresSinceAcknowledged", 2L);
		assertThat(down.getDetails().get("reason")).asString().startsWith("connecting (creating its Kafka client)");

		brokerGone.set(false);
		this.producer.produceAsync(Message.of("orders", "back")).await();
		await().atMost(Duration.ofSeconds(30)).until(() -> this.indicator.health().getStatus().equals(Status.UP));
	}

	/**
	 * A producer that never connected, whose connects keep failing (a runtime producer whose template names no
	 * reachable broker), is down after the window as a connected one would be, not unknown for ever.
	 */
	@Test
	void aProducerWhoseFirstConnectsKeepFailingIsDownAfterTheWindow() {
		createConnectingWhile(new AtomicBoolean(true), () -> this.kafka);

		connectsFailingForLongerThanTheWindow(
				() -> assertThat(this.indicator.health().getStatus()).isEqualTo(Status.UNKNOWN));

		Health down = this.indicator.health();
		assertThat(down.getStatus()).isEqualTo(Status.DOWN);
		assertThat(down.getDetails()).containsEntry("status", "CONFIGURED");
		assertThat(down.getDetails().get("reason")).asString().startsWith("connecting (creating its Kafka client)");
		this.clock.advance(WINDOW.plusSeconds(1)); // no failure for a window: not down for good
		assertThat(this.indicator.health().getStatus()).isEqualTo(Status.UNKNOWN);
	}

	/** A producer (and its indicator) whose Kafka clients cannot be created while {@code brokerGone}. */
	private void createConnectingWhile(AtomicBoolean brokerGone, Supplier<MockProducer<byte[], byte[]>> clients) {
		this.producer = new Producer(ProducerConfig.builder()
			.id("orders")
			.poller(this.poller)
			.clientFactory((properties) -> {
				if (brokerGone.get()) {
					throw new TimeoutException("Timeout expired after 60000ms awaiting InitProducerId (simulated)");
				}
				return clients.get();
			})
			.build());
		this.indicator = new ProducerHealthIndicator(this.producer, WINDOW, this.clock);
	}

	/**
	 * Messages refused because the connect fails: one now ({@code afterTheFirst} then looks at the health), one
	 * 30 s later, and the window is over 61 s after the first.
	 */
	private void connectsFailingForLongerThanTheWindow(Runnable afterTheFirst) {
		assertThatExceptionOfType(TimeoutException.class)
			.isThrownBy(() -> this.producer.produceAsync(Message.of("orders", "refused")));
		afterTheFirst.run();
		this.clock.advance(Duration.ofSeconds(30));
		assertThatExceptionOfType(TimeoutException.class)
			.isThrownBy(() -> this.producer.produceAsync(Message.of("orders", "refused again")));
		this.clock.advance(Duration.ofSeconds(31));
	}

	/**
	 * A transactional producer's messages are acknowledged before a commit that may still fail, and a fenced one
	 * fails as it begins: its successes are commits, and failing transactions make it DOWN as failing deliveries
	 * do (a fenced producer needs a restart, which readiness must see).
	 */
	@Test
	void aTransactionalProducerWhoseTransactionsKeepFailingIsDownUntilOneCommits() {
		MockProducer<byte[], byte[]> client = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		create(ProducerConfig.builder().poller(this.poller).kafka("transactional.id", "orders-health"), client);
		client.commitTransactionException = new KafkaException("commit refused (simulated)");
		failTransaction();
		this.clock.advance(Duration.ofSeconds(30));
		failTransaction();
		this.clock.advance(Duration.ofSeconds(31));

		Health down = this.indicator.health();

		assertThat(this.producer.stats().acknowledged()).as("its messages were acknowledged").isPositive();
		assertThat(down.getStatus()).isEqualTo(Status.DOWN);
		assertThat(down.getDetails().get("reason")).asString()
			.startsWith("transactions (their commits) have kept failing")
			.endsWith("with no transaction committed");
		client.commitTransactionException = null;
		this.producer.transaction((transaction) -> transaction.produceAsync(Message.of("orders", "committed")));
		assertThat(this.indicator.health().getStatus()).isEqualTo(Status.UP);
	}

	/** A fenced producer (not rebuilt, by default) fails every transaction as it begins: DOWN after the window. */
	@Test
	void aFencedTransactionalProducerIsDown() {
		MockProducer<byte[], byte[]> client = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		create(ProducerConfig.builder().poller(this.poller).kafka("transactional.id", "orders-fenced"), client);
		this.producer.transaction((transaction) -> transaction.produceAsync(Message.of("orders", "committed")));
		client.beginTransactionException = new ProducerFencedException("fenced by a newer instance (simulated)");
		for (int attempt = 0; attempt < 3; attempt++) {
			assertThatExceptionOfType(ProducerFencedException.class).isThrownBy(() -> this.producer
				.transaction((transaction) -> transaction.produceAsync(Message.of("orders", "x"))));
			this.clock.advance(Duration.ofSeconds(31));
		}

		Health down = this.indicator.health();

		assertThat(down.getStatus()).isEqualTo(Status.DOWN);
		assertThat(down.getDetails().get("lastError")).asString().contains(ProducerFencedException.class.getName());
	}

	private void failTransaction() {
		assertThatExceptionOfType(TransactionFailedException.class).isThrownBy(
				() -> this.producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "x"))));
	}

	@Test
	void onlyDeliveryFailuresCount() {
		create(ProducerConfig.builder().poller(this.poller));
		this.producer.connect();
		this.producer.monitor()
			.publish(new ProducerEvent.ErrorOccurred("orders", ErrorType.CALLBACK, new IllegalStateException("bug"),
					Message.of("orders", "x"), null));
		this.producer.monitor()
			.publish(new ProducerEvent.ErrorOccurred("orders", ErrorType.MESSAGE_PRODUCE_ASYNC,
					new IllegalStateException("refused"), Message.of("orders", "x"), null));
		this.clock.advance(WINDOW.multipliedBy(2));
		assertThat(this.indicator.health().getStatus()).isEqualTo(Status.UP);
		assertThat(this.indicator.health().getDetails()).doesNotContainKeys("failingSince", "lastError");
	}

	@Test
	void closingAndClosedAreOutOfService() {
		create(ProducerConfig.builder().poller(this.poller));
		this.producer.connect();
		this.producer.produceAsync(Message.of("orders", "in flight"));
		this.producer.closeAsync(Duration.ofSeconds(20));
		await().atMost(Duration.ofSeconds(30)).until(() -> this.producer.status() == ProducerStatus.CLOSING);
		assertThat(this.indicator.health().getStatus()).isEqualTo(Status.OUT_OF_SERVICE);
		assertThat(this.indicator.health().getDetails()).containsEntry("status", "CLOSING")
			.containsEntry("inFlight", 1L);
		this.kafka.completeNext();
		await().atMost(Duration.ofSeconds(30)).until(() -> this.producer.status() == ProducerStatus.CLOSED);
		assertThat(this.indicator.health().getStatus()).isEqualTo(Status.OUT_OF_SERVICE);
		assertThat(this.indicator.health().getDetails()).containsEntry("status", "CLOSED");
	}

	@Test
	void threadModeNamesItsDispatchThread() {
		create(ProducerConfig.builder().pollingMode(PollingMode.THREAD));
		assertThat(this.indicator.health().getDetails()).containsEntry("mode", "thread").doesNotContainKey("poller");
		this.producer.connect();
		assertThat(this.indicator.health().getStatus()).isEqualTo(Status.UP);
		assertThat(this.indicator.health().getDetails()).containsEntry("poller", "waterdrop.dispatch-orders");
	}

	/** One send that Kafka fails, dispatched and recorded at the clock's present time. */
	private void fail(String error) {
		long failures = this.producer.stats().failed();
		DeliveryHandle handle = this.producer.produceAsync(Message.of("orders", "lost"));
		this.kafka.errorNext(new TimeoutException(error));
		await().atMost(Duration.ofSeconds(30)).until(handle::isDone);
		await().atMost(Duration.ofSeconds(30)).until(() -> this.indicator.health().getDetails().get("lastError") instanceof Map<?, ?> last
				&& error.equals(last.get("message")));
		// Counted per dispatched batch, just after the events: wait for it.
		await().atMost(Duration.ofSeconds(30)).until(() -> this.producer.stats().failed() == failures + 1);
	}

	/** A clock that stands still until the test moves it. */
	private static final class MovingClock extends Clock {

		private volatile Instant now;

		MovingClock(Instant start) {
			this.now = start;
		}

		void advance(Duration duration) {
			this.now = this.now.plus(duration);
		}

		@Override
		public Instant instant() {
			return this.now;
		}

		@Override
		public ZoneId getZone() {
			return ZoneOffset.UTC;
		}

		@Override
		public Clock withZone(ZoneId zone) {
			throw new UnsupportedOperationException();
		}

	}

}
