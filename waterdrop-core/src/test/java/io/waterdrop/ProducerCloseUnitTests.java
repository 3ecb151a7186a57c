package io.waterdrop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingMode;
import io.waterdrop.polling.PollingThreads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Closing races, without a broker: messages produced while the producer closes each end exactly once
 * (acknowledged, failed or purged) or are refused with {@link ProducerClosedException}; concurrent closes
 * all return after one close. A fake network thread completes, fails and (after a forced close) purges
 * what {@link MockProducer} holds, as Kafka's would.
 */
class ProducerCloseUnitTests {

	private static final Poller poller = new Poller(PollerConfig.named("close-unit"));

	private static final AtomicInteger ids = new AtomicInteger();

	private static final int SENDERS = 3;

	private static final int PER_SENDER = 300;

	enum CloseKind {

		GRACEFUL, FORCED

	}

	@AfterAll
	static void pollerStops() throws InterruptedException {
		assertThat(poller.awaitStopped(Duration.ofSeconds(30))).isTrue();
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	@Timeout(value = 60, unit = TimeUnit.SECONDS)
	void concurrentProduceAndCloseGiveEveryMessageExactlyOneOutcome(PollingMode mode) throws Exception {
		int[] totals = new int[4];
		for (int round = 0; round < 40; round++) {
			// Half the rounds with a small maxInFlight: senders then also wait for room while the close runs.
			int maxInFlight = (round % 4 < 2) ? ProducerConfig.DEFAULT_MAX_IN_FLIGHT : 8;
			int[] outcome = produceWhileClosing(mode, (round % 2 == 0) ? CloseKind.GRACEFUL : CloseKind.FORCED,
					maxInFlight, round);
			for (int i = 0; i < totals.length; i++) {
				totals[i] += outcome[i];
			}
		}
		// The races were really run: some messages got each outcome.
		assertThat(totals).as("acknowledged, failed, purged, refused over all rounds: %s", java.util.Arrays.toString(totals))
			.doesNotContain(0);
	}

	/** @return counts of acknowledged, failed, purged and refused messages */
	private int[] produceWhileClosing(PollingMode mode, CloseKind kind, int maxInFlight, int round)
			throws Exception {
		MockProducer<byte[], byte[]> kafka = mockClient();
		Producer producer = producer(mode, kafka, maxInFlight);
		producer.connect();
		AtomicInteger closedEvents = new AtomicInteger();
		producer.monitor().subscribe(ProducerEvent.Closed.class, (event) -> closedEvents.incrementAndGet());
		int total = SENDERS * PER_SENDER;
		AtomicIntegerArray callbacks = new AtomicIntegerArray(total);
		Map<Integer, DeliveryHandle> accepted = new ConcurrentHashMap<>();
		ConcurrentLinkedQueue<Integer> refused = new ConcurrentLinkedQueue<>();
		AtomicReference<Throwable> unexpected = new AtomicReference<>();
		Network network = new Network(kafka);
		network.start();
		CountDownLatch start = new CountDownLatch(1);
		List<Thread> threads = new ArrayList<>();
		for (int s = 0; s < SENDERS; s++) {
			int base = s * PER_SENDER;
			threads.add(new Thread(() -> {
				awaitQuietly(start);
				for (int i = base; i < base + PER_SENDER; i++) {
					int index = i;
					Message message = Message.builder("t").payload("m" + index).label(index).build();
					try {
						accepted.put(index, producer.produceAsync(message,
								(report, failure) -> callbacks.incrementAndGet(index)));
					}
					catch (ProducerClosedException ex) {
						refused.add(index);
					}
					catch (Throwable ex) {
						unexpected.compareAndSet(null, ex);
					}
				}
			}, "test-sender-" + s));
		}
		// Close somewhere in the middle of the sends: sometimes before the first, sometimes after the last.
		long closeDelayMicros = ThreadLocalRandom.current().nextLong(0, 3_000);
		threads.add(new Thread(() -> {
			awaitQuietly(start);
			sleepMicros(closeDelayMicros);
			try {
				if (kind == CloseKind.FORCED) {
					producer.closeForcefully();
				}
				else {
					producer.close(Duration.ofSeconds(20));
				}
			}
			catch (Throwable ex) {
				unexpected.compareAndSet(null, ex);
			}
		}, "test-closer"));
		threads.forEach(Thread::start);
		start.countDown();
		for (Thread thread : threads) {
			thread.join(30_000);
			assertThat(thread.isAlive()).as("%s still running (round %d, %s, %s): hang", thread.getName(), round,
					mode, kind).isFalse();
		}
		network.stop();
		String context = "round " + round + ", " + mode + ", " + kind + ", maxInFlight " + maxInFlight
				+ ", close after " + closeDelayMicros + " µs";
		assertThat(unexpected.get()).as("unexpected exception, %s", context).isNull();
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(accepted.size() + refused.size()).as(context).isEqualTo(total);
		int acknowledged = 0;
		int failed = 0;
		int purged = 0;
		for (Map.Entry<Integer, DeliveryHandle> entry : accepted.entrySet()) {
			DeliveryHandle handle = entry.getValue();
			assertThat(handle.isDone()).as("handle of message %d done after close, %s", entry.getKey(), context)
				.isTrue();
			try {
				assertThat(handle.toCompletableFuture().get().label()).isEqualTo(entry.getKey());
				acknowledged++;
			}
			catch (ExecutionException ex) {
				assertThat(ex.getCause()).isInstanceOf(DeliveryFailedException.class);
				assertThat(((DeliveryFailedException) ex.getCause()).label()).isEqualTo(entry.getKey());
				if (ex.getCause() instanceof MessagePurgedException) {
					purged++;
				}
				else {
					failed++;
				}
			}
			assertThat(callbacks.get(entry.getKey())).as("callbacks of message %d, %s", entry.getKey(), context)
				.isEqualTo(1);
		}
		for (int index : refused) {
			assertThat(callbacks.get(index)).as("callbacks of refused message %d", index).isZero();
		}
		ProducerStats stats = producer.stats();
		assertThat(stats.acknowledged()).as(context).isEqualTo(acknowledged);
		assertThat(stats.failed()).as(context).isEqualTo(failed);
		assertThat(stats.purged()).as(context).isEqualTo(purged);
		assertThat(stats.dispatched()).as(context).isEqualTo(accepted.size());
		assertThat(stats.producedAsync()).as(context).isEqualTo(accepted.size());
		assertThat(producer.inFlight()).isZero();
		assertThat(closedEvents).as(context).hasValue(1);
		if (kind == CloseKind.GRACEFUL) {
			assertThat(purged).as("purges in a graceful close, %s", context).isZero();
		}
		return new int[] { acknowledged, failed, purged, refused.size() };
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	@Timeout(value = 60, unit = TimeUnit.SECONDS)
	void concurrentClosesAllReturnAfterExactlyOneClose(PollingMode mode) throws Exception {
		for (int round = 0; round < 25; round++) {
			MockProducer<byte[], byte[]> kafka = mockClient();
			Producer producer = producer(mode, kafka);
			AtomicInteger closing = new AtomicInteger();
			AtomicInteger closed = new AtomicInteger();
			producer.monitor().subscribe(ProducerEvent.Closing.class, (event) -> closing.incrementAndGet());
			producer.monitor().subscribe(ProducerEvent.Closed.class, (event) -> closed.incrementAndGet());
			List<DeliveryHandle> handles = new ArrayList<>();
			for (int i = 0; i < 20; i++) {
				handles.add(producer.produceAsync(Message.of("t", "m" + i)));
			}
			// Acknowledged only after both closers are waiting (or racing to start).
			Network network = new Network(kafka);
			network.delayMillis = 20;
			network.start();
			CountDownLatch start = new CountDownLatch(1);
			AtomicReference<Throwable> unexpected = new AtomicReference<>();
			boolean mixed = round % 2 == 1;
			List<Thread> closers = new ArrayList<>();
			for (int c = 0; c < 2; c++) {
				boolean force = mixed && c == 1;
				closers.add(new Thread(() -> {
					awaitQuietly(start);
					try {
						if (force) {
							producer.closeForcefully();
						}
						else {
							producer.close(Duration.ofSeconds(20));
						}
					}
					catch (Throwable ex) {
						unexpected.compareAndSet(null, ex);
					}
				}, "test-closer-" + c));
			}
			closers.forEach(Thread::start);
			start.countDown();
			for (Thread closer : closers) {
				closer.join(30_000);
				assertThat(closer.isAlive()).as("%s still running (round %d, %s): hang", closer.getName(), round, mode)
					.isFalse();
			}
			network.stop();
			assertThat(unexpected.get()).isNull();
			assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
			assertThat(closing).as("Closing events, round %d", round).hasValue(1);
			assertThat(closed).as("Closed events, round %d", round).hasValue(1);
			assertThat(handles).allMatch(DeliveryHandle::isDone);
			assertThat(producer.stats().dispatched()).isEqualTo(20);
			// A third, late close returns at once too.
			producer.close();
			assertThat(closed).hasValue(1);
		}
	}

	/**
	 * A close that comes while another, with a longer timeout, waits for a message Kafka never answers returns
	 * within its own timeout (plus the purge), as KafkaProducer's close does: it hurries the close under way,
	 * and the message is purged. So does the future of a closeAsync.
	 */
	@Test
	@Timeout(value = 60, unit = TimeUnit.SECONDS)
	void aSecondCloseReturnsWithinItsOwnTimeoutPurgingWhatIsUndelivered() throws Exception {
		for (boolean async : new boolean[] { false, true }) {
			Producer producer = stuckWithOneMessageInFlight();
			DeliveryHandle stuck = producer.produceAsync(Message.of("t", "never answered"));
			Thread longClose = new Thread(() -> producer.close(Duration.ofMinutes(10)), "test-long-close");
			longClose.start();
			await().atMost(Duration.ofSeconds(30)).until(() -> producer.status() == ProducerStatus.CLOSING);

			if (async) {
				producer.closeAsync(Duration.ofMillis(100)).get(30, TimeUnit.SECONDS);
			}
			else {
				producer.close(Duration.ofMillis(100));
			}

			assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
			assertThat(stuck.isDone()).isTrue();
			assertThat(producer.stats().purged()).isEqualTo(2);
			longClose.join(30_000);
			assertThat(longClose.isAlive()).isFalse();
		}
	}

	/**
	 * The future of closeAsync is the caller's: cancelling it, or bounding it with orTimeout, leaves the close
	 * and every other caller's wait for it as they were.
	 */
	@Test
	@Timeout(value = 60, unit = TimeUnit.SECONDS)
	void cancellingOrBoundingTheFutureOfCloseAsyncChangesNothingOfTheClose() throws Exception {
		Producer producer = stuckWithOneMessageInFlight();
		CompletableFuture<Void> cancelled = producer.closeAsync(Duration.ofMillis(500));
		CompletableFuture<Void> bounded = producer.closeAsync(Duration.ofMillis(500))
			.orTimeout(1, TimeUnit.MILLISECONDS);
		assertThat(cancelled.cancel(true)).isTrue();
		await().atMost(Duration.ofSeconds(30)).until(bounded::isDone);

		producer.close(Duration.ofSeconds(30)); // neither cancelled nor timed out: it waits for the close

		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(producer.closeAsync(Duration.ZERO)).isCompleted();
	}

	/** A producer whose one message in flight Kafka never answers until the client is closed at once. */
	private static Producer stuckWithOneMessageInFlight() {
		Producer producer = new Producer(ProducerConfig.builder()
			.id("close-unit-stuck-" + ids.incrementAndGet())
			.pollingMode(PollingMode.THREAD)
			.maxWaitTimeout(Duration.ofSeconds(60))
			.clientFactory(new PendingKafka().stuck().factory())
			.build());
		producer.produceAsync(Message.of("t", "in flight"));
		return producer;
	}

	/**
	 * A forced close cuts short a graceful one already inside Kafka's close, which waits for Kafka's own
	 * requests (a broker that does not answer): like KafkaProducer, the client's graceful close here waits until
	 * a close at once comes beside it. Bounded only by the deadlock guard, not by the graceful close's timeout.
	 */
	@Test
	@Timeout(value = 120, unit = TimeUnit.SECONDS)
	void aForcedCloseCutsShortAGracefulCloseWaitingInKafkasClose() throws Exception {
		CountDownLatch inGracefulClose = new CountDownLatch(1);
		CountDownLatch closedAtOnce = new CountDownLatch(1);
		MockProducer<byte[], byte[]> kafka = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer()) {

			@Override
			public void close(Duration timeout) {
				if (timeout.isZero()) {
					closedAtOnce.countDown();
				}
				else {
					inGracefulClose.countDown();
					awaitQuietly(closedAtOnce, timeout);
				}
				super.close(timeout);
			}

		};
		Producer producer = new Producer(ProducerConfig.builder()
			.id("close-release-" + ids.incrementAndGet())
			.poller(poller)
			.maxWaitTimeout(Duration.ofMinutes(10))
			.clientFactory((properties) -> kafka)
			.build());
		producer.produceSync(Message.of("t", "m"));
		ExecutorService closers = Executors.newFixedThreadPool(2);
		try {
			Future<?> graceful = closers.submit(() -> producer.close(Duration.ofMinutes(10)));
			assertThat(inGracefulClose.await(30, TimeUnit.SECONDS)).isTrue();

			assertThat(closers.submit(producer::closeForcefully)).succeedsWithin(30, TimeUnit.SECONDS);
			assertThat(graceful).succeedsWithin(30, TimeUnit.SECONDS);
			assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		}
		finally {
			closedAtOnce.countDown();
			closers.shutdownNow();
		}
	}

	/**
	 * Not on a polling thread, though: Kafka's close joins its network thread, which every producer that thread
	 * serves would wait for. The forced close there only marks the close forced and returns.
	 */
	@Test
	@Timeout(value = 60, unit = TimeUnit.SECONDS)
	void aForcedCloseOnAPollingThreadLeavesKafkasCloseToTheClosingThread() throws Exception {
		CountDownLatch inGracefulClose = new CountDownLatch(1);
		AtomicBoolean closedOnAPollingThread = new AtomicBoolean();
		MockProducer<byte[], byte[]> kafka = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer()) {

			@Override
			public void close(Duration timeout) {
				closedOnAPollingThread.compareAndSet(false, PollingThreads.isCurrent());
				if (!timeout.isZero()) {
					inGracefulClose.countDown();
					sleepQuietly(timeout); // a broker that does not answer Kafka's own requests
				}
				super.close(timeout);
			}

		};
		Producer producer = producer(PollingMode.FD, kafka);
		producer.produceSync(Message.of("t", "m"));
		ExecutorService closers = Executors.newFixedThreadPool(2);
		try {
			Future<?> graceful = closers.submit(() -> producer.close(Duration.ofMillis(500)));
			assertThat(inGracefulClose.await(30, TimeUnit.SECONDS)).isTrue();
			assertThat(closers.submit(() -> PollingThreads.runAsPollingThread(producer::closeForcefully)))
				.succeedsWithin(30, TimeUnit.SECONDS);
			assertThat(graceful).succeedsWithin(30, TimeUnit.SECONDS);
			assertThat(closedOnAPollingThread).isFalse();
		}
		finally {
			closers.shutdownNow();
		}
	}

	/**
	 * A listener of the close's own events that closes the producer (a registry's removal of it, say) returns
	 * at once: it runs on the closing thread, and waiting there would wait for itself.
	 */
	@ParameterizedTest
	@EnumSource(PollingMode.class)
	@Timeout(value = 60, unit = TimeUnit.SECONDS)
	void aCloseFromAListenerOfTheClosesOwnEventsReturns(PollingMode mode) throws Exception {
		MockProducer<byte[], byte[]> kafka = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		Producer producer = producer(mode, kafka);
		List<String> closedIn = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Closing.class, (event) -> {
			producer.close();
			closedIn.add("closing");
		});
		producer.monitor().subscribe(ProducerEvent.Closed.class, (event) -> {
			producer.closeForcefully();
			closedIn.add("closed");
		});
		producer.produceSync(Message.of("t", "m"));
		ExecutorService closer = Executors.newSingleThreadExecutor();
		try {
			assertThat(closer.submit(() -> producer.close(Duration.ofSeconds(20)))).succeedsWithin(30,
					TimeUnit.SECONDS);
		}
		finally {
			closer.shutdownNow();
		}
		assertThat(closedIn).containsExactly("closing", "closed");
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
	}

	/**
	 * A sender asks Kafka for a topic's partitions before it takes a slot, so a close can take the client from
	 * under it: it is refused as closed, like any message a closing producer refuses, not failed.
	 */
	@Test
	@Timeout(value = 60, unit = TimeUnit.SECONDS)
	void aSenderLookingUpPartitionsWhenTheCloseTakesTheClientIsRefusedAsClosed() throws Exception {
		CountDownLatch lookingUp = new CountDownLatch(1);
		CountDownLatch clientClosed = new CountDownLatch(1);
		MockProducer<byte[], byte[]> kafka = new MockProducer<>(false, null, new ByteArraySerializer(),
				new ByteArraySerializer()) {

			@Override
			public List<PartitionInfo> partitionsFor(String topic) {
				lookingUp.countDown();
				try {
					clientClosed.await(30, TimeUnit.SECONDS);
				}
				catch (InterruptedException ex) {
					Thread.currentThread().interrupt();
				}
				throw new KafkaException("Requested metadata update after close"); // what Kafka's metadata wait says
			}

			@Override
			public void close(Duration timeout) {
				super.close(timeout);
				clientClosed.countDown();
			}

		};
		Producer producer = producer(PollingMode.FD, kafka);
		producer.connect();
		CompletableFuture<DeliveryHandle> sending = CompletableFuture
			.supplyAsync(() -> producer.produceAsync(Message.builder("t").payload("p").partitionKey("k").build()));
		assertThat(lookingUp.await(30, TimeUnit.SECONDS)).isTrue();

		producer.close();

		assertThat(sending).failsWithin(Duration.ofSeconds(30))
			.withThrowableOfType(ExecutionException.class)
			.withCauseInstanceOf(ProducerClosedException.class);
		assertThat(producer.stats().failed()).isZero();
	}

	/**
	 * Kafka's close waits for its own requests too (metadata, an open transaction's abort), which a broker that
	 * does not answer never ends: with nothing in flight it is still given the close's timeout, not
	 * max-wait-timeout, and nothing at all by a forced close.
	 */
	@Test
	@Timeout(value = 60, unit = TimeUnit.SECONDS)
	void kafkasCloseIsBoundedByTheClosesTimeoutWithNothingInFlight() throws Exception {
		List<Duration> closeTimeouts = new CopyOnWriteArrayList<>();
		MockProducer<byte[], byte[]> forcedKafka = recordingCloses(closeTimeouts);
		Producer forced = producer(PollingMode.FD, forcedKafka);
		forced.produceSync(Message.of("t", "p"));

		forced.closeForcefully();

		assertThat(closeTimeouts).containsOnly(Duration.ZERO);
		closeTimeouts.clear();
		Producer graceful = producer(PollingMode.FD, recordingCloses(closeTimeouts));
		graceful.produceSync(Message.of("t", "p"));

		graceful.close(Duration.ofSeconds(1));

		assertThat(closeTimeouts).singleElement()
			.satisfies((timeout) -> assertThat(timeout).isLessThanOrEqualTo(Duration.ofSeconds(1)));
	}

	/**
	 * An interrupted close purges instead of waiting for Kafka, but returns only once every message has its
	 * outcome: interrupts during its last waits (the purge's reports, the detach) do not cut them short.
	 */
	@Test
	@Timeout(value = 60, unit = TimeUnit.SECONDS)
	void anInterruptedCloseStillReturnsOnlyOnceEveryReportWasDispatched() throws Exception {
		MockProducer<byte[], byte[]> kafka = new MockProducer<>(false, null, new ByteArraySerializer(),
				new ByteArraySerializer()) {

			@Override
			public void close(Duration timeout) {
				while (errorNext(new KafkaException("Producer is closed forcefully (simulated)"))) {
					// as Kafka's forced close fails what it holds
				}
				super.close(timeout);
			}

		};
		Producer producer = producer(PollingMode.FD, kafka);
		CountDownLatch held = new CountDownLatch(1);
		AtomicInteger outcomes = new AtomicInteger();
		producer.produceAsync(Message.of("t", "first"), (report, failure) -> {
			TestProducers.awaitLatch(held);
			outcomes.incrementAndGet();
		});
		producer.produceAsync(Message.of("t", "second"), (report, failure) -> outcomes.incrementAndGet());
		CompletableFuture<Void> closed = new CompletableFuture<>();
		Thread closer = new Thread(() -> {
			producer.close(Duration.ZERO);
			closed.complete(null);
		});
		closer.start();
		try {
			for (int interrupts = 0; interrupts < 10; interrupts++) {
				await().atMost(Duration.ofSeconds(30))
					.until(() -> closed.isDone() || closer.getState() == Thread.State.TIMED_WAITING);
				assertThat(closed).as("returned after %d interrupt(s)", interrupts).isNotDone();
				closer.interrupt();
			}
		}
		finally {
			held.countDown();
		}
		closed.get(30, TimeUnit.SECONDS);
		assertThat(outcomes).hasValue(2);
		closer.join(30_000);
	}

	/** A client that acknowledges every send at once and records the timeouts it is closed with. */
	private static MockProducer<byte[], byte[]> recordingCloses(List<Duration> closeTimeouts) {
		return new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer()) {

			@Override
			public void close(Duration timeout) {
				closeTimeouts.add(timeout);
				super.close(timeout);
			}

		};
	}

	private static MockProducer<byte[], byte[]> mockClient() {
		return new MockProducer<>(false, null, new ByteArraySerializer(), new ByteArraySerializer());
	}

	private static Producer producer(PollingMode mode, MockProducer<byte[], byte[]> kafka) {
		return producer(mode, kafka, ProducerConfig.DEFAULT_MAX_IN_FLIGHT);
	}

	private static Producer producer(PollingMode mode, MockProducer<byte[], byte[]> kafka, int maxInFlight) {
		ProducerConfig.Builder config = ProducerConfig.builder()
			.maxInFlight(maxInFlight)
			.id("close-" + mode.name().toLowerCase(java.util.Locale.ROOT) + "-" + ids.incrementAndGet())
			.pollingMode(mode)
			.maxWaitTimeout(Duration.ofSeconds(20))
			.clientFactory((properties) -> kafka);
		if (mode == PollingMode.FD) {
			config.poller(poller);
		}
		return new Producer(config.build());
	}

	private static void awaitQuietly(CountDownLatch latch) {
		awaitQuietly(latch, Duration.ofSeconds(10));
	}

	private static void awaitQuietly(CountDownLatch latch, Duration timeout) {
		try {
			latch.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
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

	private static void sleepMicros(long micros) {
		long end = System.nanoTime() + TimeUnit.MICROSECONDS.toNanos(micros);
		while (System.nanoTime() - end < 0) {
			Thread.onSpinWait();
		}
	}

	/**
	 * Kafka's network thread, played on a {@link MockProducer}: acknowledges most messages, fails some, and
	 * once the client is closed fails everything left (as {@code close(Duration.ZERO)} aborts batches).
	 */
	private static final class Network {

		private final MockProducer<byte[], byte[]> kafka;

		private final AtomicBoolean running = new AtomicBoolean(true);

		private final Thread thread;

		volatile long delayMillis;

		Network(MockProducer<byte[], byte[]> kafka) {
			this.kafka = kafka;
			this.thread = new Thread(this::run, "test-network");
			this.thread.setDaemon(true);
		}

		void start() {
			this.thread.start();
		}

		void stop() throws InterruptedException {
			this.running.set(false);
			this.thread.join(10_000);
			assertThat(this.thread.isAlive()).isFalse();
		}

		private void run() {
			if (this.delayMillis > 0) {
				try {
					Thread.sleep(this.delayMillis);
				}
				catch (InterruptedException ex) {
					return;
				}
			}
			ThreadLocalRandom random = ThreadLocalRandom.current();
			while (this.running.get()) {
				boolean progressed;
				if (this.kafka.closed()) {
					progressed = this.kafka.errorNext(new KafkaException("Producer is closed forcefully."));
				}
				else if (random.nextInt(10) == 0) {
					progressed = this.kafka.errorNext(new TimeoutException("Expiring record"));
				}
				else {
					progressed = this.kafka.completeNext();
				}
				if (!progressed) {
					Thread.yield();
				}
			}
		}

	}

}
