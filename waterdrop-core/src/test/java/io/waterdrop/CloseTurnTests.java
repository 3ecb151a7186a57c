package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.Timeout.ThreadMode;

import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingThreads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The turn a graceful close takes to flush the buffer before it stops taking messages: other closes neither
 * drop that flush (a callback's, a connect listener's: they leave the close to the closer in turn) nor wait
 * for it past their own timeout, nor wedge a listener of the flush's own events.
 */
class CloseTurnTests {

	private static final Poller poller = new Poller(PollerConfig.named("close-turn"));

	private static final AtomicInteger ids = new AtomicInteger();

	@AfterAll
	static void pollerStops() throws InterruptedException {
		assertThat(poller.awaitStopped(Duration.ofSeconds(30))).isTrue();
	}

	private static MockProducer<byte[], byte[]> mock(List<MockProducer<byte[], byte[]>> clients) {
		MockProducer<byte[], byte[]> client = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		clients.add(client);
		return client;
	}

	private static List<String> sent(List<MockProducer<byte[], byte[]>> clients) {
		return clients.stream()
			.flatMap((client) -> client.history().stream())
			.map((record) -> new String(record.value(), StandardCharsets.UTF_8))
			.toList();
	}

	/**
	 * A close from a listener of {@code producer.connected} (holding the lifecycle lock, so it must not wait for
	 * the turn) while a graceful close flushes leaves the close to that closer: the flush is sent.
	 */
	@Test
	@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = ThreadMode.SEPARATE_THREAD)
	void aConnectListenersCloseDuringAGracefulClosesFlushLeavesTheCloseToIt() throws Exception {
		HoldingSerializer holding = new HoldingSerializer(null);
		List<MockProducer<byte[], byte[]>> clients = new CopyOnWriteArrayList<>();
		List<ProducerEvent> purged = new CopyOnWriteArrayList<>();
		AtomicBoolean closeInListener = new AtomicBoolean();
		AtomicReference<Producer> self = new AtomicReference<>();
		Producer producer = new Producer(ProducerConfig.builder()
			.id("turn-a-" + ids.incrementAndGet())
			.poller(poller)
			.maxWaitTimeout(Duration.ofSeconds(10))
			.payloadSerializer(holding)
			.listener((event) -> {
				if (event instanceof ProducerEvent.BufferPurged bufferPurged) {
					purged.add(bufferPurged);
				}
				if (event instanceof ProducerEvent.Connected && closeInListener.compareAndSet(true, false)) {
					self.get().close(Duration.ofSeconds(5));
				}
			})
			.clientFactory((properties) -> mock(clients))
			.build());
		self.set(producer);
		producer.buffer(Message.of("t", "buffered"));
		holding.arm();
		ExecutorService threads = Executors.newFixedThreadPool(2);
		try {
			Future<?> graceful = threads.submit(() -> producer.close(Duration.ofSeconds(10)));
			assertThat(holding.held.await(30, TimeUnit.SECONDS)).isTrue(); // T1 holds the turn, in its flush
			closeInListener.set(true);
			Future<?> connecting = threads.submit(producer::connect);
			await().atMost(Duration.ofSeconds(30)).until(connecting::isDone);
			holding.mayGoOn.countDown();
			graceful.get(30, TimeUnit.SECONDS);
			assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
			assertThat(purged).as("buffer.purged of the flush").isEmpty();
			assertThat(sent(clients)).containsExactly("buffered");
		}
		finally {
			holding.mayGoOn.countDown();
			threads.shutdownNow();
		}
	}

	/** The same for a close from a callback (a polling thread, which must not wait either). */
	@Test
	@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = ThreadMode.SEPARATE_THREAD)
	void aPollingThreadsCloseDuringAGracefulClosesFlushLeavesTheCloseToIt() throws Exception {
		HoldingSerializer holding = new HoldingSerializer(null);
		List<MockProducer<byte[], byte[]>> clients = new CopyOnWriteArrayList<>();
		List<ProducerEvent> purged = new CopyOnWriteArrayList<>();
		Producer producer = new Producer(ProducerConfig.builder()
			.id("turn-a2-" + ids.incrementAndGet())
			.poller(poller)
			.maxWaitTimeout(Duration.ofSeconds(10))
			.payloadSerializer(holding)
			.listener((event) -> {
				if (event instanceof ProducerEvent.BufferPurged bufferPurged) {
					purged.add(bufferPurged);
				}
			})
			.clientFactory((properties) -> mock(clients))
			.build());
		producer.produceSync(Message.of("t", "first"));
		producer.buffer(Message.of("t", "buffered"));
		holding.arm();
		ExecutorService threads = Executors.newFixedThreadPool(1);
		try {
			Future<?> graceful = threads.submit(() -> producer.close(Duration.ofSeconds(10)));
			assertThat(holding.held.await(30, TimeUnit.SECONDS)).isTrue();
			PollingThreads.runAsPollingThread(producer::close); // as a delivery callback's close
			holding.mayGoOn.countDown();
			graceful.get(30, TimeUnit.SECONDS);
			assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
			assertThat(purged).as("buffer.purged of the flush").isEmpty();
			assertThat(sent(clients)).containsExactly("first", "buffered");
		}
		finally {
			holding.mayGoOn.countDown();
			threads.shutdownNow();
		}
	}

	/**
	 * A registry's {@code closeAll} from a listener of {@code buffer.flushed}, which the close's own flush
	 * publishes on the closer's thread (holding the turn): the close it starts on another thread waits for the
	 * turn no longer than its timeout, so the listener returns.
	 */
	@Test
	@Timeout(value = 40, unit = TimeUnit.SECONDS, threadMode = ThreadMode.SEPARATE_THREAD)
	void aRegistryCloseFromAFlushListenerIsNotWedgedByTheTurn() throws Exception {
		ProducerRegistry registry = new ProducerRegistry();
		List<MockProducer<byte[], byte[]>> clients = new CopyOnWriteArrayList<>();
		AtomicBoolean armed = new AtomicBoolean();
		CountDownLatch listenerDone = new CountDownLatch(1);
		Producer producer = registry.create("turn-b-" + ids.incrementAndGet(), ProducerConfig.builder()
			.id("turn-b-" + ids.incrementAndGet())
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
			.clientFactory((properties) -> mock(clients))
			.build());
		producer.produceSync(Message.of("t", "first"));
		producer.buffer(Message.of("t", "buffered"));
		armed.set(true);
		ExecutorService threads = Executors.newSingleThreadExecutor();
		try {
			Future<?> graceful = threads.submit(() -> producer.close(Duration.ofSeconds(2)));
			assertThat(listenerDone.await(30, TimeUnit.SECONDS)).as("registry.closeAll in the listener returned")
				.isTrue();
			assertThat(graceful).succeedsWithin(30, TimeUnit.SECONDS);
			assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		}
		finally {
			threads.shutdownNow();
		}
	}

	/**
	 * {@code close(Duration.ZERO)}, which drops the buffer and purges at once, does not wait for another close's
	 * flush (here its reconnect, whose client build is held) past its timeout.
	 */
	@Test
	@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = ThreadMode.SEPARATE_THREAD)
	void aZeroTimeoutCloseDoesNotWaitForAnotherClosesFlush() throws Exception {
		AtomicInteger built = new AtomicInteger();
		CountDownLatch building = new CountDownLatch(1);
		CountDownLatch mayBuild = new CountDownLatch(1);
		Producer producer = new Producer(ProducerConfig.builder()
			.id("turn-c-" + ids.incrementAndGet())
			.poller(poller)
			.maxWaitTimeout(Duration.ofSeconds(30))
			.clientFactory((properties) -> {
				if (built.incrementAndGet() == 2) { // the reconnect of the graceful close's flush
					building.countDown();
					TestProducers.awaitUninterruptibly(mayBuild);
				}
				return new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
			})
			.build());
		producer.connect();
		producer.disconnect();
		producer.buffer(Message.of("t", "buffered"));
		ExecutorService closers = Executors.newFixedThreadPool(2);
		try {
			Future<?> graceful = closers.submit(() -> producer.close(Duration.ofSeconds(30)));
			assertThat(building.await(30, TimeUnit.SECONDS)).isTrue();
			Future<?> zero = closers.submit(() -> producer.close(Duration.ZERO));
			assertThat(zero).as("close(Duration.ZERO)").succeedsWithin(30, TimeUnit.SECONDS);
			mayBuild.countDown();
			assertThat(graceful).succeedsWithin(30, TimeUnit.SECONDS);
		}
		finally {
			mayBuild.countDown();
			closers.shutdownNow();
		}
	}

	/**
	 * An interrupted close with nobody else closing takes the free turn and flushes the buffer (its messages
	 * are handed over, not dropped as {@code buffer.purged}); it purges instead of waiting, and keeps the flag.
	 */
	@Test
	@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = ThreadMode.SEPARATE_THREAD)
	void anInterruptedCloseStillFlushesTheBufferWhenNobodyElseCloses() {
		List<MockProducer<byte[], byte[]>> clients = new CopyOnWriteArrayList<>();
		List<ProducerEvent> purged = new CopyOnWriteArrayList<>();
		Producer producer = new Producer(ProducerConfig.builder()
			.id("turn-interrupted-" + ids.incrementAndGet())
			.poller(poller)
			.maxWaitTimeout(Duration.ofSeconds(10))
			.listener((event) -> {
				if (event instanceof ProducerEvent.BufferPurged bufferPurged) {
					purged.add(bufferPurged);
				}
			})
			.clientFactory((properties) -> mock(clients))
			.build());
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
		assertThat(purged).as("buffer.purged").isEmpty();
	}

}
