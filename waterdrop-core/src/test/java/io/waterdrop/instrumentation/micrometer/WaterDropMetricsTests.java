package io.waterdrop.instrumentation.micrometer;

import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.DeliveryFailedException;
import io.waterdrop.DeliveryHandle;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerConfig;
import io.waterdrop.ProducerStatus;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingMode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Each meter moves when it should, and only then. A {@link MockProducer} plays Kafka: the test thread
 * completes sends as the network thread would.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class WaterDropMetricsTests {

	/** Deadlock guard for waits that normally end at once. */
	private static final Duration GUARD = Duration.ofSeconds(30);

	private final MeterRegistry registry = new SimpleMeterRegistry();

	private final MockProducer<byte[], byte[]> kafka = new MockProducer<>(false, null, new ByteArraySerializer(),
			new ByteArraySerializer());

	private final Poller poller = new Poller(PollerConfig.named("metrics-test"));

	private Producer producer;

	private final List<WaterDropMetrics> binders = new ArrayList<>();

	@AfterEach
	void close() {
		while (this.kafka.completeNext()) {
			// MockProducer fires no callbacks on close, unlike KafkaProducer
		}
		if (this.producer != null) {
			this.producer.close();
		}
		this.binders.forEach(WaterDropMetrics::close);
	}

	private Producer producer(ProducerConfig.Builder builder) {
		this.producer = new Producer(builder.id("orders").clientFactory((properties) -> this.kafka).build());
		this.producer.connect();
		WaterDropMetrics metrics = new WaterDropMetrics(List.of(this.producer), List.of(this.poller));
		metrics.bindTo(this.registry);
		this.binders.add(metrics);
		return this.producer;
	}

	/** Another open producer named "orders" (of a sibling context), acknowledged at once, bound to the registry. */
	private Producer anotherOrdersProducerBound() {
		MockProducer<byte[], byte[]> otherKafka = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		Producer another = new Producer(
				ProducerConfig.builder().id("orders").clientFactory((properties) -> otherKafka).build());
		another.connect();
		new WaterDropMetrics(List.of(another), List.of()).bindTo(this.registry);
		return another;
	}

	private double count(String name, String... tags) {
		return this.registry.get(name).tags(tags).functionCounter().count();
	}

	@Test
	void latencyIsRecordedWithoutAnEventAndOnlyForMessagesProducedWhileBound() {
		this.producer = new Producer(ProducerConfig.builder()
			.id("orders")
			.poller(this.poller)
			.clientFactory((properties) -> this.kafka)
			.build());
		this.producer.connect();
		DeliveryHandle before = this.producer.produceAsync(Message.of("t", "untimed"));
		new WaterDropMetrics(List.of(this.producer), List.of(this.poller)).bindTo(this.registry);
		DeliveryHandle after = this.producer.produceAsync(Message.of("t", "timed"));
		assertThat(this.producer.monitor().isListening(ProducerEvent.MessageAcknowledged.class))
			.as("the timer builds no acknowledgement event")
			.isFalse();

		this.kafka.completeNext();
		this.kafka.completeNext();
		await().atMost(GUARD).until(() -> before.isDone() && after.isDone());
		await().atMost(GUARD).until(() -> this.producer.inFlight() == 0);

		assertThat(count("waterdrop.messages.acknowledged", "producer", "orders")).isEqualTo(2);
		assertThat(this.registry.get("waterdrop.delivery.latency").timer().count())
			.as("the message produced before binding has no produce time: not recorded as zero")
			.isEqualTo(1);
		assertThat(this.registry.get("waterdrop.delivery.latency").timer().max(TimeUnit.NANOSECONDS)).isPositive();
	}

	@Test
	void acknowledgementMetersMoveOnlyWhenReportsAreDispatched() {
		// No dispatch here is slow unless the machine stalls the Poller for a minute.
		Producer producer = producer(ProducerConfig.builder().poller(this.poller).slowCallbackThreshold(Duration.ofMinutes(1)));
		DeliveryHandle first = producer.produceAsync(Message.of("t", "a"));
		DeliveryHandle second = producer.produceAsync(Message.of("t", "b"));
		DeliveryHandle third = producer.produceAsync(Message.of("t", "c"));

		assertThat(count("waterdrop.messages.produced", "producer", "orders", "mode", "async")).isEqualTo(3);
		assertThat(count("waterdrop.messages.produced", "producer", "orders", "mode", "sync")).isZero();
		assertThat(count("waterdrop.messages.acknowledged", "producer", "orders")).isZero();
		assertThat(this.registry.get("waterdrop.messages.inflight").gauge().value()).isEqualTo(3);
		assertThat(this.registry.find("waterdrop.messages.failed").counter()).isNull();

		this.kafka.completeNext();
		this.kafka.completeNext();
		this.kafka.errorNext(new RecordTooLargeException("too large"));
		await().atMost(GUARD).until(() -> first.isDone() && second.isDone() && third.isDone());
		await().atMost(GUARD).until(() -> producer.inFlight() == 0);

		assertThat(count("waterdrop.messages.acknowledged", "producer", "orders", "poller", "metrics-test"))
			.isEqualTo(2);
		assertThat(this.registry.get("waterdrop.messages.failed")
			.tags("producer", "orders", "error", "RecordTooLargeException")
			.counter()
			.count()).isEqualTo(1);
		assertThat(this.registry.get("waterdrop.delivery.latency").timer().count()).isEqualTo(2);
		assertThat(this.registry.get("waterdrop.dispatch").functionTimer().count()).isEqualTo(3);
		assertThat(this.registry.get("waterdrop.messages.inflight").gauge().value()).isZero();
		assertThat(this.registry.get("waterdrop.reports.pending").gauge().value()).isZero();
		assertThat(count("waterdrop.messages.purged", "producer", "orders")).isZero();
		assertThat(count("waterdrop.callbacks.slow", "producer", "orders")).isZero();
	}

	@Test
	void aFailedProduceSyncThrowsWithItsFailureCounted() {
		AtomicBoolean callerLooked = new AtomicBoolean();
		// Subscribed before the meters, it holds their counting back until the caller has looked, if the caller
		// can return before the failure event; else for a second (an upper bound for the wait, not an assumption).
		Producer producer = producer(ProducerConfig.builder()
			.poller(this.poller)
			.listener((event) -> {
				if (event instanceof ProducerEvent.ErrorOccurred) {
					long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
					while (!callerLooked.get() && System.nanoTime() < deadline) {
						sleep(1);
					}
				}
			}));
		CompletableFuture.runAsync(() -> {
			await().atMost(GUARD).until(() -> !this.kafka.history().isEmpty());
			this.kafka.errorNext(new NotEnoughReplicasException("one replica"));
		});

		Counter failed = null;
		try {
			producer.produceSync(Message.of("t", "a"));
		}
		catch (DeliveryFailedException expected) {
			failed = this.registry.find("waterdrop.messages.failed")
				.tags("producer", "orders", "error", "NotEnoughReplicasException")
				.counter();
		}
		finally {
			callerLooked.set(true);
		}
		assertThat(failed).as("counted before produceSync threw").isNotNull();
		assertThat(failed.count()).isEqualTo(1);
	}

	/** A producer that waited for the meters of its name gets them when the open one that had them closes. */
	@Test
	void aProducerWaitingForTheMetersOfItsNameGetsThemWhenTheirOwnerCloses() {
		Producer first = producer(ProducerConfig.builder().poller(this.poller));
		try (Producer second = anotherOrdersProducerBound()) {
			second.produceSync(Message.of("t", "before"));
			assertThat(count("waterdrop.messages.produced", "producer", "orders", "mode", "sync")).isZero();

			first.close();

			second.produceSync(Message.of("t", "after"));
			assertThat(count("waterdrop.messages.produced", "producer", "orders", "mode", "sync"))
				.as("the second producer's own total")
				.isEqualTo(2);
		}
		assertThat(this.registry.find("waterdrop.messages.produced").meters()).isEmpty();
	}

	/**
	 * Contexts bind Poller meters into one registry (a parent and its children, the global Poller in each):
	 * they stay while a binder holds them and go with the last; they read the first Poller bound under their
	 * name (a sibling context's Poller of that name) until it is let go of, then the next.
	 */
	@Test
	void pollerMetersGoWithTheLastBinderHoldingThemAndPassToTheNextPollerOfTheirName() {
		Poller restarted = new Poller(PollerConfig.named("metrics-test"));
		WaterDropMetrics parent = new WaterDropMetrics(List.of(), List.of(this.poller));
		WaterDropMetrics child = new WaterDropMetrics(List.of(), List.of(this.poller));
		parent.bindTo(this.registry);
		child.bindTo(this.registry);

		child.close();
		assertThat(this.registry.find("waterdrop.poller.drains").tag("poller", "metrics-test").meter())
			.as("the parent still binds the Poller")
			.isNotNull();
		parent.close();
		assertThat(this.registry.find("waterdrop.poller.drains").meters()).isEmpty();
		assertThat(this.registry.getMeters()).isEmpty();

		WaterDropMetrics closedChild = new WaterDropMetrics(List.of(), List.of(this.poller));
		WaterDropMetrics nextChild = new WaterDropMetrics(List.of(), List.of(restarted));
		closedChild.bindTo(this.registry);
		nextChild.bindTo(this.registry);
		this.producer = new Producer(ProducerConfig.builder()
			.id("orders")
			.poller(restarted)
			.clientFactory((properties) -> this.kafka)
			.build());
		this.producer.connect();
		assertThat(this.registry.get("waterdrop.poller.producers").tag("poller", "metrics-test").gauge().value())
			.as("the meters read the Poller bound first")
			.isZero();
		closedChild.close();
		assertThat(this.registry.get("waterdrop.poller.producers").tag("poller", "metrics-test").gauge().value())
			.as("then the next one")
			.isEqualTo(1);
		nextChild.close();
		assertThat(this.registry.getMeters()).isEmpty();
	}

	/**
	 * Two open producers of one name in one registry (sibling contexts sharing their parent's): the first keeps
	 * its meters, the second gets none, and its close takes nothing from the first.
	 */
	@Test
	void anOpenProducersMetersStayItsOwnWhenAnotherOfItsNameIsBound() {
		Producer first = producer(ProducerConfig.builder().poller(this.poller));
		try (Producer second = anotherOrdersProducerBound()) {
			second.produceSync(Message.of("t", "second's"));
		}

		DeliveryHandle handle = first.produceAsync(Message.of("t", "first's"));
		this.kafka.errorNext(new NotEnoughReplicasException("one replica"));
		assertThat(handle.toCompletableFuture()).failsWithin(GUARD);
		assertThat(this.registry.get("waterdrop.messages.failed").tags("producer", "orders").counter().count())
			.isEqualTo(1);
		assertThat(count("waterdrop.messages.produced", "producer", "orders", "mode", "async")).isEqualTo(1);
		assertThat(count("waterdrop.messages.produced", "producer", "orders", "mode", "sync")).isZero();
	}

	/**
	 * A producer waiting for the meters of its name that closes first is let go of at once: the owner's list of
	 * waiting producers held it (and, through its settings, its whole application context) until the owner
	 * closed, so a sibling context started and closed again and again piled them up.
	 */
	@Test
	void aWaitingProducerThatClosesIsLetGoOf() {
		producer(ProducerConfig.builder().poller(this.poller));
		WeakReference<Producer> waitedAndClosed = waitedAndClosed();
		await().atMost(GUARD).untilAsserted(() -> {
			System.gc();
			assertThat(waitedAndClosed.get()).as("collected").isNull();
		});
	}

	private WeakReference<Producer> waitedAndClosed() {
		Producer second = anotherOrdersProducerBound();
		second.close();
		return new WeakReference<>(second);
	}

	@Test
	void pollerMetersCountSignalsDrainsAndProducers() {
		Producer producer = producer(ProducerConfig.builder().poller(this.poller));
		assertThat(this.registry.get("waterdrop.poller.producers").tags("poller", "metrics-test").gauge().value())
			.isEqualTo(1);
		double signalsBefore = count("waterdrop.poller.wakeups", "poller", "metrics-test", "cause", "signal");
		DeliveryHandle handle = producer.produceAsync(Message.of("t", "a"));
		this.kafka.completeNext();
		await().atMost(GUARD).until(handle::isDone);

		assertThat(count("waterdrop.poller.wakeups", "poller", "metrics-test", "cause", "signal"))
			.isGreaterThan(signalsBefore);
		assertThat(this.registry.get("waterdrop.poller.drains").functionTimer().count()).isPositive();
		assertThat(count("waterdrop.poller.loop.errors", "poller", "metrics-test")).isZero();
	}

	@Test
	void slowCallbacksAreCounted() {
		// A threshold far above a fast dispatch and below the slow callback, so that a busy machine cannot
		// make the fast one slow; the count is compared with the events that say how long each dispatch took.
		Duration threshold = Duration.ofMillis(500);
		Producer producer = producer(ProducerConfig.builder()
			.pollingMode(PollingMode.THREAD)
			.slowCallbackThreshold(threshold));
		List<ProducerEvent.SlowCallback> slowEvents = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.SlowCallback.class, slowEvents::add);
		DeliveryHandle fast = producer.produceAsync(Message.of("t", "fast"));
		this.kafka.completeNext();
		await().atMost(GUARD).until(fast::isDone);
		await().atMost(GUARD).until(() -> producer.inFlight() == 0);
		assertThat(count("waterdrop.callbacks.slow", "producer", "orders", "poller", "thread"))
			.isEqualTo(slowEvents.size());

		DeliveryHandle slow = producer.produceAsync(Message.of("t", "slow"), (report, failure) -> sleep(600));
		this.kafka.completeNext();
		await().atMost(GUARD).until(() -> slow.isDone() && producer.inFlight() == 0);
		assertThat(slowEvents).isNotEmpty()
			.allSatisfy((event) -> assertThat(event.duration()).isGreaterThan(threshold))
			.anySatisfy((event) -> assertThat(event.duration()).isGreaterThanOrEqualTo(Duration.ofMillis(600)));
		assertThat(count("waterdrop.callbacks.slow", "producer", "orders", "poller", "thread"))
			.isEqualTo(slowEvents.size());
	}

	@Test
	void closedProducerLosesItsMeters() {
		Producer producer = producer(ProducerConfig.builder().poller(this.poller));
		assertThat(this.registry.find("waterdrop.messages.acknowledged").tag("producer", "orders").meters())
			.isNotEmpty();
		producer.close();
		assertThat(this.registry.find("waterdrop.messages.acknowledged").tag("producer", "orders").meters())
			.isEmpty();
		assertThat(this.registry.find("waterdrop.delivery.latency").meters()).isEmpty();
		// Poller meters stay: the Poller outlives its producers.
		assertThat(this.registry.find("waterdrop.poller.producers").meters()).hasSize(1);
	}

	/**
	 * A runtime producer removed and created again: the new one's close must not wait for the old one's, and
	 * the old one's last failures are not counted as the new one's.
	 */
	@Test
	void aProducerBoundUnderTheNameOfOneStillClosingTakesItsMetersOver() throws Exception {
		MockProducer<byte[], byte[]> slow = new MockProducer<>(false, null, new ByteArraySerializer(),
				new ByteArraySerializer()) {

			@Override
			public synchronized void flush() {
				// MockProducer's would complete every send; the closing producer waits for the test instead
			}

		};
		Producer closing = new Producer(
				ProducerConfig.builder().id("orders").poller(this.poller).clientFactory((properties) -> slow).build());
		closing.connect();
		new WaterDropMetrics(List.of(closing), List.of(this.poller)).bindTo(this.registry);
		closing.produceAsync(Message.of("orders", "still in flight"));
		CompletableFuture<Void> closed = closing.closeAsync(GUARD);
		await().atMost(GUARD).until(() -> closing.status() == ProducerStatus.CLOSING);
		MockProducer<byte[], byte[]> kafka = new MockProducer<>(false, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		Producer successor = new Producer(
				ProducerConfig.builder().id("orders").poller(this.poller).clientFactory((properties) -> kafka).build());
		NotEnoughReplicasException refused = new NotEnoughReplicasException("refused (simulated)");
		try {
			new WaterDropMetrics(List.of(successor), List.of()).bindTo(this.registry);
			DeliveryHandle acknowledged = successor.produceAsync(Message.of("orders", "new"));
			kafka.completeNext();
			acknowledged.await();
			successor.produceAsync(Message.of("orders", "refused"));
			kafka.errorNext(refused);
			await().atMost(GUARD).until(() -> successor.stats().failed() == 1);
			slow.errorNext(refused); // the closing producer's last report, a failure too: it closes
			closed.get(GUARD.toSeconds(), TimeUnit.SECONDS);

			assertThat(closing.stats().failed()).isOne();
			assertThat(count("waterdrop.messages.produced", "producer", "orders", "mode", "async")).isEqualTo(2);
			assertThat(count("waterdrop.messages.acknowledged", "producer", "orders")).isEqualTo(1);
			// Only the successor's failure: the closing producer's neither adds to it nor takes it away.
			assertThat(this.registry.get("waterdrop.messages.failed")
				.tags("producer", "orders", "error", "NotEnoughReplicasException")
				.counter()
				.count()).isEqualTo(1);
			assertThat(this.registry.get("waterdrop.producer.connected").tags("producer", "orders").gauge().value())
				.isEqualTo(1);
		}
		finally {
			while (slow.completeNext()) {
				// a failed assertion must not leave the closing producer waiting
			}
			closing.close();
			successor.close();
		}
		assertThat(this.registry.find("waterdrop.messages.acknowledged").tag("producer", "orders").meters()).isEmpty();
	}

	private static void sleep(long millis) {
		try {
			Thread.sleep(millis);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
