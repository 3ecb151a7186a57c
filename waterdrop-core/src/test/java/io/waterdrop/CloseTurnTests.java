package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.Timeout.ThreadMode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingThreads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The turn a graceful close takes to flush the buffer before it stops taking messages: other closes neither
 * drop that flush (a callback's, a connect listener's: they leave the close to the closer in turn) nor wait
 * for it past their own timeout or when forced, nor wedge a listener of the flush's own events, nor deadlock
 * with it; the close in turn always begins, also when its flush fails.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = ThreadMode.SEPARATE_THREAD)
class CloseTurnTests {

	private static final Poller poller = new Poller(PollerConfig.named("close-turn"));

	private static final AtomicInteger ids = new AtomicInteger();

	/** Every Kafka client the test's producers built. */
	private final List<MockProducer<byte[], byte[]>> clients = new CopyOnWriteArrayList<>();

	/** The test's producers' {@code buffer.purged} events. */
	private final List<ProducerEvent> purged = new CopyOnWriteArrayList<>();

	private final ExecutorService threads = Executors.newFixedThreadPool(2);

	@AfterEach
	void stopThreads() {
		this.threads.shutdownNow();
	}

	@AfterAll
	static void pollerStops() throws InterruptedException {
		assertThat(poller.awaitStopped(Duration.ofSeconds(30))).isTrue();
	}

	/** A producer on the test's Poller whose clients and {@code buffer.purged} events the test records. */
	private Producer producer(String name, ProducerConfig.Builder settings) {
		Producer producer = new Producer(settings.id(name + "-" + ids.incrementAndGet())
			.poller(poller)
			.clientFactory((properties) -> newClient())
			.build());
		producer.monitor().subscribe(ProducerEvent.BufferPurged.class, this.purged::add);
		return producer;
	}

	private MockProducer<byte[], byte[]> newClient() {
		MockProducer<byte[], byte[]> client = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		this.clients.add(client);
		return client;
	}

	private List<String> sent() {
		return this.clients.stream()
			.flatMap((client) -> client.history().stream())
			.map((record) -> new String(record.value(), StandardCharsets.UTF_8))
			.toList();
	}

	/**
	 * A close from a listener of {@code producer.connected} (holding the lifecycle lock, so it must not wait for
	 * the turn) while a graceful close flushes leaves the close to that closer: the flush is sent.
	 */
	@Test
	void aConnectListenersCloseDuringAGracefulClosesFlushLeavesTheCloseToIt() throws Exception {
		HoldingSerializer holding = new HoldingSerializer(null);
		Producer producer = producer("turn-connect", ProducerConfig.builder()
			.maxWaitTimeout(Duration.ofSeconds(10))
			.payloadSerializer(holding));
		AtomicBoolean closeInListener = new AtomicBoolean();
		producer.monitor().subscribe(ProducerEvent.Connected.class, (event) -> {
			if (closeInListener.compareAndSet(true, false)) {
				producer.close(Duration.ofSeconds(5));
			}
		});
		producer.buffer(Message.of("t", "buffered"));
		holding.arm();
		try {
			Future<?> graceful = this.threads.submit(() -> producer.close(Duration.ofSeconds(10)));
			assertThat(holding.held.await(30, TimeUnit.SECONDS)).isTrue(); // it holds the turn, in its flush
			closeInListener.set(true);
			Future<?> connecting = this.threads.submit(producer::connect);
			await().atMost(Duration.ofSeconds(30)).until(connecting::isDone);
			holding.mayGoOn.countDown();
			assertThat(graceful).succeedsWithin(30, TimeUnit.SECONDS);
		}
		finally {
			holding.mayGoOn.countDown();
		}
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(this.purged).as("buffer.purged of the flush").isEmpty();
		assertThat(sent()).containsExactly("buffered");
	}

	/** The same for a close from a callback (a polling thread, which must not wait either). */
	@Test
	void aPollingThreadsCloseDuringAGracefulClosesFlushLeavesTheCloseToIt() throws Exception {
		HoldingSerializer holding = new HoldingSerializer(null);
		Producer producer = producer("turn-callback", ProducerConfig.builder()
			.maxWaitTimeout(Duration.ofSeconds(10))
			.payloadSerializer(holding));
		producer.produceSync(Message.of("t", "first"));
		producer.buffer(Message.of("t", "buffered"));
		holding.arm();
		try {
			Future<?> graceful = this.threads.submit(() -> producer.close(Duration.ofSeconds(10)));
			assertThat(holding.held.await(30, TimeUnit.SECONDS)).isTrue();
			PollingThreads.runAsPollingThread(producer::close); // as a delivery callback's close
			holding.mayGoOn.countDown();
			assertThat(graceful).succeedsWithin(30, TimeUnit.SECONDS);
		}
		finally {
			holding.mayGoOn.countDown();
		}
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(this.purged).as("buffer.purged of the flush").isEmpty();
		assertThat(sent()).containsExactly("first", "buffered");
	}

	/**
	 * A close from a callback left to the closer in turn is not lost when that closer's flush fails with an
	 * Error: the close goes on, and the Error comes to that closer's caller.
	 */
	@Test
	void aCloseLeftToTheCloserInTurnIsNotLostWhenItsFlushFails() throws Exception {
		HoldingSerializer failing = new HoldingSerializer(
				new StackOverflowError("in a payload serializer (simulated)"));
		Producer producer = producer("turn-flush-error", ProducerConfig.builder()
			.maxWaitTimeout(Duration.ofSeconds(10))
			.payloadSerializer(failing));
		producer.produceSync(Message.of("t", "first"));
		producer.buffer(Message.of("t", "buffered"));
		failing.arm();
		try {
			Future<?> first = this.threads.submit(() -> producer.close(Duration.ofSeconds(10)));
			assertThat(failing.held.await(30, TimeUnit.SECONDS)).isTrue();
			PollingThreads.runAsPollingThread(producer::close); // returns at once: the close goes on elsewhere
			failing.mayGoOn.countDown();
			assertThat(first).failsWithin(30, TimeUnit.SECONDS)
				.withThrowableOfType(ExecutionException.class)
				.withCauseInstanceOf(StackOverflowError.class);
		}
		finally {
			failing.mayGoOn.countDown();
		}
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.status() == ProducerStatus.CLOSED);
	}

	/**
	 * A listener of {@code producer.connected} (published holding the producer's lifecycle lock) that closes
	 * the producer while another close, in turn, waits for that lock does not deadlock with it.
	 */
	@Test
	void aCloseFromAConnectListenerDoesNotDeadlockWithTheCloseInTurn() throws Exception {
		Producer producer = producer("turn-connect-lock", ProducerConfig.builder()
			.maxWaitTimeout(Duration.ofSeconds(10)));
		AtomicReference<Thread> otherCloser = new AtomicReference<>();
		AtomicBoolean armed = new AtomicBoolean(true);
		CountDownLatch inListener = new CountDownLatch(1);
		producer.monitor().subscribe(ProducerEvent.Connected.class, (event) -> {
			if (armed.compareAndSet(true, false)) {
				inListener.countDown();
				// Until the other close waits (for the lifecycle lock this listener's thread holds).
				await().atMost(Duration.ofSeconds(30))
					.until(() -> otherCloser.get() != null && otherCloser.get().getState() == Thread.State.WAITING);
				producer.close(Duration.ofSeconds(5));
			}
		});
		Future<?> connecting = this.threads.submit(producer::connect);
		assertThat(inListener.await(30, TimeUnit.SECONDS)).isTrue();
		Future<?> closing = this.threads.submit(() -> {
			otherCloser.set(Thread.currentThread());
			producer.close(Duration.ofSeconds(5));
		});

		assertThat(closing).succeedsWithin(30, TimeUnit.SECONDS);
		await().atMost(Duration.ofSeconds(30)).until(connecting::isDone);
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
	}

	/**
	 * A close that does not flush — forced, or with timeout zero, which drops the buffer and purges at once —
	 * does not wait for a graceful close's flush, which here first reconnects the disconnected producer (its
	 * client's build held).
	 */
	@ParameterizedTest
	@ValueSource(booleans = { true, false })
	void aCloseThatDoesNotFlushDoesNotWaitForAnotherClosesFlush(boolean forced) throws Exception {
		AtomicInteger built = new AtomicInteger();
		CountDownLatch building = new CountDownLatch(1);
		CountDownLatch mayBuild = new CountDownLatch(1);
		Producer producer = new Producer(ProducerConfig.builder()
			.id("turn-held-reconnect-" + ids.incrementAndGet())
			.poller(poller)
			.maxWaitTimeout(Duration.ofSeconds(30))
			.clientFactory((properties) -> {
				if (built.incrementAndGet() == 2) { // the reconnect of the graceful close's flush
					building.countDown();
					TestProducers.awaitUninterruptibly(mayBuild);
				}
				return newClient();
			})
			.build());
		producer.connect();
		producer.disconnect();
		producer.buffer(Message.of("t", "buffered"));
		try {
			Future<?> graceful = this.threads.submit(() -> producer.close(Duration.ofSeconds(30)));
			assertThat(building.await(30, TimeUnit.SECONDS)).isTrue();

			Future<?> other = this.threads
				.submit(forced ? producer::closeForcefully : () -> producer.close(Duration.ZERO));
			assertThat(other).succeedsWithin(30, TimeUnit.SECONDS);
			assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
			mayBuild.countDown();
			assertThat(graceful).succeedsWithin(30, TimeUnit.SECONDS);
		}
		finally {
			mayBuild.countDown();
		}
	}

	/**
	 * A registry's {@code closeAll} from a listener of {@code buffer.flushed}, which the close's own flush
	 * publishes on the closer's thread (holding the turn): the close it starts on another thread waits for the
	 * turn no longer than its timeout, so the listener returns.
	 */
	@Test
	void aRegistryCloseFromAFlushListenerIsNotWedgedByTheTurn() throws Exception {
		ProducerRegistry registry = new ProducerRegistry();
		AtomicBoolean armed = new AtomicBoolean();
		CountDownLatch listenerDone = new CountDownLatch(1);
		Producer producer = registry.create("turn-registry-" + ids.incrementAndGet(), ProducerConfig.builder()
			.id("turn-registry-" + ids.incrementAndGet())
			.poller(poller)
			.maxWaitTimeout(Duration.ofSeconds(2))
			.listener((event) -> {
				if (event instanceof ProducerEvent.BufferFlushed && armed.compareAndSet(true, false)) {
					try {
						registry.closeAll(Duration.ofSeconds(2));
					}
					finally {
						listenerDone.countDown();
					}
				}
			})
			.clientFactory((properties) -> newClient())
			.build());
		producer.produceSync(Message.of("t", "first"));
		producer.buffer(Message.of("t", "buffered"));
		armed.set(true);

		Future<?> graceful = this.threads.submit(() -> producer.close(Duration.ofSeconds(2)));

		assertThat(listenerDone.await(30, TimeUnit.SECONDS)).as("registry.closeAll in the listener returned")
			.isTrue();
		assertThat(graceful).succeedsWithin(30, TimeUnit.SECONDS);
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
	}

	/**
	 * An interrupted close with nobody else closing takes the free turn and flushes the buffer (its messages
	 * are handed over, not dropped as {@code buffer.purged}); it purges instead of waiting, and keeps the flag.
	 */
	@Test
	void anInterruptedCloseStillFlushesTheBufferWhenNobodyElseCloses() {
		Producer producer = producer("turn-interrupted", ProducerConfig.builder()
			.maxWaitTimeout(Duration.ofSeconds(10)));
		producer.connect();
		producer.buffer(Message.of("t", "buffered"));
		boolean interruptKept;
		Thread.currentThread().interrupt();
		try {
			producer.close(Duration.ofSeconds(10));
		}
		finally {
			interruptKept = Thread.interrupted();
		}
		assertThat(interruptKept).isTrue();
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(this.purged).as("buffer.purged").isEmpty();
	}

}
