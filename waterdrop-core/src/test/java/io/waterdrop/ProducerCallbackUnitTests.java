package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingMode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * What user code may do on the polling thread, without a broker: the test drives acknowledgements with
 * {@link MockProducer#completeNext()} from its own thread, as Kafka's network thread would. Waiting there
 * fails fast instead of deadlocking, closing there returns at once, a throwing callback or listener is
 * reported and dispatch goes on, a slow callback is reported.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ProducerCallbackUnitTests {

	private static final Poller poller = new Poller(PollerConfig.named("callback-unit"));

	private static final AtomicInteger ids = new AtomicInteger();

	/** Deadlock guard for waits that normally end at once. */
	private static final Duration GUARD = Duration.ofSeconds(30);

	private final MockProducer<byte[], byte[]> kafka = new MockProducer<>(false, null, new ByteArraySerializer(),
			new ByteArraySerializer());

	private final List<Producer> producers = new CopyOnWriteArrayList<>();

	@AfterEach
	void closeProducers() {
		// MockProducer fires no callbacks on close, unlike KafkaProducer: acknowledge what is left first.
		while (this.kafka.completeNext()) {
		}
		for (Producer producer : this.producers) {
			producer.close(Duration.ofSeconds(30));
		}
	}

	@AfterAll
	static void pollerStops() throws InterruptedException {
		assertThat(poller.awaitStopped(GUARD)).isTrue();
	}

	private Producer producer(PollingMode mode) {
		return producer(mode, this.kafka);
	}

	private Producer producer(PollingMode mode, MockProducer<byte[], byte[]> client) {
		ProducerConfig.Builder config = ProducerConfig.builder()
			.id("callback-" + mode.name().toLowerCase(java.util.Locale.ROOT) + "-" + ids.incrementAndGet())
			.pollingMode(mode)
			.maxWaitTimeout(Duration.ofSeconds(30))
			.clientFactory((properties) -> client);
		if (mode == PollingMode.FD) {
			config.poller(poller);
		}
		Producer producer = new Producer(config.build());
		this.producers.add(producer);
		return producer;
	}

	/** Acknowledges the next sent message, as Kafka's network thread would. */
	private void acknowledgeNext() {
		acknowledgeNext(this.kafka);
	}

	private static void acknowledgeNext(MockProducer<byte[], byte[]> client) {
		// Polled every millisecond: awaitility's default 100 ms poll would dominate these tests' run time.
		await().atMost(GUARD)
			.pollDelay(Duration.ZERO)
			.pollInterval(Duration.ofMillis(1))
			.until(client::completeNext);
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void produceSyncAndAwaitInsideACallbackFailFast(PollingMode mode) throws Exception {
		Producer producer = producer(mode);
		List<ProducerEvent.ErrorOccurred> errors = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, errors::add);
		AtomicReference<DeliveryHandle> pending = new AtomicReference<>();
		CompletableFuture<Throwable> fromProduceSync = new CompletableFuture<>();
		CompletableFuture<Throwable> fromAwait = new CompletableFuture<>();
		CompletableFuture<Throwable> fromGet = new CompletableFuture<>();
		// Each wait would otherwise end only at its timeout (a DeliveryTimeoutException or TimeoutException
		// after minutes), or never: what they throw shows that they refused to wait, without a clock.
		producer.produceAsync(Message.of("t", "first"), (report, failure) -> {
			fromProduceSync.complete(thrownBy(() -> producer.produceSync(Message.of("t", "nested"))));
			fromAwait.complete(thrownBy(() -> pending.get().await()));
			fromGet.complete(thrownBy(() -> pending.get().get(5, TimeUnit.MINUTES)));
		});
		// Sent after "first" and never acknowledged: waiting for it on the polling thread would never end.
		pending.set(producer.produceAsync(Message.of("t", "pending")));
		acknowledgeLater(producer, 1);
		// The advice fits the mode: a thread-mode producer has no Poller to move to.
		assertThat(fromProduceSync.get(30, TimeUnit.SECONDS)).isInstanceOf(IllegalCallerException.class)
			.hasMessageContaining("Cannot produce synchronously")
			.hasMessageContaining(producer.id())
			.hasMessageContaining("hand the wait to another thread")
			.satisfies((refusal) -> assertThat(refusal.getMessage().contains("a Poller of its own"))
				.isEqualTo(mode == PollingMode.FD));
		assertThat(fromAwait.get(30, TimeUnit.SECONDS)).isInstanceOf(IllegalCallerException.class)
			.hasMessageContaining("Cannot wait for a delivery report");
		assertThat(fromGet.get(30, TimeUnit.SECONDS)).isInstanceOf(IllegalCallerException.class);
		// Nothing was sent for the refused synchronous call, and the refusal was reported.
		assertThat(this.kafka.history()).extracting((record) -> new String(record.value())).doesNotContain("nested");
		await().atMost(GUARD)
			.untilAsserted(() -> assertThat(errors).anySatisfy((event) -> {
				assertThat(event.type()).isEqualTo(ErrorType.MESSAGE_PRODUCE_SYNC);
				assertThat(event.error()).isInstanceOf(IllegalCallerException.class);
			}));
	}

	/**
	 * A message with a partition key whose topic's partitions Kafka cannot tell (the topic does not exist, the
	 * broker is away: {@code partitionsFor} times out) is refused before it is queued, as a message Kafka
	 * refused, naming the topic, and holds no slot.
	 */
	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void aMessageWhoseTopicsPartitionsCannotBeLookedUpIsRefusedNamingTheTopic(PollingMode mode) {
		this.kafka.partitionsForException = new TimeoutException("Topic orders not in metadata after 60000 ms.");
		Producer producer = producer(mode);

		Message message = Message.builder("orders").payload("x").partitionKey("k").build();
		assertThatExceptionOfType(DeliveryFailedException.class).isThrownBy(() -> producer.produceAsync(message))
			.withMessageStartingWith("Kafka could not tell the partitions of topic 'orders', which a message with a "
					+ "partition key needs; the message was not sent")
			.withCauseInstanceOf(TimeoutException.class)
			.satisfies((ex) -> assertThat(ex.undelivered()).isSameAs(message));
		assertThat(producer.inFlight()).isZero();
		assertThat(this.kafka.history()).isEmpty();
	}

	/** Reading a handle that is done already waits for nothing: a callback may do it, as with its future. */
	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void aCallbackMayReadAHandleThatIsDoneAlready(PollingMode mode) throws Exception {
		Producer producer = producer(mode);
		AtomicReference<DeliveryHandle> own = new AtomicReference<>();
		CompletableFuture<List<Long>> offsets = new CompletableFuture<>();
		CountDownLatch sent = new CountDownLatch(1);
		own.set(producer.produceAsync(Message.of("t", "first"), (report, failure) -> {
			try {
				sent.await(); // own is set by then
				DeliveryHandle handle = own.get(); // completed just before its callback runs
				offsets.complete(List.of(handle.await().offset(), handle.get().offset(),
						handle.get(1, TimeUnit.MINUTES).offset()));
			}
			catch (Throwable ex) {
				offsets.completeExceptionally(ex);
			}
		}));
		sent.countDown();
		acknowledgeNext();
		assertThat(offsets.get(30, TimeUnit.SECONDS)).containsExactly(0L, 0L, 0L);
	}

	/**
	 * An interrupted or timed-out wait says what is known: a message Kafka has not answered may still be
	 * delivered; one it has answered (here: refused) is not said to be, while its report waits behind a busy
	 * callback.
	 */
	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void anInterruptedOrTimedOutWaitSaysWhetherKafkaHasAnswered(PollingMode mode) throws Exception {
		Producer producer = producer(mode);
		CountDownLatch dispatching = new CountDownLatch(1);
		CountDownLatch release = new CountDownLatch(1);
		producer.produceAsync(Message.of("t", "busy"), (report, failure) -> {
			dispatching.countDown();
			awaitQuietly(release);
		});
		DeliveryHandle refused = producer.produceAsync(Message.of("t", "refused"));
		DeliveryHandle unanswered = producer.produceAsync(Message.of("t", "unanswered"));
		acknowledgeNext();
		assertThat(dispatching.await(30, TimeUnit.SECONDS)).isTrue();
		assertThat(this.kafka.errorNext(new RuntimeException("not taken"))).isTrue();
		try {
			Thread.currentThread().interrupt();
			assertThatExceptionOfType(WaterDropException.class).isThrownBy(refused::await)
				.withMessageContaining("Kafka has answered for it, and its report is still dispatched")
				.withMessageNotContaining("may still be delivered");
			assertThat(Thread.currentThread().isInterrupted()).as("interrupt flag kept").isTrue();
			assertThatExceptionOfType(WaterDropException.class).isThrownBy(unanswered::await)
				.withMessageContaining("it was sent and may still be delivered");
			Thread.interrupted();
			// A wait that times out says the same.
			assertThatExceptionOfType(DeliveryTimeoutException.class)
				.isThrownBy(() -> refused.await(Duration.ofMillis(50)))
				.withMessageContaining("Kafka has answered for it, and its report is still dispatched")
				.withMessageNotContaining("may still be delivered");
		}
		finally {
			Thread.interrupted();
			release.countDown();
		}
		assertThatExceptionOfType(DeliveryFailedException.class).isThrownBy(refused::await)
			.withRootCauseInstanceOf(RuntimeException.class);
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void produceSyncInsideAnEventListenerFailsFast(PollingMode mode) throws Exception {
		Producer producer = producer(mode);
		CompletableFuture<Throwable> thrown = new CompletableFuture<>();
		producer.monitor().subscribe(ProducerEvent.MessageAcknowledged.class, (event) -> {
			if ("first".equals(event.report().label())) {
				thrown.complete(thrownBy(() -> producer.produceSync(Message.of("t", "nested"))));
			}
		});
		producer.produceAsync(Message.builder("t").payload("first").label("first").build());
		acknowledgeNext();
		assertThat(thrown.get(30, TimeUnit.SECONDS)).isInstanceOf(IllegalCallerException.class);
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void firstUseOfAnotherProducerOnTheSamePollingThreadFailsFastToo(PollingMode mode) throws Exception {
		// Only fd producers share a thread; in thread mode the other producer has a thread of its own.
		Producer producer = producer(mode);
		MockProducer<byte[], byte[]> otherKafka = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		Producer other = producer(mode, otherKafka);
		CompletableFuture<Object> outcome = new CompletableFuture<>();
		producer.produceAsync(Message.of("t", "first"), (report, failure) -> {
			try {
				outcome.complete(other.produceSync(Message.of("t", "nested")));
			}
			catch (Throwable ex) {
				outcome.complete(ex);
			}
		});
		acknowledgeNext();
		Object result = outcome.get(30, TimeUnit.SECONDS);
		if (mode == PollingMode.FD) {
			assertThat(result).isInstanceOf(IllegalCallerException.class);
		}
		else {
			assertThat(result).isInstanceOf(DeliveryReport.class);
		}
	}

	/**
	 * On the polling thread a waiting close would deadlock: close() there only starts the close, which a close
	 * thread finishes. Shown without a clock: right after close() returns, on the callback's thread, the
	 * producer is CLOSING (it cannot be CLOSED while the callback still holds its polling thread), and the
	 * Closed event comes from {@code waterdrop.close-<id>}.
	 */
	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void closeInsideACallbackReturnsAtOnceAndTheCloseCompletesAfterwards(PollingMode mode) throws Exception {
		Producer producer = producer(mode);
		List<ProducerEvent> lifecycle = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Closing.class, lifecycle::add);
		producer.monitor().subscribe(ProducerEvent.Closed.class, lifecycle::add);
		CompletableFuture<String> closedOn = closedEventThread(producer);
		CompletableFuture<ProducerStatus> statusInCallback = new CompletableFuture<>();
		DeliveryHandle handle = producer.produceAsync(Message.of("t", "first"), (report, failure) -> {
			producer.close();
			statusInCallback.complete(producer.status());
		});
		DeliveryHandle second = producer.produceAsync(Message.of("t", "second"));
		acknowledgeNext();
		assertThat(statusInCallback.get(30, TimeUnit.SECONDS)).as("status right after close() in the callback")
			.isEqualTo(ProducerStatus.CLOSING);
		// It waits for the second message (sent by the close's flush), then finishes on its own.
		assertThat(closedOn.get(30, TimeUnit.SECONDS)).isEqualTo("waterdrop.close-" + producer.id());
		producer.closeAsync(Duration.ofSeconds(30)).get(30, TimeUnit.SECONDS);
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(handle.isDone()).isTrue();
		assertThat(second.await(GUARD).label()).isNull();
		assertThat(lifecycle).hasSize(2).first().isInstanceOf(ProducerEvent.Closing.class);
		assertThat(producer.inFlight()).isZero();
		if (mode == PollingMode.FD) {
			await().atMost(GUARD).until(() -> !poller.producerIds().contains(producer.id()));
		}
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void forcedCloseInsideACallbackReturnsAtOnce(PollingMode mode) throws Exception {
		Producer producer = producer(mode);
		CompletableFuture<String> closedOn = closedEventThread(producer);
		CompletableFuture<ProducerStatus> statusInCallback = new CompletableFuture<>();
		producer.produceAsync(Message.of("t", "first"), (report, failure) -> {
			producer.closeForcefully();
			statusInCallback.complete(producer.status());
		});
		acknowledgeNext();
		assertThat(statusInCallback.get(30, TimeUnit.SECONDS)).as("status right after closeForcefully() in the callback")
			.isEqualTo(ProducerStatus.CLOSING);
		assertThat(closedOn.get(30, TimeUnit.SECONDS)).isEqualTo("waterdrop.close-" + producer.id());
		producer.closeAsync(Duration.ofSeconds(30)).get(30, TimeUnit.SECONDS);
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
	}

	/**
	 * closeAsync promises to close on another thread: it must not wait for in-flight messages itself. With a
	 * five-minute close timeout and the acknowledgement sent only after it returned, a closeAsync that waited
	 * would hang this test until its timeout.
	 */
	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void closeAsyncReturnsAtOnceAndCompletesOnceInFlightMessagesAreDispatched(PollingMode mode) throws Exception {
		Producer producer = producer(mode);
		// No flush shortcut: the close has to wait for the network thread's acknowledgement.
		this.kafka.flushException = new org.apache.kafka.common.KafkaException("flush unavailable in this test");
		DeliveryHandle inFlight = producer.produceAsync(Message.of("t", "in-flight"));
		CompletableFuture<Void> closing = producer.closeAsync(Duration.ofMinutes(5));
		assertThat(closing).isNotDone();
		CompletableFuture<Void> again = producer.closeAsync(Duration.ofMinutes(5)); // a future of its own
		assertThat(again).isNotSameAs(closing).isNotDone();
		acknowledgeNext();
		closing.get(30, TimeUnit.SECONDS);
		again.get(30, TimeUnit.SECONDS);
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(inFlight.await(GUARD)).isNotNull();
		assertThat(producer.stats().purged()).isZero();
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void throwingCallbackAndListenerAreReportedAndDispatchGoesOn(PollingMode mode) throws Exception {
		Producer producer = producer(mode);
		List<ProducerEvent.ErrorOccurred> errors = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, errors::add);
		IllegalStateException listenerFailure = new IllegalStateException("listener failed");
		producer.monitor().subscribe(ProducerEvent.MessageAcknowledged.class, (event) -> {
			if ("listener-throws".equals(event.report().label())) {
				throw listenerFailure;
			}
		});
		IllegalStateException callbackFailure = new IllegalStateException("callback failed");
		AtomicInteger callbacksRun = new AtomicInteger();
		Message throwing = Message.builder("t").payload("a").label("callback-throws").build();
		DeliveryHandle first = producer.produceAsync(throwing, (report, failure) -> {
			callbacksRun.incrementAndGet();
			throw callbackFailure;
		});
		DeliveryHandle second = producer.produceAsync(Message.builder("t").payload("b").label("listener-throws").build(),
				(report, failure) -> callbacksRun.incrementAndGet());
		DeliveryHandle third = producer.produceAsync(Message.builder("t").payload("c").label("fine").build(),
				(report, failure) -> callbacksRun.incrementAndGet());
		acknowledgeNext();
		acknowledgeNext();
		acknowledgeNext();
		assertThat(first.await(GUARD).label()).isEqualTo("callback-throws");
		assertThat(second.await(GUARD).label()).isEqualTo("listener-throws");
		assertThat(third.await(GUARD).label()).isEqualTo("fine");
		await().atMost(GUARD).until(() -> callbacksRun.get() == 3 && errors.size() >= 2);
		assertThat(errors).filteredOn((event) -> event.type() == ErrorType.CALLBACK).singleElement().satisfies((event) -> {
			assertThat(event.type().id()).isEqualTo("callbacks.delivery.error");
			assertThat(event.error()).isSameAs(callbackFailure);
			assertThat(event.message()).isEqualTo(throwing);
			assertThat(event.label()).isEqualTo("callback-throws");
			assertThat(event.producerId()).isEqualTo(producer.id());
		});
		assertThat(errors).filteredOn((event) -> event.type() == ErrorType.LISTENER).singleElement().satisfies((event) -> {
			assertThat(event.type().id()).isEqualTo("callbacks.listener.error");
			assertThat(event.error()).isSameAs(listenerFailure);
		});
		await().atMost(GUARD).until(() -> producer.stats().acknowledged() == 3);
		assertThat(producer.inFlight()).isZero();
	}

	/**
	 * When {@code produceSync} returns or throws, its outcome is in {@code stats()} already, although the batch
	 * it was dispatched in has not been flushed: the gate's callback holds the polling thread until the sync
	 * message and a later one are both queued, and the later one's callback holds the batch open until the
	 * caller has read the counts. {@code answeredBeforeTheWait}: Kafka's client returns from {@code send} only
	 * once the report was dispatched, so the sender starts waiting after its outcome is known.
	 */
	@ParameterizedTest
	@CsvSource({ "FD, false", "THREAD, false", "FD, true", "THREAD, true" })
	void produceSyncReturnsWithItsOutcomeCounted(PollingMode mode, boolean answeredBeforeTheWait) throws Exception {
		MockProducer<byte[], byte[]> client = answeredBeforeTheWait ? new AnswersBeforeTheSenderWaits() : this.kafka;
		Producer producer = producer(mode, client);
		for (int round = 0; round < 4; round++) {
			boolean delivered = round % 2 == 0;
			CountDownLatch gate = new CountDownLatch(1);
			CountDownLatch batchOpen = new CountDownLatch(1);
			producer.produceAsync(Message.of("t", "gate"), (report, failure) -> awaitQuietly(gate));
			acknowledgeNext(client);
			CompletableFuture<long[]> seenBySender = CompletableFuture.supplyAsync(() -> {
				try {
					producer.produceSync(Message.of("t", "sync"));
				}
				catch (DeliveryFailedException expected) {
					// counted as failed below
				}
				try {
					return new long[] { producer.stats().acknowledged(), producer.stats().failed() };
				}
				finally {
					batchOpen.countDown();
				}
			});
			int sent = 3 * round + 2;
			await().atMost(GUARD).until(() -> client.history().size() == sent);
			producer.produceAsync(Message.of("t", "later"), (report, failure) -> awaitQuietly(batchOpen));
			if (delivered) {
				acknowledgeNext(client);
			}
			else {
				await().atMost(GUARD).until(() -> client.errorNext(new TimeoutException("lost")));
			}
			acknowledgeNext(client);
			gate.countDown();

			// Earlier rounds: three acknowledged when the sync message was delivered, two and one failure otherwise.
			long acknowledgedBefore = 3L * ((round + 1) / 2) + 2L * (round / 2);
			long failedBefore = round / 2;
			assertThat(seenBySender.get(30, TimeUnit.SECONDS)).as("acknowledged and failed in round %d", round)
				.containsExactly(acknowledgedBefore + (delivered ? 2 : 1), failedBefore + (delivered ? 0 : 1));
			await().atMost(GUARD).until(() -> producer.inFlight() == 0);
		}
	}

	/** Kafka's client answering a sync message before its sender waits: {@code send} returns once it is dispatched. */
	private static final class AnswersBeforeTheSenderWaits extends MockProducer<byte[], byte[]> {

		AnswersBeforeTheSenderWaits() {
			super(false, null, new ByteArraySerializer(), new ByteArraySerializer());
		}

		@Override
		public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
			Future<RecordMetadata> sent = super.send(record, callback);
			if ("sync".equals(new String(record.value(), StandardCharsets.UTF_8))) {
				await().atMost(GUARD).pollInterval(Duration.ofMillis(1)).until(((DeliveryHandle) callback)::isDone);
			}
			return sent;
		}

	}

	private static void awaitQuietly(CountDownLatch latch) {
		try {
			assertThat(latch.await(30, TimeUnit.SECONDS)).isTrue();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

	/**
	 * A dispatch slower than the threshold is reported and counted, on the polling thread; one that is not is
	 * neither. Whether a fast callback stays under 50 ms depends on the machine, so the fast case is checked
	 * as "counted only with an event that measured it over the threshold" rather than as zero.
	 */
	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void slowCallbackIsReportedAndCountedAndAFastOneIsNot(PollingMode mode) throws Exception {
		Producer producer = producer(mode);
		Duration threshold = producer.config().slowCallbackThreshold();
		List<ProducerEvent.SlowCallback> slow = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.SlowCallback.class, slow::add);
		CountDownLatch fastDone = new CountDownLatch(1);
		producer.produceAsync(Message.of("t", "fast"), (report, failure) -> fastDone.countDown());
		acknowledgeNext();
		assertThat(fastDone.await(30, TimeUnit.SECONDS)).isTrue();
		await().atMost(GUARD).until(() -> producer.stats().dispatched() == 1);
		assertThat(slow).allSatisfy((event) -> assertThat(event.duration()).isGreaterThan(threshold));
		assertThat(producer.stats().slowCallbacks()).isEqualTo(slow.size());
		int slowBefore = slow.size();

		Duration sleep = threshold.multipliedBy(2).plusMillis(20);
		CompletableFuture<String> callbackThread = new CompletableFuture<>();
		producer.produceAsync(Message.of("t", "slow"), (report, failure) -> {
			callbackThread.complete(Thread.currentThread().getName());
			sleepQuietly(sleep);
		});
		acknowledgeNext();
		await().atMost(GUARD).until(() -> slow.size() == slowBefore + 1);
		ProducerEvent.SlowCallback event = slow.get(slowBefore);
		assertThat(event.name()).isEqualTo("callback.slow");
		assertThat(event.producerId()).isEqualTo(producer.id());
		assertThat(event.duration()).isGreaterThanOrEqualTo(sleep);
		assertThat(event.threshold()).isEqualTo(threshold);
		assertThat(event.pollingThread()).isEqualTo(callbackThread.get(30, TimeUnit.SECONDS));
		assertThat(event.pollingThread()).isEqualTo((mode == PollingMode.FD) ? poller.threadName()
				: "waterdrop.dispatch-" + producer.id());
		await().atMost(GUARD).until(() -> producer.stats().dispatched() == 2);
		assertThat(producer.stats().slowCallbacks()).isEqualTo(slowBefore + 1);
	}

	/** The name of the thread that publishes the producer's Closed event. */
	private static CompletableFuture<String> closedEventThread(Producer producer) {
		CompletableFuture<String> thread = new CompletableFuture<>();
		producer.monitor()
			.subscribe(ProducerEvent.Closed.class, (event) -> thread.complete(Thread.currentThread().getName()));
		return thread;
	}

	/** Acknowledges {@code count} messages from another thread once they were sent. */
	private void acknowledgeLater(Producer producer, int count) {
		Thread network = new Thread(() -> {
			for (int i = 0; i < count; i++) {
				long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
				while (!this.kafka.completeNext() && System.nanoTime() - deadline < 0) {
					Thread.onSpinWait();
				}
			}
		}, "test-network-" + producer.id());
		network.setDaemon(true);
		network.start();
	}

	private static Throwable thrownBy(java.util.concurrent.Callable<?> action) {
		try {
			action.call();
			return null;
		}
		catch (Throwable ex) {
			return ex;
		}
	}

	private static void sleepQuietly(Duration duration) {
		try {
			Thread.sleep(duration.toMillis());
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
