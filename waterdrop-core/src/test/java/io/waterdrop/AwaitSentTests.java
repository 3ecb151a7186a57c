package io.waterdrop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.Timeout.ThreadMode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.waterdrop.polling.FailingThreads;
import io.waterdrop.polling.PollingMode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * {@link Producer#awaitSent}: Kafka's flush with a bound, which leaves the producer open (the starter drains
 * with it on shutdown, so that beans destroyed later may still produce). No broker: {@link PendingKafka}
 * keeps sends pending until flushed or acknowledged.
 */
@Timeout(value = 60, threadMode = ThreadMode.SEPARATE_THREAD)
class AwaitSentTests {

	private final List<Producer> producers = new CopyOnWriteArrayList<>();

	@AfterEach
	void close() {
		this.producers.forEach(Producer::closeForcefully);
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void flushesWhatLingersUntilEveryMessageSentBeforeHasItsOutcomeAndLeavesTheProducerOpen(PollingMode mode) {
		PendingKafka kafka = new PendingKafka();
		Producer producer = producer(mode, kafka);
		AtomicInteger callbacks = new AtomicInteger();
		List<DeliveryHandle> handles = new CopyOnWriteArrayList<>();
		for (int i = 0; i < 5; i++) {
			handles.add(producer.produceAsync(Message.of("orders", "m" + i),
					(report, failure) -> callbacks.incrementAndGet()));
		}
		assertThat(kafka.pending()).isEqualTo(5);

		assertThat(producer.awaitSent(Duration.ofSeconds(30))).isTrue();

		assertThat(kafka.pending()).isZero();
		handles.forEach((handle) -> assertThat(handle.await().offset()).isNotNegative());
		// A handle completes just before its callback runs.
		await().atMost(Duration.ofSeconds(30)).until(() -> callbacks.get() == 5);
		assertThat(producer.status()).isEqualTo(ProducerStatus.CONNECTED);
		DeliveryHandle after = producer.produceAsync(Message.of("orders", "after"));
		assertThat(producer.awaitSent(Duration.ofSeconds(30))).isTrue();
		assertThat(after.await().offset()).isNotNegative();
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void aClientThatCannotDeliverEndsTheWaitAtItsTimeoutWithTheMessagesStillInFlight(PollingMode mode) {
		PendingKafka kafka = new PendingKafka().stuck();
		Producer producer = producer(mode, kafka);
		DeliveryHandle held = producer.produceAsync(Message.of("orders", "held"));

		assertThat(producer.awaitSent(Duration.ofMillis(50))).isFalse();

		assertThat(held.isDone()).isFalse();
		assertThat(producer.inFlight()).isOne();
		assertThat(producer.status()).isEqualTo(ProducerStatus.CONNECTED);
	}

	/**
	 * Callers waiting at once share one flush thread, and one more flush for those who asked while it ran:
	 * a thread each would pile up platform threads blocked in Kafka (and keep Kafka from lingering).
	 */
	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void concurrentWaitsShareOneFlushAndThoseWhoCameDuringItGetTheNextOne(PollingMode mode) throws Exception {
		PendingKafka kafka = new PendingKafka().stuck();
		Producer producer = producer(mode, kafka);
		producer.produceAsync(Message.of("orders", "first"));
		List<Thread> threads = new CopyOnWriteArrayList<>(); // every producer's in the JVM: counted by name
		ThreadFactory original = Producer.threads;
		Producer.threads = (task) -> {
			Thread thread = original.newThread(task);
			threads.add(thread);
			return thread;
		};
		ExecutorService callers = Executors.newFixedThreadPool(8);
		try {
			List<Future<Boolean>> waits = new ArrayList<>();
			for (int i = 0; i < 16; i++) {
				waits.add(callers.submit(() -> producer.awaitSent(Duration.ofMillis(100))));
			}
			for (Future<Boolean> wait : waits) {
				assertThat(wait.get(30, TimeUnit.SECONDS)).as("stuck: no flush can end").isFalse();
			}
			assertThat(threads).filteredOn((thread) -> thread.getName().equals("waterdrop.flush-" + producer.id()))
				.as("flush threads started")
				.hasSize(1);

			DeliveryHandle second = producer.produceAsync(Message.of("orders", "second"));
			Future<Boolean> afterIt = callers.submit(() -> producer.awaitSent(Duration.ofSeconds(30)));
			while (kafka.completeNext()) { // the running flush ends; the late caller's begins after it
			}
			assertThat(afterIt.get(30, TimeUnit.SECONDS)).isTrue();
			assertThat(second.await().offset()).isNotNegative();
		}
		finally {
			Producer.threads = original;
			callers.shutdownNow();
		}
	}

	/**
	 * Where no flush thread can start (the JVM out of native threads), it waits until nothing is in flight
	 * instead of answering {@code false} at once: a drain would otherwise purge deliverable messages.
	 */
	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void withoutAThreadToFlushOnItWaitsUntilNothingIsInFlight(PollingMode mode) {
		PendingKafka kafka = new PendingKafka();
		Producer producer = producer(mode, kafka);
		DeliveryHandle handle = producer.produceAsync(Message.of("orders", "m"));
		ThreadFactory original = Producer.threads;
		// Kafka completes the send while the flush thread is being started, which then fails.
		Producer.threads = (task) -> {
			kafka.completeNext();
			return FailingThreads.unstartable(task);
		};
		try {
			assertThat(producer.awaitSent(Duration.ofSeconds(30))).isTrue();
		}
		finally {
			Producer.threads = original;
		}
		assertThat(producer.inFlight()).isZero();
		assertThat(handle.await().offset()).isNotNegative();
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void refusedOnThePollingThreadThatWouldDispatchTheReports(PollingMode mode) {
		Producer producer = producer(mode, new PendingKafka());
		CompletableFuture<Throwable> refusal = new CompletableFuture<>();
		producer.produceAsync(Message.of("orders", "first"), (report, failure) -> {
			try {
				producer.awaitSent(Duration.ofSeconds(1));
				refusal.complete(null);
			}
			catch (Throwable ex) {
				refusal.complete(ex);
			}
		});

		assertThat(producer.awaitSent(Duration.ofSeconds(30))).isTrue();
		assertThat(refusal.join()).isInstanceOf(IllegalCallerException.class)
			.hasMessageContaining("wait for messages sent");
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void nothingInFlightReturnsAtOnceWithoutConnecting(PollingMode mode) {
		Producer producer = producer(mode, new PendingKafka());

		assertThat(producer.awaitSent(Duration.ofSeconds(30))).isTrue();
		assertThat(producer.status()).isEqualTo(ProducerStatus.CONFIGURED);
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void argumentsAreChecked(PollingMode mode) {
		Producer producer = producer(mode, new PendingKafka());
		assertThatExceptionOfType(IllegalArgumentException.class)
			.isThrownBy(() -> producer.awaitSent(Duration.ofSeconds(-1)));
	}

	private Producer producer(PollingMode mode, PendingKafka kafka) {
		Producer producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("await-" + mode.name().toLowerCase(java.util.Locale.ROOT)))
			.pollingMode(mode)
			.maxWaitTimeout(Duration.ofSeconds(30))
			.clientFactory(kafka.factory())
			.build());
		this.producers.add(producer);
		return producer;
	}

}
