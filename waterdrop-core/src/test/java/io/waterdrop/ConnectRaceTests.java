package io.waterdrop;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A connect builds its Kafka client outside the producer's lifecycle lock (Kafka's constructor resolves
 * {@code bootstrap.servers}; a transactional client's {@code initTransactions} waits for its coordinator): a
 * close started meanwhile does not wait for it, and the connect then closes the client it built and refuses.
 * A client factory that waits on a latch plays the slow construction.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ConnectRaceTests {

	/** Deadlock guard for what happens at once; never a performance bound. */
	private static final Duration GUARD = Duration.ofSeconds(30);

	private final ExecutorService executor = Executors.newCachedThreadPool();

	private final List<MockProducer<byte[], byte[]>> built = new CopyOnWriteArrayList<>();

	private final AtomicInteger builds = new AtomicInteger();

	private final CountDownLatch building = new CountDownLatch(1);

	private final CountDownLatch mayBuild = new CountDownLatch(1);

	private Producer producer;

	@AfterEach
	void release() {
		this.mayBuild.countDown();
		this.executor.shutdownNow();
		if (this.producer != null) {
			this.producer.closeForcefully();
		}
	}

	/** A producer whose client number {@code slowBuild} (1 for the first) waits for {@code mayBuild}. */
	private Producer producer(Poller poller, int slowBuild) {
		this.producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("connect-race"))
			.poller(poller)
			.clientFactory((properties) -> {
				if (this.builds.incrementAndGet() == slowBuild) {
					this.building.countDown();
					awaitUninterruptibly(this.mayBuild);
				}
				MockProducer<byte[], byte[]> client = new MockProducer<>(true, null, new ByteArraySerializer(),
						new ByteArraySerializer());
				this.built.add(client);
				return client;
			})
			.build());
		return this.producer;
	}

	@RepeatedTest(3)
	void aCloseDoesNotWaitForAFirstConnectBuildingItsClient() throws Exception {
		Producer producer = producer(Poller.global(), 1);
		CompletableFuture<Throwable> connect = connectInBackground(producer);
		awaitUninterruptibly(this.building);

		assertThat(CompletableFuture.runAsync(producer::close, this.executor)).succeedsWithin(GUARD);
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);

		this.mayBuild.countDown();
		assertThat(connect.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(ProducerClosedException.class);
		assertThat(this.built).singleElement().satisfies((client) -> assertThat(client.closed()).isTrue());
	}

	@RepeatedTest(3)
	void aForcedCloseDoesNotWaitForAReconnectBuildingItsClientAndLetsGoOfItsRegistration() throws Exception {
		Poller poller = new Poller(PollerConfig.named("connect-race"));
		Producer producer = producer(poller, 2);
		producer.produceSync(Message.of("t", "before"));
		producer.disconnect();
		assertThat(poller.awaitStopped(GUARD)).isTrue();
		CompletableFuture<Throwable> reconnect = connectInBackground(producer);
		awaitUninterruptibly(this.building);

		assertThat(CompletableFuture.runAsync(producer::closeForcefully, this.executor)).succeedsWithin(GUARD);
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(poller.awaitStopped(GUARD)).as("the registration the reconnect made is let go of").isTrue();

		this.mayBuild.countDown();
		assertThat(reconnect.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(ProducerClosedException.class);
		assertThat(this.built).hasSize(2).allSatisfy((client) -> assertThat(client.closed()).isTrue());
	}

	@RepeatedTest(3)
	void connectsThatComeWhileOneIsUnderWayWaitForItAndBuildNoClientOfTheirOwn() throws Exception {
		Producer producer = producer(Poller.global(), 1);
		CompletableFuture<Throwable> first = connectInBackground(producer);
		awaitUninterruptibly(this.building);
		CompletableFuture<Thread> secondThread = new CompletableFuture<>();
		CompletableFuture<Throwable> second = CompletableFuture.supplyAsync(() -> {
			secondThread.complete(Thread.currentThread());
			return connectCatching(producer);
		}, this.executor);
		Thread waiting = secondThread.get(GUARD.toSeconds(), TimeUnit.SECONDS);
		await().atMost(GUARD).until(() -> waiting.getState() == Thread.State.WAITING);

		this.mayBuild.countDown();
		assertThat(first.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isNull();
		assertThat(second.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isNull();
		assertThat(producer.status()).isEqualTo(ProducerStatus.CONNECTED);
		assertThat(this.builds).hasValue(1);
		assertThat(producer.produceSync(Message.of("t", "after")).topic()).isEqualTo("t");
	}

	private CompletableFuture<Throwable> connectInBackground(Producer producer) {
		return CompletableFuture.supplyAsync(() -> connectCatching(producer), this.executor);
	}

	private static Throwable connectCatching(Producer producer) {
		try {
			producer.connect();
			return null;
		}
		catch (Throwable ex) {
			return ex;
		}
	}

	private static void awaitUninterruptibly(CountDownLatch latch) {
		boolean interrupted = false;
		while (true) {
			try {
				if (!latch.await(GUARD.toSeconds(), TimeUnit.SECONDS)) {
					throw new AssertionError("latch not released within " + GUARD);
				}
				break;
			}
			catch (InterruptedException ex) {
				interrupted = true;
			}
		}
		if (interrupted) {
			Thread.currentThread().interrupt();
		}
	}

}
