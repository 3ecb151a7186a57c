package io.waterdrop;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.InvalidMessageException.Violation;
import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.ProducerEvent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/** {@code maxInFlight} bounds what a producer holds; a full producer waits for room or refuses clearly. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class BackPressureUnitTests {

	private final MockProducer<byte[], byte[]> kafka = new MockProducer<>(false, null, new ByteArraySerializer(),
			new ByteArraySerializer());

	private Producer producer;

	@AfterEach
	void close() {
		// MockProducer fires no callbacks on close, unlike KafkaProducer: acknowledge what is left first.
		while (this.kafka.completeNext()) {
		}
		this.producer.close();
	}

	private Producer producer(boolean wait, Duration timeout) {
		this.producer = new Producer(ProducerConfig.builder()
			.id("bounded")
			.maxInFlight(2)
			.waitOnQueueFull(wait)
			.waitTimeoutOnQueueFull(timeout)
			.clientFactory((properties) -> this.kafka)
			.build());
		return this.producer;
	}

	@Test
	void fullProducerRefusesAtOnceWhenWaitingIsOff() {
		Producer producer = producer(false, Duration.ofSeconds(10));
		producer.produceAsync(Message.of("t", "1"));
		producer.produceAsync(Message.of("t", "2"));
		AtomicReference<ProducerEvent.ErrorOccurred> refusal = new AtomicReference<>();
		producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, refusal::set);

		assertThatExceptionOfType(QueueFullException.class)
			.isThrownBy(() -> producer.produceAsync(Message.of("t", "3")))
			.withMessageContaining("'bounded' had no room for 1 message(s): 2 of its 2 slots (maxInFlight) were taken");
		assertThat(this.kafka.history()).hasSize(2);
		assertThat(producer.inFlight()).isEqualTo(2);
		assertThat(refusal.get().type()).isEqualTo(ErrorType.MESSAGE_PRODUCE_ASYNC);
		assertThat(refusal.get().error()).isInstanceOf(QueueFullException.class);
	}

	/** The message's own fault is what the caller needs to hear, not "full, try again later". */
	@Test
	void aNegativePartitionIsRefusedAsSuchEvenWhenTheProducerIsFull() {
		Node broker = new Node(0, "localhost", 9092);
		Cluster cluster = new Cluster("c", List.of(broker),
				List.of(new PartitionInfo("t", 0, broker, new Node[] { broker }, new Node[] { broker })), Set.of(),
				Set.of());
		MockProducer<byte[], byte[]> kafka = new MockProducer<>(cluster, false, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		this.producer = new Producer(ProducerConfig.builder()
			.id("bounded")
			.maxInFlight(1)
			.waitOnQueueFull(false)
			.clientFactory((properties) -> kafka)
			.build());
		this.producer.produceAsync(Message.of("t", "held"));

		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> this.producer.produceAsync(Message.builder("t").payload("p").partition(-1).build()))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.PARTITION_OUT_OF_RANGE));
		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> this.producer
				.produceManyAsync(List.of(Message.builder("t").payload("p").partition(-1).build())))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.PARTITION_OUT_OF_RANGE));
		assertThat(this.producer.inFlight()).isEqualTo(1);
		kafka.completeNext();
	}

	@Test
	void batchIsRefusedWholeWhenItDoesNotFit() {
		Producer producer = producer(false, Duration.ofSeconds(10));
		producer.produceAsync(Message.of("t", "1"));

		assertThatExceptionOfType(QueueFullException.class)
			.isThrownBy(() -> producer.produceManyAsync(List.of(Message.of("t", "2"), Message.of("t", "3"))))
			.withMessageContaining("'bounded' had no room for 2 message(s): 1 of its 2 slots (maxInFlight) were taken");
		assertThatExceptionOfType(QueueFullException.class)
			.isThrownBy(() -> producer.produceManyAsync(
					List.of(Message.of("t", "a"), Message.of("t", "b"), Message.of("t", "c"))))
			.withMessageContaining("cannot take a batch of 3 messages: maxInFlight is 2");
		assertThat(this.kafka.history()).hasSize(1);
		assertThat(producer.inFlight()).isEqualTo(1);
	}

	/** Its size alone refuses a batch that can never fit: none of it is transformed or serialized first. */
	@Test
	void aBatchLargerThanMaxInFlightIsRefusedBeforeAnyOfItIsPrepared() {
		Producer producer = producer(false, Duration.ofSeconds(10));
		java.util.concurrent.atomic.AtomicInteger transformed = new java.util.concurrent.atomic.AtomicInteger();
		producer.middleware().append((message) -> {
			transformed.incrementAndGet();
			return message;
		});

		assertThatExceptionOfType(QueueFullException.class)
			.isThrownBy(() -> producer.produceManySync(
					List.of(Message.of("t", "a"), Message.of("t", "b"), Message.of("t", "c"))))
			.withMessageContaining("cannot take a batch of 3 messages: maxInFlight is 2")
			.satisfies((ex) -> assertThat(ex.exceedsMaxInFlight()).isTrue());
		assertThat(transformed).hasValue(0);
		assertThat(this.kafka.history()).isEmpty();
	}

	@Test
	void flushThatDoesNotFitKeepsEveryMessageBufferedAndSendsNone() {
		Producer producer = producer(false, Duration.ofSeconds(10));
		producer.produceAsync(Message.of("t", "1"));
		producer.bufferMany(List.of(Message.of("t", "a"), Message.of("t", "b")));

		assertThatExceptionOfType(QueueFullException.class).isThrownBy(producer::flushAsync);
		assertThat(producer.bufferSize()).isEqualTo(2);
		assertThat(this.kafka.history()).hasSize(1);

		this.kafka.completeNext();
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.inFlight() == 0);
		assertThat(producer.flushAsync()).hasSize(2);
		assertThat(producer.bufferSize()).isZero();
		assertThat(this.kafka.history()).hasSize(3);
	}

	@Test
	void fullProducerWaitsUpToTheTimeoutThenRefuses() {
		Producer producer = producer(true, Duration.ofMillis(200));
		producer.produceAsync(Message.of("t", "1"));
		producer.produceAsync(Message.of("t", "2"));
		long start = System.nanoTime();
		assertThatExceptionOfType(QueueFullException.class)
			.isThrownBy(() -> producer.produceAsync(Message.of("t", "3")))
			.withMessageContaining("after waiting PT0.2S");
		assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(200));
		assertThat(this.kafka.history()).hasSize(2);
	}

	@Test
	void waitingProducerContinuesOnceAReportIsDispatched() throws Exception {
		Producer producer = producer(true, Duration.ofSeconds(20));
		producer.produceAsync(Message.of("t", "1"));
		producer.produceAsync(Message.of("t", "2"));
		CompletableFuture<DeliveryHandle> third = CompletableFuture
			.supplyAsync(() -> producer.produceAsync(Message.of("t", "3")));
		Thread.sleep(100);
		assertThat(third).isNotDone();

		this.kafka.completeNext();
		DeliveryHandle handle = third.get(30, TimeUnit.SECONDS);
		assertThat(this.kafka.history()).hasSize(3);
		this.kafka.completeNext();
		this.kafka.completeNext();
		assertThat(handle.await(Duration.ofSeconds(30)).offset()).isGreaterThanOrEqualTo(0);
	}

	@Test
	void callbackOnTheFullPollingThreadIsRefusedInsteadOfWaitingForItself() {
		Producer producer = producer(true, Duration.ofSeconds(20));
		AtomicReference<Throwable> fromCallback = new AtomicReference<>();
		producer.produceAsync(Message.of("t", "1"), (report, failure) -> {
			try {
				producer.produceAsync(Message.of("t", "from-callback-1"));
				producer.produceAsync(Message.of("t", "from-callback-2"));
			}
			catch (Throwable ex) {
				fromCallback.set(ex);
			}
		});
		producer.produceAsync(Message.of("t", "2"));
		this.kafka.completeNext();
		await().atMost(Duration.ofSeconds(30)).until(() -> fromCallback.get() != null);
		// One slot was freed by the dispatch itself; the second send finds the producer full.
		assertThat(fromCallback.get()).isInstanceOf(QueueFullException.class);
	}


	@Test
	void aBatchWaitingForRoomIsNotOvertakenBySingleSendsThatCameAfterIt() throws Exception {
		Producer producer = producer(true, Duration.ofSeconds(60));
		producer.produceAsync(Message.of("t", "1"));
		producer.produceAsync(Message.of("t", "2"));
		Thread batch = sender(() -> producer.produceManyAsync(List.of(Message.of("t", "b1"), Message.of("t", "b2"))));
		await().atMost(Duration.ofSeconds(30)).until(() -> batch.getState() == Thread.State.TIMED_WAITING);
		this.kafka.completeNext();
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.inFlight() == 1); // one slot free, the batch waits

		Thread single = sender(() -> producer.produceAsync(Message.of("t", "late")));
		await().atMost(Duration.ofSeconds(30))
			.until(() -> single.getState() == Thread.State.TIMED_WAITING || !single.isAlive());
		assertThat(single.isAlive()).as("the single send queued behind the batch").isTrue();

		this.kafka.completeNext();
		batch.join(TimeUnit.SECONDS.toMillis(30));
		assertThat(batch.isAlive()).isFalse();
		assertThat(this.kafka.history()).extracting((sent) -> new String(sent.value())).containsExactly("1", "2", "b1",
				"b2");
		this.kafka.completeNext();
		single.join(TimeUnit.SECONDS.toMillis(30));
		assertThat(single.isAlive()).isFalse();
		assertThat(this.kafka.history()).extracting((sent) -> new String(sent.value())).endsWith("late");
	}

	private static Thread sender(Runnable send) {
		Thread thread = new Thread(send, "sender");
		thread.setDaemon(true);
		thread.start();
		return thread;
	}

}
