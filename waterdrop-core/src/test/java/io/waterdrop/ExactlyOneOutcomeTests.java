package io.waterdrop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.instrumentation.DeliveryObserver;
import io.waterdrop.instrumentation.Monitor;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.DrainSlice;
import io.waterdrop.polling.FailingThreads;
import io.waterdrop.polling.Pollable;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

/**
 * Exactly one outcome per message when kafka-clients misbehaves ({@link MisbehavingKafka} reproduces what
 * {@code KafkaProducer.doSend} does on its failure paths), and the producer neither wedges nor leaks. Counts
 * are read after {@code close()}, which returns only once the Poller has dispatched everything queued.
 */
class ExactlyOneOutcomeTests {

	private static final int COUNT = 100;

	private final List<Producer> producers = new CopyOnWriteArrayList<>();

	private final List<Poller> pollers = new CopyOnWriteArrayList<>();

	private final List<MisbehavingKafka> clients = new CopyOnWriteArrayList<>();

	@AfterEach
	void closeAll() throws InterruptedException {
		for (Producer producer : this.producers) {
			producer.closeForcefully();
		}
		for (Poller poller : this.pollers) {
			assertThat(poller.awaitStopped(Duration.ofSeconds(30))).as("%s stopped", poller).isTrue();
		}
	}

	private Producer producer(Poller poller) {
		return producer(poller, ProducerConfig.builder());
	}

	private Producer producer(Poller poller, ProducerConfig.Builder settings) {
		Producer producer = new Producer(settings
			.id(TestProducers.uniqueId("one-outcome"))
			.poller(poller)
			.maxWaitTimeout(Duration.ofSeconds(30))
			.clientFactory((properties) -> {
				MisbehavingKafka client = new MisbehavingKafka();
				this.clients.add(client);
				return client;
			})
			.build());
		this.producers.add(producer);
		return producer;
	}

	private Producer producer() {
		return producer(poller("one-outcome"));
	}

	private Poller poller(String name) {
		Poller poller = new Poller(PollerConfig.named(name));
		this.pollers.add(poller);
		return poller;
	}

	private static Message message(String topic, int label) {
		return Message.builder(topic).payload("m-" + label).label(label).build();
	}

	/** KafkaProducer.doSend calls back for an ApiException after appending; the batch abort calls back again. */
	@RepeatedTest(10)
	@Timeout(60)
	void secondKafkaCallbackForOneRecordIsIgnored() throws Exception {
		Producer producer = producer();
		AtomicIntegerArray callbacks = new AtomicIntegerArray(COUNT);
		List<DeliveryHandle> handles = new ArrayList<>();
		for (int i = 0; i < COUNT; i++) {
			int label = i;
			handles.add(producer.produceAsync(message("fenced-twice", label),
					(report, failure) -> callbacks.incrementAndGet(label)));
		}
		// The second callback carries another error: if it overwrote the first outcome, the handles would show it.
		Thread networkThread = new Thread(
				() -> this.clients.get(0).failAppended(new TimeoutException("aborted batch (simulated)")));
		networkThread.start();
		networkThread.join();

		producer.close(Duration.ofSeconds(30));

		for (int i = 0; i < COUNT; i++) {
			assertThat(callbacks.get(i)).as("callbacks of message %d", i).isEqualTo(1);
		}
		assertThat(handles).allSatisfy((handle) -> assertThatThrownBy(handle::get)
			.hasRootCauseInstanceOf(ProducerFencedException.class)
			.hasRootCauseMessage("fenced (simulated)"));
		assertThat(producer.stats().failed()).isEqualTo(COUNT);
		assertThat(producer.stats().dispatched()).isEqualTo(COUNT);
		assertThat(producer.inFlight()).as("no slot lost, none gained").isZero();
	}

	/** Kafka throws from send for a record it appended (error state); the abort calls back later. */
	@RepeatedTest(10)
	@Timeout(60)
	void sendThatThrowsAfterAppendingIsOneRefusalAndTheLaterCallbackIsIgnored() throws Exception {
		Producer producer = producer();
		AtomicInteger callbacks = new AtomicInteger();
		List<ProducerEvent.ErrorOccurred> deliveryErrors = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, (error) -> {
			if (error.type() == io.waterdrop.instrumentation.ErrorType.DELIVERY) {
				deliveryErrors.add(error);
			}
		});
		for (int i = 0; i < COUNT; i++) {
			assertThatExceptionOfType(DeliveryFailedException.class)
				.isThrownBy(() -> producer.produceAsync(message("throw-after-append", 0),
						(report, failure) -> callbacks.incrementAndGet()))
				.withCauseInstanceOf(KafkaException.class);
		}
		// Refused on this thread: its slot is back before produceAsync throws.
		assertThat(producer.inFlight()).isZero();
		Thread networkThread = new Thread(
				() -> this.clients.get(0).failAppended(new KafkaException("transaction aborted (simulated)")));
		networkThread.start();
		networkThread.join();

		producer.close(Duration.ofSeconds(30));

		assertThat(callbacks).hasValue(0);
		assertThat(deliveryErrors).isEmpty();
		assertThat(producer.stats().dispatched()).isZero();
		assertThat(producer.inFlight()).isZero();
	}

	/** Kafka calls back synchronously and then throws: the report already queued is the one outcome. */
	@RepeatedTest(5)
	@Timeout(60)
	void callbackThenThrowGivesTheQueuedReportNotARefusal() {
		Producer producer = producer();
		AtomicInteger callbacks = new AtomicInteger();
		DeliveryHandle handle = producer.produceAsync(message("callback-then-throw", 1),
				(report, failure) -> callbacks.incrementAndGet());

		assertThatExceptionOfType(DeliveryFailedException.class).isThrownBy(handle::await)
			.withCauseInstanceOf(TimeoutException.class);
		producer.close(Duration.ofSeconds(30));
		assertThat(callbacks).hasValue(1);
		assertThat(producer.stats().failed()).isEqualTo(1);
		assertThat(producer.inFlight()).isZero();
	}

	/**
	 * Kafka's send interrupted while it waits for metadata or buffer space throws InterruptException (flag set)
	 * and never calls back: the caller's interrupt, refused as one (as a wait for room is), not a delivery
	 * failure that code retrying on DeliveryFailedException would retry.
	 */
	@Test
	@Timeout(60)
	void aSendInterruptedInsideKafkaIsRefusedAsAnInterruptNotAsADeliveryFailure() {
		Producer producer = producer();
		try {
			assertThatExceptionOfType(WaterDropException.class)
				.isThrownBy(() -> producer.produceSync(message("interrupted", 1)))
				.isNotInstanceOf(DeliveryFailedException.class)
				.withMessage("Interrupted while Kafka's client of producer '" + producer.id() + "' waited to take the "
						+ "message to 'interrupted' (for metadata or buffer space); it was not sent")
				.withCauseInstanceOf(InterruptException.class);
			assertThat(Thread.interrupted()).as("the interrupt is kept").isTrue();
		}
		finally {
			Thread.interrupted();
		}
		Message keyed = Message.builder("partitions-interrupted").partitionKey("tenant-1").payload("x").build();
		try {
			assertThatExceptionOfType(WaterDropException.class).isThrownBy(() -> producer.produceAsync(keyed))
				.withMessage("Interrupted while Kafka's client looked up the partitions of topic "
						+ "'partitions-interrupted'; the message was not sent")
				.withCauseInstanceOf(InterruptException.class);
			assertThat(Thread.interrupted()).as("the interrupt is kept").isTrue();
		}
		finally {
			Thread.interrupted();
		}
		assertThat(producer.inFlight()).isZero();
		assertThat(producer.produceSync(message("fine", 2)).label()).isEqualTo(2);
		producer.close(Duration.ofSeconds(30));
		assertThat(producer.stats().failed()).isZero();
	}

	@Test
	@Timeout(60)
	void errorFromSendGivesTheSlotBack() {
		Producer producer = producer();
		assertThatExceptionOfType(StackOverflowError.class)
			.isThrownBy(() -> producer.produceAsync(message("error", 1)));
		assertThat(producer.inFlight()).isZero();
		assertThat(producer.produceSync(message("fine", 2)).label()).isEqualTo(2);
	}

	@Test
	@Timeout(60)
	void aBatchRefusedPartWayCountsTheMessagesSentBeforeTheRefusal() {
		Producer producer = producer();
		List<Message> batch = List.of(message("fine", 1), message("fine", 2), message("error", 3), message("fine", 4));
		assertThatExceptionOfType(StackOverflowError.class).isThrownBy(() -> producer.produceManyAsync(batch));
		// The two sent end as acknowledged, so they count as produced: produced = acknowledged + failed + purged.
		assertThat(producer.stats().producedAsync()).isEqualTo(2);
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.stats().acknowledged() == 2);
		assertThat(producer.inFlight()).isZero();
	}

	/** Kafka refuses the third of four: the two sent are the caller's to follow; the fourth is never sent. */
	@Test
	@Timeout(60)
	void aBatchRefusedPartWayHandsTheCallerTheHandlesOfTheMessagesItSent() throws Exception {
		Producer producer = producer();
		List<Message> batch = List.of(message("fine", 1), message("fine", 2), message("throw-after-append", 3),
				message("fine", 4));

		BatchPartlySentException async = catchThrowableOfType(BatchPartlySentException.class,
				() -> producer.produceManyAsync(batch));
		BatchPartlySentException sync = catchThrowableOfType(BatchPartlySentException.class,
				() -> producer.produceManySync(batch));
		producer.bufferMany(batch);
		BatchPartlySentException flushed = catchThrowableOfType(BatchPartlySentException.class, producer::flushAsync);

		for (BatchPartlySentException partly : List.of(async, sync, flushed)) {
			assertThat(partly.batchSize()).isEqualTo(4);
			assertThat(partly).hasCauseInstanceOf(DeliveryFailedException.class)
				.hasMessageContaining("sent 2 of a batch of 4 messages, then refused message 3");
			assertThat(partly.sent()).extracting((handle) -> handle.message().label()).containsExactly(1, 2);
			for (DeliveryHandle handle : partly.sent()) {
				assertThat(handle.await(Duration.ofSeconds(30)).label()).isEqualTo(handle.message().label());
			}
		}
		assertThat(this.clients.get(0).history()).extracting((record) -> new String(record.value()))
			.containsExactly("m-1", "m-2", "m-1", "m-2", "m-1", "m-2");
		assertThat(producer.bufferSize()).as("the refused message and the one after it").isEqualTo(2);
		assertThat(producer.inFlight()).isZero();
	}

	/**
	 * On a transactional producer a batch refused part-way in a transaction of its own is aborted whole, so
	 * the refusal is its outcome; inside a transaction that goes on, the messages sent commit with it.
	 */
	@Test
	@Timeout(60)
	void aTransactionalBatchRefusedPartWayThrowsTheRefusalWhenItsTransactionAborts() throws Exception {
		Producer producer = producer(poller("one-outcome-tx"),
				ProducerConfig.builder().kafka("transactional.id", "one-outcome-tx"));
		List<Message> batch = List.of(message("fine", 1), message("fine", 2), message("throw-after-append", 3),
				message("fine", 4));

		assertThatExceptionOfType(DeliveryFailedException.class).isThrownBy(() -> producer.produceManyAsync(batch));
		assertThat(this.clients.get(0).transactionAborted()).isTrue();

		List<DeliveryHandle> sent = producer.transaction((transaction) -> catchThrowableOfType(
				BatchPartlySentException.class, () -> transaction.produceManyAsync(batch)).sent());
		assertThat(this.clients.get(0).transactionCommitted()).isTrue();
		assertThat(sent).hasSize(2);
		for (DeliveryHandle handle : sent) {
			assertThat(handle.await(Duration.ofSeconds(30)).label()).isEqualTo(handle.message().label());
		}
	}

	/** Refused at the first message, a batch throws the refusal itself: nothing was sent. */
	@Test
	@Timeout(60)
	void aBatchRefusedAtItsFirstMessageThrowsTheRefusal() {
		Producer producer = producer();
		assertThatExceptionOfType(DeliveryFailedException.class).isThrownBy(
				() -> producer.produceManyAsync(List.of(message("throw-after-append", 1), message("fine", 2))));
		assertThat(this.clients.get(0).history()).isEmpty();
		assertThat(producer.inFlight()).isZero();
	}

	@Test
	@Timeout(60)
	void aBadTimeoutIsRefusedBeforeTheMessageIsSent() {
		Producer producer = producer();
		producer.connect();
		assertThatExceptionOfType(IllegalArgumentException.class)
			.isThrownBy(() -> producer.produceSync(message("fine", 1), null))
			.withMessage("The timeout to produce synchronously must not be null");
		assertThatExceptionOfType(IllegalArgumentException.class)
			.isThrownBy(() -> producer.produceManySync(List.of(message("fine", 2)), Duration.ofSeconds(-1)))
			.withMessage("The timeout to produce synchronously must not be negative but was PT-1S");
		assertThatExceptionOfType(IllegalArgumentException.class).isThrownBy(() -> producer.close(null));
		assertThat(this.clients.get(0).history()).isEmpty();
		assertThat(producer.stats().producedSync()).isZero();
		assertThat(producer.status()).isEqualTo(ProducerStatus.CONNECTED);
	}

	/** A batch wait that times out still tells of the message that failed before it: nothing is hidden. */
	@Test
	@Timeout(60)
	void aBatchWaitThatTimesOutCarriesTheFailuresFoundBeforeIt() {
		Producer producer = producer();
		// The batch wait starts once both are sent (after this event): the first report is dispatched by then, so
		// the wait's timeout cannot end before it however busy the machine.
		producer.monitor()
			.subscribe(ProducerEvent.MessagesProduced.class,
					(produced) -> await().atMost(Duration.ofSeconds(30)).until(() -> producer.stats().failed() == 1));

		assertThatExceptionOfType(DeliveryTimeoutException.class)
			// The second never comes: the wait times out.
			.isThrownBy(() -> producer.produceManySync(List.of(message("fenced-twice", 1), message("pending", 2)),
					Duration.ofSeconds(5)))
			.satisfies((timeout) -> assertThat(timeout.getSuppressed()).singleElement()
				.isInstanceOfSatisfying(DeliveryFailedException.class,
						(failed) -> assertThat(failed.label()).isEqualTo(1)));
		this.clients.get(0).failAppended(new TimeoutException("Expiring 1 record(s) (simulated)"));
	}

	/** Users write Long.MAX_VALUE milliseconds for "no limit"; Duration.toNanos() cannot hold it. */
	@Test
	@Timeout(60)
	void aTimeoutTooLongForNanosecondsWaitsWithoutLimit() throws Exception {
		Producer producer = producer();
		Duration forever = Duration.ofMillis(Long.MAX_VALUE);
		assertThat(producer.produceSync(message("fine", 1), forever).label()).isEqualTo(1);
		assertThat(producer.produceManySync(List.of(message("fine", 2)), forever)).hasSize(1);
		producer.produceAsync(message("pending", 3));

		CompletableFuture<Void> closing = CompletableFuture.runAsync(() -> producer.close(forever));
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.status() == ProducerStatus.CLOSING);
		this.clients.get(0).failAppended(new TimeoutException("Expiring 1 record(s) (simulated)"));
		closing.get(30, TimeUnit.SECONDS);

		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(this.clients.get(0).closed()).as("client released").isTrue();
		assertThat(producer.stats().failed()).isEqualTo(1);
	}

	/** Kafka's close throwing an Error while a close purges: the rest is still released, and the close said. */
	@Test
	@Timeout(60)
	void aCloseThatFailsPartWayStillReleasesItsPollingAndPublishesClosed() {
		Poller poller = poller("close-fails");
		MockProducer<byte[], byte[]> kafka = new MockProducer<>(false, null, new ByteArraySerializer(),
				new ByteArraySerializer()) {

			@Override
			public void close(Duration timeout) {
				if (timeout.isZero()) {
					throw new AssertionError("close failed (simulated)");
				}
				// As Kafka's close does when it gives up on what it still holds.
				while (errorNext(new KafkaException("Producer is closed forcefully (simulated)"))) {
				}
				super.close(timeout);
			}

		};
		Producer producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("close-fails"))
			.poller(poller)
			.maxWaitTimeout(Duration.ofSeconds(5))
			.clientFactory((properties) -> kafka)
			.build());
		List<ProducerEvent.Closed> closed = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Closed.class, closed::add);
		DeliveryHandle pending = producer.produceAsync(message("pending", 1));

		assertThatThrownBy(producer::closeForcefully).isInstanceOf(WaterDropException.class)
			.hasRootCauseMessage("close failed (simulated)");
		assertThat(pending.isDone()).as("the report of what the release's close completed").isTrue();
		assertThat(producer.stats().failed() + producer.stats().purged()).isEqualTo(1);
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(closed).hasSize(1);
		assertThat(kafka.closed()).as("client closed by the release").isTrue();
		assertThat(poller.registeredProducers()).isZero(); // and closeAll() checks that the Poller stops
	}

	/**
	 * A callback on one Poller closing a producer served by another must not wait there for that producer's
	 * in-flight reports: it would stall every producer of its own Poller.
	 */
	@Test
	@Timeout(120)
	void aCloseFromAnotherProducersCallbackReturnsAtOnceAndClosesElsewhere() throws Exception {
		Producer caller = producer(poller("closer"));
		Producer closed = producer(poller("closed"));
		closed.produceAsync(message("pending", 1)); // in flight until the close purges it
		CompletableFuture<ProducerStatus> statusAfterClose = new CompletableFuture<>();

		caller.produceAsync(message("fine", 2), (report, failure) -> {
			closed.close();
			statusAfterClose.complete(closed.status());
		});

		assertThat(statusAfterClose.get(80, TimeUnit.SECONDS)).isEqualTo(ProducerStatus.CLOSING);
		closed.closeForcefully();
		assertThat(closed.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(closed.stats().purged()).isEqualTo(1);
	}

	/** The JVM out of native threads: the close a callback began starts later, from the producer's polling thread. */
	@Test
	@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
	void aCloseFromACallbackWhoseThreadCannotStartIsStartedLaterByThePollingThread() throws Exception {
		Producer caller = producer(poller("closer"));
		Producer closed = closedByTheTest("closed-later");
		DeliveryHandle pending = closed.produceAsync(message("pending", 1)); // in flight until the close purges it
		CompletableFuture<String> closingThread = new CompletableFuture<>();
		closed.monitor().subscribe(ProducerEvent.Closing.class,
				(event) -> closingThread.complete(Thread.currentThread().getName()));
		AtomicInteger starts = new AtomicInteger();
		ThreadFactory original = Producer.threads;
		Producer.threads = (task) -> (starts.getAndIncrement() > 0) ? new Thread(task)
				: FailingThreads.unstartable(task);
		try {
			CompletableFuture<ProducerStatus> statusAfterClose = new CompletableFuture<>();
			caller.produceAsync(message("fine", 2), (report, failure) -> {
				closed.close(Duration.ZERO);
				statusAfterClose.complete(closed.status());
			});

			assertThat(statusAfterClose.get(30, TimeUnit.SECONDS)).isEqualTo(ProducerStatus.CLOSING);
			// Nothing else asks for the close: the polling thread starts it.
			assertThat(closingThread.get(30, TimeUnit.SECONDS)).isEqualTo("waterdrop.close-" + closed.id());
			await().atMost(Duration.ofSeconds(30)).until(() -> closed.status() == ProducerStatus.CLOSED);
			assertClosedWithItsMessagePurged(closed, pending);
		}
		finally {
			Producer.threads = original;
			closed.closeAsync(Duration.ZERO); // does not wait
		}
	}

	/** No thread can start at all: a close() on a thread that may wait runs the close the callback began. */
	@Test
	@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
	void aCloseWhoseThreadCannotStartIsRunByALaterCloseOnAThreadThatMayWait() throws Exception {
		aCloseLeftPendingIsRunBy("closed-by-another",
				(closed) -> CompletableFuture.runAsync(closed::closeForcefully).get(30, TimeUnit.SECONDS));
	}

	/** closeAsync() runs a close a callback began whose thread cannot start, on the caller's thread if need be. */
	@Test
	@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
	void closeAsyncRunsACloseLeftPendingBecauseItsThreadCouldNotStart() throws Exception {
		aCloseLeftPendingIsRunBy("closed-async",
				(closed) -> closed.closeAsync(Duration.ZERO).get(30, TimeUnit.SECONDS));
	}

	/**
	 * No thread can start at all: a callback begins closing a producer on a Poller of its own, which leaves the
	 * close pending; {@code laterClose} must run it.
	 */
	private void aCloseLeftPendingIsRunBy(String pollerName, LaterClose laterClose) throws Exception {
		Producer caller = producer(poller("closer"));
		Producer closed = closedByTheTest(pollerName);
		DeliveryHandle pending = closed.produceAsync(message("pending", 1));
		ThreadFactory original = Producer.threads;
		Producer.threads = FailingThreads::unstartable;
		try {
			CompletableFuture<Void> begun = new CompletableFuture<>();
			caller.produceAsync(message("fine", 2), (report, failure) -> {
				closed.close(Duration.ZERO);
				begun.complete(null);
			});
			begun.get(30, TimeUnit.SECONDS);

			laterClose.close(closed);

			assertClosedWithItsMessagePurged(closed, pending);
		}
		finally {
			Producer.threads = original;
			closed.closeAsync(Duration.ZERO); // does not wait
		}
	}

	/** How a test closes a producer whose close a callback began. */
	private interface LaterClose {

		void close(Producer closed) throws Exception;

	}

	/** A checked exception sneaked out of Kafka's send refuses the message, as any refusal, and frees its slot. */
	@Test
	@Timeout(60)
	void aCheckedExceptionFromKafkasSendRefusesTheMessageAndGivesItsSlotBack() {
		Producer producer = producer();

		assertThatExceptionOfType(DeliveryFailedException.class)
			.isThrownBy(() -> producer.produceAsync(message("checked", 1)))
			.withCauseInstanceOf(java.io.IOException.class);
		assertThatExceptionOfType(BatchPartlySentException.class)
			.isThrownBy(() -> producer.produceManyAsync(List.of(message("fine", 2), message("checked", 3),
					message("fine", 4))))
			.satisfies((partly) -> assertThat(partly.refusal()).isInstanceOf(DeliveryFailedException.class));

		await().atMost(Duration.ofSeconds(30)).until(() -> producer.inFlight() == 0);
		assertThat(producer.stats().acknowledged()).isOne();
		assertThat(producer.produceSync(message("fine", 5)).offset()).isNotNegative();
	}

	@Test
	@Timeout(60)
	void anErrorFromKafkasPartitionLookupRefusesTheMessageAndGivesItsSlotBack() {
		Producer producer = producer();
		Message keyed = Message.builder("partitions-error").partitionKey("tenant-1").payload("x").build();

		assertThatExceptionOfType(AssertionError.class).isThrownBy(() -> producer.produceAsync(keyed));
		assertThatExceptionOfType(AssertionError.class)
			.isThrownBy(() -> producer.produceManyAsync(List.of(message("fine", 1), keyed)));

		assertThat(producer.inFlight()).isZero();
		assertThat(producer.produceSync(message("fine", 2)).offset()).isNotNegative();
	}

	/**
	 * A close() that comes while a callback's close is still starting its thread finds that close pending (it
	 * is published with the closing state): when the thread cannot start, the close() runs it instead of
	 * waiting for a close that nobody runs.
	 */
	@Test
	@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
	void aCloseComingWhileTheCallbacksCloseStartsItsThreadRunsItWhenThatThreadCannotStart() throws Exception {
		Producer caller = producer(poller("closer"));
		Producer closed = closedByTheTest("closed-meanwhile");
		DeliveryHandle pending = closed.produceAsync(message("pending", 1));
		CountDownLatch starting = new CountDownLatch(1);
		CountDownLatch mayFail = new CountDownLatch(1);
		ThreadFactory original = Producer.threads;
		Producer.threads = (task) -> {
			if (starting.getCount() > 0) { // the callback's close thread: fails once the test's close() has run
				starting.countDown();
				TestProducers.awaitUninterruptibly(mayFail);
			}
			return FailingThreads.unstartable(task);
		};
		try {
			caller.produceAsync(message("fine", 2), (report, failure) -> closed.close(Duration.ZERO));
			assertThat(starting.await(30, TimeUnit.SECONDS)).isTrue();

			CompletableFuture.runAsync(() -> closed.close(Duration.ZERO)).get(30, TimeUnit.SECONDS);

			assertClosedWithItsMessagePurged(closed, pending);
		}
		finally {
			mayFail.countDown();
			Producer.threads = original;
			closed.closeAsync(Duration.ZERO); // does not wait
		}
	}

	/**
	 * A producer on a Poller of its own that the test closes itself, without waiting: a close that never starts
	 * must fail the test, not hang the clean-up after it.
	 */
	private Producer closedByTheTest(String pollerName) {
		Producer producer = producer(new Poller(PollerConfig.named(pollerName)));
		this.producers.remove(producer);
		return producer;
	}

	private static void assertClosedWithItsMessagePurged(Producer closed, DeliveryHandle pending) {
		assertThat(closed.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(pending.isDone()).isTrue();
		assertThat(closed.stats().purged()).isEqualTo(1);
	}

	/** Once a forced close purges, a record that failed for another reason is still a failure, not a purge. */
	@RepeatedTest(5)
	@Timeout(60)
	void forcedCloseCountsOnlyItsOwnAbortsAsPurged() {
		Producer producer = producer();
		for (int i = 0; i < COUNT; i++) {
			producer.produceAsync(message("pending", i));
		}
		producer.closeForcefully();
		assertThat(producer.stats().purged()).isEqualTo(COUNT / 2);
		assertThat(producer.stats().failed()).isEqualTo(COUNT / 2);
		assertThat(producer.inFlight()).isZero();
	}

	/** A cancelled task's try-with-resources closes on an interrupted thread: everything is still released. */
	@RepeatedTest(5)
	@Timeout(60)
	void closeOnAnInterruptedThreadReleasesEverythingAndKeepsTheFlag() throws Exception {
		Poller poller = poller("interrupted-close");
		Producer producer = producer(poller);
		for (int i = 0; i < 3; i++) {
			producer.produceAsync(message("pending", i));
		}
		Thread.currentThread().interrupt();
		try {
			producer.close(Duration.ofSeconds(30));
			assertThat(Thread.currentThread().isInterrupted()).as("interrupt flag kept").isTrue();
		}
		finally {
			Thread.interrupted();
		}
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(this.clients.get(0).closed()).isTrue();
		assertThat(producer.stats().dispatched()).isEqualTo(3);
		assertThat(producer.inFlight()).isZero();
		assertThat(poller.registeredProducers()).isZero();
		assertThat(poller.awaitStopped(Duration.ofSeconds(30))).isTrue();
	}

	@RepeatedTest(3)
	@Timeout(60)
	void producerWhosePollerCannotStartReleasesItsClientAndCanConnectLater() throws Exception {
		Poller poller = FailingThreads.poller("cannot-start-" + TestProducers.uniqueId("p"), 1);
		this.pollers.add(poller);
		Producer producer = producer(poller);

		assertThatExceptionOfType(OutOfMemoryError.class).isThrownBy(producer::connect);
		assertThat(producer.status()).isEqualTo(ProducerStatus.CONFIGURED);
		assertThat(this.clients).singleElement().satisfies((client) -> assertThat(client.closed()).isTrue());
		assertThat(poller.registeredProducers()).isZero();

		assertThat(producer.produceSync(message("fine", 7)).label()).isEqualTo(7);
		assertThat(this.clients).hasSize(2);
	}

	@Test
	@Timeout(60)
	void producerThatLostItsPollingThreadRefusesMessagesAndClosesAtOnce() {
		Producer producer = producer();
		producer.connect();
		producer.produceAsync(message("pending", 1));

		producer.pollingTerminated(producer.dispatcher(), new InternalError("simulated death of the polling thread"));

		assertThatExceptionOfType(WaterDropException.class).isThrownBy(() -> producer.produceAsync(message("fine", 2)))
			.withMessageContaining("lost its polling thread");
		producer.close(Duration.ofSeconds(30));
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(this.clients.get(0).closed()).isTrue();
	}

	/**
	 * A forced close of a producer whose polling thread died closes Kafka at once, not within
	 * max-wait-timeout, and what Kafka still held is reported purged, as a forced close's purge reports it.
	 */
	@Test
	@Timeout(60)
	void aForcedCloseAfterThePollingThreadDiedPurgesWhatKafkaStillHeld() {
		Producer producer = producer();
		producer.connect();
		AtomicReference<Exception> outcome = new AtomicReference<>();
		producer.produceAsync(message("pending", 1), (report, failure) -> outcome.set(failure));
		producer.pollingTerminated(producer.dispatcher(), new InternalError("simulated death of the polling thread"));

		producer.close(Duration.ZERO);

		assertThat(outcome.get()).isInstanceOf(MessagePurgedException.class);
		assertThat(producer.stats().purged()).isEqualTo(1);
		assertThat(producer.stats().failed()).isZero();
		assertThat(producer.inFlight()).isZero();
	}

	/**
	 * The Poller thread dies (a VirtualMachineError, here from another producer's drain): the reports of
	 * messages still at Kafka then are dispatched by the close, on its thread, so that each message gets its
	 * one outcome and whoever waits on its future wakes.
	 */
	@Test
	@Timeout(60)
	void aPollingThreadThatDiesLeavesNoMessageWithoutItsOutcome() throws Exception {
		Poller poller = poller("dies");
		Producer producer = producer(poller);
		AtomicInteger callbacks = new AtomicInteger();
		DeliveryHandle pending = producer.produceAsync(message("pending", 1),
				(report, failure) -> callbacks.incrementAndGet());
		CompletableFuture<DeliveryReport> future = pending.toCompletableFuture();

		killPollerThread(poller);
		// The Poller thread's death is an uncaught exception, expected here: Awaitility must not fail on it.
		await().atMost(Duration.ofSeconds(30)).dontCatchUncaughtExceptions().until(producer::hasLostPolling);
		this.clients.get(0).failAppended(new TimeoutException("Expiring 1 record(s) (simulated)"));
		assertThat(future).isNotDone();

		producer.close(Duration.ofSeconds(30));

		assertThat(future).isCompletedExceptionally();
		assertThat(callbacks).hasValue(1);
		assertThat(producer.inFlight()).isZero();
	}

	/**
	 * A dispatch that throws an Error after the report left the queue (here the logging backend, while a failing
	 * listener is reported; in production an OutOfMemoryError) still gives the message its one outcome there and
	 * then: its future completes, its callback runs once, its slot comes back, before the Poller thread dies.
	 */
	@Test
	@Timeout(60)
	void aDispatchThatThrowsAnErrorStillGivesTheMessageItsOneOutcome() throws Exception {
		Poller poller = poller("dispatch-error");
		AtomicInteger observed = new AtomicInteger();
		Producer producer = producer(poller, ProducerConfig.builder()
			.observer(observer(() -> observed.incrementAndGet())));
		producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, (error) -> {
			throw new UnloggableException(new InternalError("the logging backend failed (expected in this test)"));
		});
		AtomicInteger callbacks = new AtomicInteger();
		DeliveryHandle pending = producer.produceAsync(message("pending", 1),
				(report, failure) -> callbacks.incrementAndGet());
		CompletableFuture<DeliveryReport> future = pending.toCompletableFuture();

		this.clients.get(0).failAppended(new TimeoutException("Expiring 1 record(s) (simulated)"));

		// Outcome given by the Poller thread as it died, not by the close below.
		await().atMost(Duration.ofSeconds(30)).dontCatchUncaughtExceptions().until(producer::hasLostPolling);
		assertThat(future).isCompletedExceptionally();
		assertThat(callbacks).hasValue(1);
		assertThat(producer.stats().failed()).isEqualTo(1);
		assertThat(producer.inFlight()).isZero();
		assertThat(observed).as("the observation ended").hasValue(1);
		producer.close(Duration.ofSeconds(30));
		assertThat(callbacks).hasValue(1);
		assertThat(observed).hasValue(1);
		assertThat(producer.stats().dispatched()).isEqualTo(1);
	}

	/** A logging backend that throws while a failing listener is reported stops neither the dispatch nor the Poller. */
	@Test
	@Timeout(60)
	void aLoggingBackendThatThrowsStopsNeitherTheDispatchNorThePoller() throws Exception {
		Poller poller = poller("logging-fails");
		Producer producer = producer(poller, ProducerConfig.builder().observer(observer(() -> {
			throw new UnloggableException(new IllegalStateException("the logging backend failed (expected)"));
		})));
		producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, (error) -> {
			throw new UnloggableException(new IllegalStateException("the logging backend failed (expected)"));
		});
		AtomicInteger callbacks = new AtomicInteger();
		DeliveryHandle pending = producer.produceAsync(message("pending", 1),
				(report, failure) -> callbacks.incrementAndGet());

		this.clients.get(0).failAppended(new TimeoutException("Expiring 1 record(s) (simulated)"));

		assertThat(catchThrowable(() -> pending.await(Duration.ofSeconds(30))))
			.isInstanceOf(DeliveryFailedException.class);
		assertThat(producer.produceSync(message("fine", 2)).label()).isEqualTo(2);
		assertThat(producer.hasLostPolling()).isFalse();
		assertThat(callbacks).hasValue(1);
		assertThat(poller.stats().loopErrors()).as("no Poller cycle failed").isZero();
	}

	/** An exception that the logging backend fails on when it reads its message, as some appenders rethrow. */
	private static final class UnloggableException extends RuntimeException {

		private final RuntimeException orError;

		private final Error error;

		UnloggableException(RuntimeException failure) {
			this.orError = failure;
			this.error = null;
		}

		UnloggableException(Error failure) {
			this.orError = null;
			this.error = failure;
		}

		@Override
		public String getMessage() {
			if (this.error != null) {
				throw this.error;
			}
			throw this.orError;
		}

	}

	/**
	 * A callback that closes its producer while the close dispatches the reports a dead Poller left (as a
	 * callback may on a polling thread) starts nothing new and does not wait for the close it is part of.
	 */
	@Test
	@Timeout(60)
	void aCallbackThatClosesItsProducerWhileTheCloseDispatchesOrphanedReportsReturns() throws Exception {
		Poller poller = poller("dies-closing");
		Producer producer = producer(poller);
		AtomicReference<Throwable> fromCallback = new AtomicReference<>();
		DeliveryHandle pending = producer.produceAsync(message("pending", 1),
				(report, failure) -> fromCallback.set(catchThrowable(() -> producer.close(Duration.ofSeconds(30)))));
		killPollerThread(poller);
		await().atMost(Duration.ofSeconds(30)).dontCatchUncaughtExceptions().until(producer::hasLostPolling);
		this.clients.get(0).failAppended(new TimeoutException("Expiring 1 record(s) (simulated)"));

		producer.close(Duration.ofSeconds(30));

		assertThat(pending.toCompletableFuture()).isCompletedExceptionally();
		assertThat(fromCallback.get()).isNull();
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
	}

	/**
	 * A callback the close runs while it dispatches the reports a dead Poller left waits for another report of
	 * its producer, which only that close can dispatch: refused at once, as on the polling thread, instead of
	 * timing out or (with {@code get()}) holding the close forever.
	 */
	@Test
	@Timeout(60)
	void aCallbackWaitingForAReportTheCloseMustDispatchAfterTheDeadPollerIsRefused() throws Exception {
		Poller poller = poller("dies-waiting");
		Producer producer = producer(poller);
		AtomicReference<DeliveryHandle> second = new AtomicReference<>();
		List<Throwable> fromCallback = new CopyOnWriteArrayList<>();
		producer.produceAsync(message("pending", 1), (report, failure) -> {
			fromCallback.add(catchThrowable(() -> second.get().await(Duration.ofSeconds(30))));
			fromCallback.add(catchThrowable(() -> second.get().get()));
		});
		second.set(producer.produceAsync(message("pending", 2)));
		killPollerThread(poller);
		await().atMost(Duration.ofSeconds(30)).dontCatchUncaughtExceptions().until(producer::hasLostPolling);
		this.clients.get(0).failAppended(new TimeoutException("Expiring 2 record(s) (simulated)"));

		producer.close(Duration.ofSeconds(30));

		assertThat(fromCallback).hasSize(2)
			.allSatisfy((refusal) -> assertThat(refusal).isInstanceOf(IllegalCallerException.class));
		assertThat(second.get().toCompletableFuture()).isCompletedExceptionally();
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
	}

	/** Waiting for a report on the thread that must dispatch it would block that Poller forever. */
	@Test
	@Timeout(60)
	void joiningAFutureOnThePollingThreadIsRefused() throws Exception {
		Producer producer = producer();
		DeliveryHandle pending = producer.produceAsync(message("pending", 1));
		CompletableFuture<Throwable> refusal = new CompletableFuture<>();
		producer.produceSync(message("fine", 2)); // connected, and the Poller is running
		producer.produceAsync(message("fine", 3), (report, failure) -> {
			try {
				pending.toCompletableFuture().thenApply(DeliveryReport::offset).join();
				refusal.complete(null);
			}
			catch (Throwable ex) {
				refusal.complete(ex);
			}
		});
		assertThat(refusal.get(30, TimeUnit.SECONDS)).isInstanceOf(IllegalCallerException.class);
		// The Poller was not blocked: later reports are dispatched.
		assertThat(producer.produceSync(message("fine", 4)).label()).isEqualTo(4);
	}

	/**
	 * A callback producing to a producer whose send blocks (metadata or buffer space while the broker is away)
	 * must not freeze the Poller: the send is relayed, and the Poller keeps dispatching.
	 */
	@RepeatedTest(3)
	@Timeout(60)
	void produceFromACallbackNeverBlocksThePollingThread() {
		Relaying relaying = relaying("relay");
		Producer source = relaying.source();
		Producer target = relaying.target();
		MisbehavingKafka targetClient = relaying.targetClient();
		AtomicReference<DeliveryHandle> relayed = new AtomicReference<>();
		source.produceAsync(message("fine", 1),
				(report, failure) -> relayed.set(target.produceAsync(message("blocking", 2)))).await();
		targetClient.awaitBlockedSend();

		// The Poller dispatches both producers' reports while the relayed send is still blocked in Kafka.
		assertThat(source.produceSync(message("fine", 3)).label()).isEqualTo(3);
		assertThat(target.produceSync(message("fine", 4)).label()).isEqualTo(4);
		assertThat(relayed.get().isDone()).isFalse();

		targetClient.unblock();
		assertThat(relayed.get().await().label()).isEqualTo(2);
	}

	/** Relayed sends accepted before a graceful close are sent by it, not refused as closed. */
	@Test
	@Timeout(60)
	void relayedSendsAcceptedBeforeAGracefulCloseAreDelivered() throws Exception {
		Relaying relaying = relaying("relay-drain");
		Producer target = relaying.target();
		MisbehavingKafka targetClient = relaying.targetClient();
		List<DeliveryHandle> relayed = blockedAndQueuedOnTheRelay(relaying);

		CompletableFuture<Void> closing = onNewThread(() -> target.close(Duration.ofSeconds(30)));
		await().atMost(Duration.ofSeconds(30)).until(() -> target.status() == ProducerStatus.CLOSING);
		targetClient.unblock();
		closing.get(30, TimeUnit.SECONDS);

		assertThat(relayed).extracting((handle) -> handle.await().label()).containsExactly(2, 3);
	}

	/**
	 * A purge fails every message not delivered yet, also those the relay holds: one blocked in Kafka's send on
	 * the client the purge replaces (it then fails on that closed client), and one queued behind it, which would
	 * otherwise go to the new client.
	 */
	@Test
	@Timeout(60)
	void aPurgePurgesTheMessagesTheRelayHolds() throws Exception {
		Relaying relaying = relaying("relay-purged");
		Producer target = relaying.target();
		MisbehavingKafka targetClient = relaying.targetClient();
		List<DeliveryHandle> relayed = blockedAndQueuedOnTheRelay(relaying);

		CompletableFuture<Void> purging = onNewThread(target::purge);
		await().atMost(Duration.ofSeconds(30)).until(targetClient::closed);
		targetClient.unblock();
		purging.get(30, TimeUnit.SECONDS);

		assertThat(relayed).hasSize(2)
			.allSatisfy((handle) -> assertThatExceptionOfType(MessagePurgedException.class).isThrownBy(handle::await));
		assertThat(target.stats().purged()).isEqualTo(2);
		assertThat(target.stats().failed()).isZero();
		assertThat(this.clients.get(this.clients.size() - 1).history()).isEmpty(); // the new client got nothing
	}

	/**
	 * awaitSent waits for messages the relay holds too (Kafka's flush does not see them): a shutdown's drain
	 * does not end while they have not even reached Kafka.
	 */
	@Test
	@Timeout(60)
	void awaitSentWaitsForTheMessagesTheRelayHolds() throws Exception {
		Relaying relaying = relaying("relay-await");
		Producer target = relaying.target();
		MisbehavingKafka targetClient = relaying.targetClient();
		List<DeliveryHandle> relayed = blockedAndQueuedOnTheRelay(relaying);

		assertThat(target.awaitSent(Duration.ofMillis(500))).isFalse();
		targetClient.unblock();
		assertThat(target.awaitSent(Duration.ofSeconds(30))).isTrue();
		assertThat(relayed).extracting((handle) -> handle.await().label()).containsExactly(2, 3);
	}

	/**
	 * A purge while the relay reconnects a disconnected producer to send a callback's message (accepted before
	 * the purge) purges that message rather than sending it on the client the reconnect builds.
	 */
	@Test
	@Timeout(60)
	void aPurgeWhileTheRelayReconnectsPurgesTheMessageItHolds() throws Exception {
		Poller poller = poller("relay-purge-reconnect");
		Producer source = producer(poller);
		CountDownLatch connecting = new CountDownLatch(1);
		CountDownLatch mayConnect = new CountDownLatch(1);
		AtomicInteger built = new AtomicInteger();
		Producer target = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("relay-reconnect"))
			.poller(poller)
			.maxWaitTimeout(Duration.ofSeconds(30))
			.clientFactory((properties) -> {
				if (built.incrementAndGet() == 2) {
					connecting.countDown();
					TestProducers.awaitUninterruptibly(mayConnect);
				}
				return new MisbehavingKafka();
			})
			.build());
		this.producers.add(target);
		target.produceSync(message("fine", 1));
		await().atMost(Duration.ofSeconds(30)).until(() -> target.inFlight() == 0);
		target.disconnect();
		AtomicReference<DeliveryHandle> relayed = new AtomicReference<>();
		source.produceAsync(message("fine", 2),
				(report, failure) -> relayed.set(target.produceAsync(message("fine", 3))));
		assertThat(connecting.await(30, TimeUnit.SECONDS)).isTrue();
		await().atMost(Duration.ofSeconds(30)).until(() -> relayed.get() != null);

		target.purge(); // disconnected: no client to replace
		mayConnect.countDown();

		assertThatExceptionOfType(MessagePurgedException.class).isThrownBy(() -> relayed.get().await());
		assertThat(target.stats().acknowledged()).isOne();
	}

	/** A purge that a draining producer refuses purges nothing: the close's drain sends what the relay holds. */
	@Test
	@Timeout(60)
	void aPurgeRefusedByADrainingProducerLeavesTheRelayedMessagesToTheDrain() throws Exception {
		Relaying relaying = relaying("relay-purge-refused");
		Producer target = relaying.target();
		List<DeliveryHandle> relayed = blockedAndQueuedOnTheRelay(relaying);

		CompletableFuture<Void> closing = onNewThread(() -> target.close(Duration.ofSeconds(30)));
		await().atMost(Duration.ofSeconds(30)).until(() -> target.status() == ProducerStatus.CLOSING);
		assertThatExceptionOfType(ProducerClosedException.class).isThrownBy(target::purge);
		relaying.targetClient().unblock();
		closing.get(30, TimeUnit.SECONDS);

		assertThat(relayed).extracting((handle) -> handle.await().label()).containsExactly(2, 3);
	}

	/**
	 * awaitSent flushes what Kafka holds once the relay has handed its messages over: a client that holds
	 * records until flushed (a long linger.ms) answers within the wait.
	 */
	@Test
	@Timeout(60)
	void awaitSentFlushesOnceTheRelayHandedItsMessagesOver() throws Exception {
		Poller poller = poller("relay-await-flush");
		Producer source = producer(poller);
		CountDownLatch sendEntered = new CountDownLatch(1);
		CountDownLatch sendMayGoOn = new CountDownLatch(1);
		MockProducer<byte[], byte[]> lingering = new MockProducer<>(false, null, new ByteArraySerializer(),
				new ByteArraySerializer()) {

			@Override
			public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
				if (record.topic().equals("held")) {
					sendEntered.countDown();
					TestProducers.awaitUninterruptibly(sendMayGoOn);
				}
				return super.send(record, callback);
			}

		};
		Producer target = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("lingering"))
			.poller(poller)
			.maxWaitTimeout(Duration.ofSeconds(30))
			.clientFactory((properties) -> lingering)
			.build());
		this.producers.add(target);
		target.produceAsync(message("fine", 1));
		source.produceAsync(message("fine", 2), (report, failure) -> target.produceAsync(message("held", 3)));
		assertThat(sendEntered.await(30, TimeUnit.SECONDS)).isTrue();
		onNewThread(sendMayGoOn::countDown);

		assertThat(target.awaitSent(Duration.ofSeconds(30))).isTrue();
		assertThat(lingering.history()).hasSize(2);
	}

	/**
	 * A relayed send still blocked in Kafka when a forced close purges: it then fails on the closed client,
	 * which is the close's purge, not a delivery failure.
	 */
	@Test
	@Timeout(60)
	void aRelayedSendThatMeetsTheForcedCloseIsPurged() throws Exception {
		Relaying relaying = relaying("relay-purge");
		Producer source = relaying.source();
		Producer target = relaying.target();
		MisbehavingKafka targetClient = relaying.targetClient();
		AtomicReference<DeliveryHandle> relayed = new AtomicReference<>();
		source.produceAsync(message("fine", 1),
				(report, failure) -> relayed.set(target.produceAsync(message("blocking", 2)))).await();
		targetClient.awaitBlockedSend();

		CompletableFuture<Void> closing = onNewThread(target::closeForcefully);
		await().atMost(Duration.ofSeconds(30)).until(() -> targetClient.closed());
		targetClient.unblock();
		closing.get(30, TimeUnit.SECONDS);

		assertThatExceptionOfType(MessagePurgedException.class).isThrownBy(() -> relayed.get().await());
		assertThat(target.stats().purged()).isOne();
		assertThat(target.stats().failed()).isZero();
	}

	/**
	 * A callback's message for a disconnected producer waits on the relay for its reconnect; a close that
	 * comes first (straight to releasing, since there is no client) waits for the relay before it lets go of
	 * polling, so the message is reported as purged instead of being left without an outcome.
	 */
	@Test
	@Timeout(60)
	void aRelayedSendForADisconnectedProducerThatIsClosedFirstIsPurged() throws Exception {
		Poller poller = poller("relay-closed");
		Producer source = producer(poller);
		Producer target = producer(poller);
		target.produceSync(message("fine", 1));
		await().atMost(Duration.ofSeconds(30)).until(() -> target.inFlight() == 0);
		target.disconnect();
		CountDownLatch relayMayRun = new CountDownLatch(1);
		ThreadFactory original = Producer.threads;
		Producer.threads = (task) -> new Thread(() -> {
			TestProducers.awaitUninterruptibly(relayMayRun);
			task.run();
		});
		AtomicInteger callbacks = new AtomicInteger();
		AtomicReference<DeliveryHandle> relayed = new AtomicReference<>();
		try {
			source.produceAsync(message("fine", 2), (report, failure) -> relayed
				.set(target.produceAsync(message("fine", 3), (again, failed) -> callbacks.incrementAndGet()))).await();
			await().atMost(Duration.ofSeconds(30)).until(() -> relayed.get() != null);

			CompletableFuture<Void> closing = onNewThread(() -> target.close(Duration.ofSeconds(30)));
			await().atMost(Duration.ofSeconds(30)).until(() -> target.status() == ProducerStatus.CLOSING);
			relayMayRun.countDown();
			closing.get(30, TimeUnit.SECONDS);
		}
		finally {
			relayMayRun.countDown();
			Producer.threads = original;
		}

		assertThatExceptionOfType(MessagePurgedException.class).isThrownBy(() -> relayed.get().await());
		assertThat(callbacks).hasValue(1);
		assertThat(target.inFlight()).isZero();
	}

	/**
	 * A callback's send to a disconnected producer that reaches the relay only after that producer's close
	 * stopped it is refused (thrown to the callback), instead of starting a relay nobody waits for, whose
	 * report nobody would dispatch.
	 */
	@Test
	@Timeout(60)
	void aRelayedSendThatComesAfterTheCloseStoppedTheRelayIsRefused() throws Exception {
		CountDownLatch inBeforeSend = new CountDownLatch(1);
		AtomicReference<Producer> target = new AtomicReference<>();
		DeliveryObserver blocksUntilClosed = new DeliveryObserver() {

			@Override
			public Object beforeSend(String producerId, Message message, ProducerRecord<byte[], byte[]> record) {
				if (message.label().equals(3)) {
					inBeforeSend.countDown();
					await().atMost(Duration.ofSeconds(30)).until(() -> target.get().status() == ProducerStatus.CLOSED);
				}
				return null;
			}

			@Override
			public void afterOutcome(Object observation, DeliveryReport report, Throwable error) {
			}

		};
		target.set(producer(poller("relay-stopped-target"), ProducerConfig.builder().observer(blocksUntilClosed)));
		Producer source = producer(poller("relay-stopped-source"));
		target.get().produceSync(message("fine", 1));
		await().atMost(Duration.ofSeconds(30)).until(() -> target.get().inFlight() == 0);
		target.get().disconnect();
		CompletableFuture<Throwable> fromCallback = new CompletableFuture<>();

		source.produceAsync(message("fine", 2),
				(report, failure) -> fromCallback
					.complete(catchThrowable(() -> target.get().produceAsync(message("fine", 3)))));
		assertThat(inBeforeSend.await(30, TimeUnit.SECONDS)).isTrue();
		target.get().close(Duration.ofSeconds(30));

		assertThat(fromCallback.get(30, TimeUnit.SECONDS)).isInstanceOf(ProducerClosedException.class);
		assertThat(target.get().inFlight()).isZero();
		assertThat(Thread.getAllStackTraces().keySet())
			.noneMatch((thread) -> thread.isAlive() && thread.getName().equals("waterdrop.relay-" + target.get().id()));
	}

	/**
	 * A relayed send whose relay thread cannot start (no native threads) is refused, and stays refused: the
	 * next relay thread does not find it queued and send it after all.
	 */
	@Test
	@Timeout(60)
	void aRelayedSendRefusedForWantOfAThreadIsNeverSentLater() throws Exception {
		Relaying relaying = relaying("relay-no-thread");
		Producer source = relaying.source();
		Producer target = relaying.target();
		MisbehavingKafka targetClient = relaying.targetClient();
		ThreadFactory original = Producer.threads;
		Producer.threads = (task) -> {
			throw new OutOfMemoryError("unable to create native thread: possibly out of memory (simulated)");
		};
		CompletableFuture<Throwable> refused = new CompletableFuture<>();
		try {
			source.produceAsync(message("fine", 1),
					(report, failure) -> refused
						.complete(catchThrowable(() -> target.produceAsync(message("fine", 2)))));
			assertThat(refused.get(30, TimeUnit.SECONDS)).isInstanceOf(OutOfMemoryError.class);
		}
		finally {
			Producer.threads = original;
		}
		AtomicReference<DeliveryHandle> later = new AtomicReference<>();
		source.produceAsync(message("fine", 3), (report, failure) -> later.set(target.produceAsync(message("fine", 4))))
			.await();
		await().atMost(Duration.ofSeconds(30)).until(() -> later.get() != null);
		assertThat(later.get().await().label()).isEqualTo(4);

		assertThat(targetClient.history()).extracting((record) -> new String(record.value()))
			.containsExactly("m-4");
		assertThat(target.inFlight()).isZero();
	}

	/** A relay thread idle for its keep-alive ends; the next send from a callback starts one again. */
	@Test
	@Timeout(60)
	void anIdleRelayThreadEndsAndComesBackWhenNeeded() {
		Duration original = Producer.relayKeepAlive;
		Producer.relayKeepAlive = Duration.ofMillis(50);
		try {
			Poller poller = poller("relay-idle");
			Producer source = producer(poller);
			Producer target = producer(poller);
			String relayThread = "waterdrop.relay-" + target.id();
			for (int round = 1; round <= 2; round++) {
				AtomicReference<DeliveryHandle> relayed = new AtomicReference<>();
				int label = round;
				source.produceAsync(message("fine", label),
						(report, failure) -> relayed.set(target.produceAsync(message("fine", 10 + label)))).await();
				await().atMost(Duration.ofSeconds(30)).until(() -> relayed.get() != null);
				assertThat(relayed.get().await().label()).isEqualTo(10 + label);

				await().atMost(Duration.ofSeconds(30)).until(() -> Thread.getAllStackTraces()
					.keySet()
					.stream()
					.noneMatch((thread) -> thread.isAlive() && thread.getName().equals(relayThread)));
			}
		}
		finally {
			Producer.relayKeepAlive = original;
		}
	}

	/** Two producers on one Poller: the source's callbacks send on the connected target, through its relay. */
	private Relaying relaying(String pollerName) {
		Poller poller = poller(pollerName);
		Producer source = producer(poller);
		Producer target = producer(poller);
		target.connect();
		return new Relaying(source, target, this.clients.get(this.clients.size() - 1));
	}

	private record Relaying(Producer source, Producer target, MisbehavingKafka targetClient) {
	}

	/**
	 * Two messages produced for the target in a callback of the source: one blocked in Kafka's send (on the
	 * relay's thread) once this returns, one queued on the relay behind it.
	 */
	private static List<DeliveryHandle> blockedAndQueuedOnTheRelay(Relaying relaying) throws InterruptedException {
		List<DeliveryHandle> relayed = new CopyOnWriteArrayList<>();
		CountDownLatch bothAccepted = new CountDownLatch(1);
		relaying.source().produceAsync(message("fine", 1), (report, failure) -> {
			relayed.add(relaying.target().produceAsync(message("blocking", 2)));
			relayed.add(relaying.target().produceAsync(message("fine", 3)));
			bothAccepted.countDown();
		}).await();
		assertThat(bothAccepted.await(30, TimeUnit.SECONDS)).isTrue();
		relaying.targetClient().awaitBlockedSend();
		return relayed;
	}

	/** Runs {@code task} on a new thread of its own (a close that waits must not take the common pool's). */
	private static CompletableFuture<Void> onNewThread(Runnable task) {
		return CompletableFuture.runAsync(task, (runnable) -> new Thread(runnable).start());
	}

	/** Kills the Poller's thread with a VirtualMachineError, from a registration's drain. */
	private static void killPollerThread(Poller poller) {
		// Registering serves it once, so the registration itself may report the death too.
		catchThrowable(() -> poller.register(new Pollable() {

			@Override
			public String id() {
				return "killer";
			}

			@Override
			public Duration maxTime() {
				return Duration.ofMillis(100);
			}

			@Override
			public Monitor monitor() {
				return new Monitor("killer");
			}

			@Override
			public boolean drain(DrainSlice slice) {
				throw new InternalError("simulated death of the Poller thread (expected in this test)");
			}

			@Override
			public void periodic(long nowNanos) {
			}

			@Override
			public void pollingTerminated(Throwable cause) {
			}

		}, poller.openPipe()));
	}

	/** An observer whose observation is the message's label, and whose end of it runs {@code afterOutcome}. */
	private static DeliveryObserver observer(Runnable afterOutcome) {
		return new DeliveryObserver() {
			@Override
			public Object beforeSend(String producerId, Message message, ProducerRecord<byte[], byte[]> record) {
				return message.label();
			}

			@Override
			public void afterOutcome(Object observation, DeliveryReport report, Throwable error) {
				afterOutcome.run();
			}
		};
	}

}
