package io.waterdrop;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.EventListener;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * A connect, a purge and a rebuild after a fatal error (an idempotent producer's, a transactional one's) build
 * their Kafka client outside the producer's lifecycle lock (Kafka's constructor resolves
 * {@code bootstrap.servers}; a transactional client's {@code initTransactions} waits for its coordinator): a
 * close started meanwhile does not wait for the build, and the builder then closes the client it built. A
 * client factory that waits on a latch plays the slow construction.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ClientBuildRaceTests {

	/** Deadlock guard for what happens at once; never a performance bound. */
	private static final Duration GUARD = Duration.ofSeconds(30);

	private final ExecutorService executor = Executors.newCachedThreadPool();

	private final List<MockProducer<byte[], byte[]>> built = new CopyOnWriteArrayList<>();

	private final AtomicInteger builds = new AtomicInteger();

	private final CountDownLatch building = new CountDownLatch(1);

	private final CountDownLatch mayBuild = new CountDownLatch(1);

	/** Makes the first client built; the others complete every send at once. */
	private Supplier<MockProducer<byte[], byte[]>> firstClient = ClientBuildRaceTests::completingClient;

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
		return producer(ProducerConfig.builder().poller(poller), slowBuild);
	}

	private Producer producer(ProducerConfig.Builder settings, int slowBuild) {
		this.producer = new Producer(settings.id(TestProducers.uniqueId("client-build"))
			.clientFactory((properties) -> {
				if (this.builds.incrementAndGet() == slowBuild) {
					this.building.countDown();
					TestProducers.awaitUninterruptibly(this.mayBuild); // released by the test, at the latest after it
				}
				MockProducer<byte[], byte[]> client = this.built.isEmpty() ? this.firstClient.get()
						: completingClient();
				this.built.add(client);
				return client;
			})
			.build());
		return this.producer;
	}

	/**
	 * A graceful close closes the producer at once and waits, within its timeout, for the connect under way to
	 * close the client it built: no client outlives the close (a transactional one would hold its id).
	 */
	@RepeatedTest(3)
	void aCloseDoesNotLetTheClientOfAFirstConnectOutliveIt() throws Exception {
		Producer producer = producer(Poller.global(), 1);
		CompletableFuture<Throwable> connect = connectInBackground(producer);
		awaitBuilding();

		CompletableFuture<List<Boolean>> clientsClosedWhenCloseReturned = CompletableFuture.supplyAsync(() -> {
			producer.close(GUARD);
			return this.built.stream().map(MockProducer::closed).toList();
		}, this.executor);
		await().atMost(GUARD).until(() -> producer.status() == ProducerStatus.CLOSED);
		this.mayBuild.countDown();

		assertThat(clientsClosedWhenCloseReturned.get(GUARD.toSeconds(), TimeUnit.SECONDS)).containsExactly(true);
		assertThat(connect.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(ProducerClosedException.class);
	}

	/** The close's wait for a connect under way ends with its timeout: the connect goes on, and refuses later. */
	@RepeatedTest(3)
	void aCloseWaitsForAConnectUnderWayNoLongerThanItsTimeout() throws Exception {
		Producer producer = producer(Poller.global(), 1);
		CompletableFuture<Throwable> connect = connectInBackground(producer);
		awaitBuilding();

		assertThat(CompletableFuture.runAsync(() -> producer.close(Duration.ofMillis(100)), this.executor))
			.succeedsWithin(GUARD);
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(connect).isNotDone();

		this.mayBuild.countDown();
		assertThat(connect.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(ProducerClosedException.class);
		assertThat(this.built).singleElement().satisfies((client) -> assertThat(client.closed()).isTrue());
	}

	@RepeatedTest(3)
	void aForcedCloseDoesNotWaitForAReconnectBuildingItsClientAndLetsGoOfItsRegistration() throws Exception {
		Poller poller = new Poller(PollerConfig.named("client-build"));
		Producer producer = producer(poller, 2);
		CompletableFuture<Throwable> reconnect = disconnectThenReconnectInBackground(producer);

		assertThat(CompletableFuture.runAsync(producer::closeForcefully, this.executor)).succeedsWithin(GUARD);
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(poller.awaitStopped(GUARD)).as("the registration the reconnect made is let go of").isTrue();

		this.mayBuild.countDown();
		assertThat(reconnect.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(ProducerClosedException.class);
		assertThat(this.built).hasSize(2).allSatisfy((client) -> assertThat(client.closed()).isTrue());
	}

	/** A close on an interrupted thread (a cancelled task's) purges instead of waiting, for a connect too. */
	@RepeatedTest(3)
	void aCloseOnAnInterruptedThreadDoesNotWaitForAConnectUnderWay() throws Exception {
		Producer producer = producer(Poller.global(), 1);
		CompletableFuture<Throwable> connect = connectInBackground(producer);
		awaitBuilding();

		CompletableFuture<Boolean> close = CompletableFuture.supplyAsync(() -> {
			Thread.currentThread().interrupt();
			producer.close(Duration.ofMinutes(5));
			return Thread.interrupted();
		}, this.executor);

		assertThat(close).succeedsWithin(GUARD).as("the interrupt flag kept").isEqualTo(true);
		this.mayBuild.countDown();
		assertThat(connect.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(ProducerClosedException.class);
	}

	/** A listener of {@code producer.connected} that closes the producer does not wait for its own connect. */
	@RepeatedTest(3)
	void aCloseFromTheConnectingThreadDoesNotWaitForItsOwnConnect() {
		AtomicReference<Producer> self = new AtomicReference<>();
		this.producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("client-build-self"))
			.listener((event) -> {
				if (event instanceof ProducerEvent.Connected) {
					self.get().close(Duration.ofMinutes(5));
				}
			})
			.clientFactory((properties) -> completingClient())
			.build());
		self.set(this.producer);

		assertThat(CompletableFuture.runAsync(this.producer::connect, this.executor)).succeedsWithin(GUARD);
		assertThat(this.producer.status()).isEqualTo(ProducerStatus.CLOSED);
	}

	/**
	 * The polling thread of the registration a reconnect made dies while the reconnect builds its client: the
	 * producer connects as one that lost its polling thread (refusing messages whose reports nobody would
	 * dispatch), not as a working one.
	 */
	@RepeatedTest(3)
	void aReconnectWhosePollingThreadDiedMeanwhileLeavesTheProducerRefusing() throws Exception {
		Producer producer = producer(new Poller(PollerConfig.named("client-build-lost")), 2);
		CompletableFuture<Throwable> reconnect = disconnectThenReconnectInBackground(producer);

		producer.pollingTerminated(producer.dispatcher(), new OutOfMemoryError("polling thread died (simulated)"));
		this.mayBuild.countDown();

		assertThat(reconnect.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isNull();
		assertThat(producer.hasLostPolling()).isTrue();
		assertThatExceptionOfType(WaterDropException.class)
			.isThrownBy(() -> producer.produceAsync(Message.of("t", "after")))
			.withMessageContaining("lost its polling thread");
	}

	/**
	 * A callback's message to a disconnected producer, whose relay reconnects it, keeps its one outcome when a
	 * forced close gives up waiting for the relay (its client takes longer than {@code max-wait-timeout} to
	 * build) and lets go of the registration the reconnect made: the relay dispatches the refusal itself.
	 */
	@RepeatedTest(3)
	void aRelayedSendWhoseReconnectOutlastsTheClosesWaitStillGetsItsOutcome() throws Exception {
		Poller poller = new Poller(PollerConfig.named("client-build-relay"));
		Producer target = producer(ProducerConfig.builder().poller(poller).maxWaitTimeout(Duration.ofMillis(200)), 2);
		target.produceSync(Message.of("t", "before"), GUARD);
		target.disconnect();
		CompletableFuture<Throwable> outcome = new CompletableFuture<>();
		MockProducer<byte[], byte[]> sourceKafka = completingClient();
		try (Producer source = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("client-build-source"))
			.poller(poller)
			.clientFactory((properties) -> sourceKafka)
			.build())) {
			source.produceAsync(Message.of("t", "trigger"), (report, failure) -> target.produceAsync(
					Message.of("t", "relayed"), (relayedReport, relayedFailure) -> outcome.complete(relayedFailure)));
			awaitBuilding(); // the relay reconnects the target

			assertThat(CompletableFuture.runAsync(target::closeForcefully, this.executor)).succeedsWithin(GUARD);
			this.mayBuild.countDown();

			assertThat(outcome.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(MessagePurgedException.class);
			await().atMost(GUARD).until(() -> target.inFlight() == 0);
		}
	}

	@RepeatedTest(3)
	void connectsThatComeWhileOneIsUnderWayWaitForItAndBuildNoClientOfTheirOwn() throws Exception {
		Producer producer = producer(Poller.global(), 1);
		CompletableFuture<Throwable> first = connectInBackground(producer);
		awaitBuilding();
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

	/**
	 * A purge builds its new client without holding the lock a close needs: the close starts at once, drains
	 * what is in flight on the old client (the mock delivers it as the close flushes), each message once, then
	 * waits (within its timeout) for the purge to close the client it built; the purge refuses.
	 */
	@RepeatedTest(3)
	void aCloseStartsWhileAPurgeBuildsItsNewClientAndLetsNoClientOutliveIt() throws Exception {
		this.firstClient = () -> new MockProducer<>(false, null, new ByteArraySerializer(), new ByteArraySerializer());
		Producer producer = producer(Poller.global(), 2);
		producer.connect();
		List<DeliveryHandle> inFlight = List.of(producer.produceAsync(Message.of("t", "a")),
				producer.produceAsync(Message.of("t", "b")));
		CompletableFuture<Throwable> purge = CompletableFuture.supplyAsync(() -> {
			try {
				producer.purge();
				return null;
			}
			catch (Throwable ex) {
				return ex;
			}
		}, this.executor);
		awaitBuilding();

		CompletableFuture<List<Boolean>> clientsClosedWhenCloseReturned = CompletableFuture.supplyAsync(() -> {
			producer.close(GUARD);
			return this.built.stream().map(MockProducer::closed).toList();
		}, this.executor);
		// The drain does not need the purge's client: what is in flight is delivered while it is still being built.
		assertThat(inFlight).allSatisfy((handle) -> assertThat(handle.await(GUARD).topic()).isEqualTo("t"));
		assertThat(clientsClosedWhenCloseReturned).isNotDone();
		this.mayBuild.countDown();

		assertThat(clientsClosedWhenCloseReturned.get(GUARD.toSeconds(), TimeUnit.SECONDS)).containsExactly(true, true);
		assertThat(purge.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(ProducerClosedException.class);
		assertThat(producer.stats().acknowledged()).isEqualTo(2);
		assertThat(producer.stats().purged()).isZero();
	}

	/**
	 * An idempotent producer's rebuild after a fatal error builds its new client without holding up a forced
	 * close; it then closes that client instead of swapping it in, and reports no reload.
	 */
	@RepeatedTest(3)
	void aForcedCloseDoesNotWaitForARebuildBuildingItsNewClient() throws Exception {
		Producer producer = rebuildingProducerWhoseFirstClientBreaks(2);
		List<ProducerEvent.Reloaded> reloads = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Reloaded.class, reloads::add);
		assertThatExceptionOfType(WaterDropException.class)
			.isThrownBy(() -> producer.produceSync(Message.of("t", "fatal"), GUARD))
			.withRootCauseInstanceOf(ClusterAuthorizationException.class);
		awaitBuilding(); // the rebuild, on a client-work thread

		assertThat(CompletableFuture.runAsync(producer::closeForcefully, this.executor)).succeedsWithin(GUARD);
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(this.built.get(0).closed()).isTrue();

		this.mayBuild.countDown();
		await().atMost(GUARD).until(() -> this.built.size() == 2 && this.built.get(1).closed());
		assertThat(reloads).isEmpty();
	}

	/**
	 * A listener of the producer's own connect that purges is refused (the connect's build would wait for the
	 * purge, and the purge for the build): the connect completes.
	 */
	@RepeatedTest(3)
	void aPurgeFromAListenerOfItsOwnConnectIsRefused() throws Exception {
		AtomicReference<Producer> self = new AtomicReference<>();
		CompletableFuture<Throwable> refusal = new CompletableFuture<>();
		this.producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("client-build-self-purge"))
			.listener((event) -> {
				if (event instanceof ProducerEvent.Connected) {
					try {
						self.get().purge();
						refusal.complete(null);
					}
					catch (Throwable ex) {
						refusal.complete(ex);
					}
				}
			})
			.clientFactory((properties) -> completingClient())
			.build());
		self.set(this.producer);

		assertThat(CompletableFuture.runAsync(this.producer::connect, this.executor)).succeedsWithin(GUARD);
		assertThat(refusal.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(IllegalCallerException.class)
			.hasMessageContaining("cannot purge from a listener of its own connect or client rebuild");
		assertThat(this.producer.produceSync(Message.of("t", "after"), GUARD).topic()).isEqualTo("t");
	}

	/**
	 * A listener of a rebuild's error.occurred that purges on another thread and waits for it: the purge goes
	 * ahead (the rebuild marks its build only after the event) and the rebuild, finding the client replaced,
	 * builds none.
	 */
	@RepeatedTest(3)
	void aRebuildsErrorListenerMayWaitForAPurgeOnAnotherThread() throws Exception {
		Producer producer = rebuildingProducerWhoseFirstClientBreaks(0);
		CompletableFuture<Throwable> purged = new CompletableFuture<>();
		producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, (event) -> {
			if (event.type() == ErrorType.PRODUCER_RELOAD) {
				try {
					CompletableFuture.runAsync(producer::purge, this.executor).get(GUARD.toSeconds(), TimeUnit.SECONDS);
					purged.complete(null);
				}
				catch (Exception ex) {
					purged.complete(ex);
				}
			}
		});
		List<ProducerEvent.Reloaded> reloads = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Reloaded.class, reloads::add);

		assertThatExceptionOfType(WaterDropException.class)
			.isThrownBy(() -> producer.produceSync(Message.of("t", "fatal"), GUARD));

		assertThat(purged.get(2 * GUARD.toSeconds(), TimeUnit.SECONDS)).isNull();
		assertThat(producer.produceSync(Message.of("t", "after"), GUARD).topic()).isEqualTo("t");
		assertThat(this.built).hasSize(2);
		assertThat(reloads).isEmpty();
	}

	/** A purge builds a Kafka client, which may block: refused on a polling thread, which serves other producers. */
	@RepeatedTest(3)
	void aPurgeIsRefusedOnAPollingThread() throws Exception {
		Producer producer = producer(Poller.global(), 0);
		CompletableFuture<Throwable> refusal = new CompletableFuture<>();
		producer.produceAsync(Message.of("t", "m"), (report, failure) -> {
			try {
				producer.purge();
				refusal.complete(null);
			}
			catch (Throwable ex) {
				refusal.complete(ex);
			}
		});

		assertThat(refusal.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(IllegalCallerException.class)
			.hasMessageContaining("cannot purge on a polling thread");
		assertThat(this.builds).hasValue(1);
		assertThat(producer.produceSync(Message.of("t", "after"), GUARD).topic()).isEqualTo("t");
	}

	/**
	 * A transactional producer's reload after a fatal error builds its new client as the build under way: a
	 * graceful close started meanwhile waits (after its drain) for the reload to close the client it built, so
	 * no client holding the transactional.id outlives the close; the transaction is refused, the producer closed.
	 */
	@RepeatedTest(3)
	void aCloseWaitsForATransactionalReloadToCloseTheClientItBuilt() throws Exception {
		Producer producer = transactionalProducerReloadingWhenFenced(2, (event) -> { });
		producer.connect();
		this.built.get(0).fenceProducer(); // fencing stands for any fatal error: MockProducer can only fence
		CompletableFuture<Throwable> transaction = CompletableFuture.supplyAsync(() -> {
			try {
				producer.transaction((open) -> open.produceSync(Message.of("t", "m")));
				return null;
			}
			catch (Throwable ex) {
				return ex;
			}
		}, this.executor);
		awaitBuilding(); // the reload's client, as the transaction begins

		CompletableFuture<List<Boolean>> clientsClosedWhenCloseReturned = CompletableFuture.supplyAsync(() -> {
			producer.close(GUARD);
			return this.built.stream().map(MockProducer::closed).toList();
		}, this.executor);
		try { // not a bound on anything: gives a close that does not wait for the build the time to return first
			clientsClosedWhenCloseReturned.get(1, TimeUnit.SECONDS);
		}
		catch (TimeoutException expected) {
		}
		this.mayBuild.countDown();

		assertThat(clientsClosedWhenCloseReturned.get(GUARD.toSeconds(), TimeUnit.SECONDS)).containsExactly(true, true);
		assertThat(transaction.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(TransactionFailedException.class)
			.hasMessageContaining("no transaction was started")
			.cause()
			.isInstanceOf(ProducerClosedException.class);
	}

	/**
	 * A transaction run from a listener of the producer's own connect whose client needs a reload rebuilds it
	 * under the connect's build (joining that build would wait for itself) and commits; the connect completes.
	 */
	@RepeatedTest(3)
	void aTransactionInAListenerOfItsOwnConnectMayReloadTheClient() throws Exception {
		AtomicReference<Producer> self = new AtomicReference<>();
		CompletableFuture<Throwable> transaction = new CompletableFuture<>();
		self.set(transactionalProducerReloadingWhenFenced(0, (event) -> {
			if (event instanceof ProducerEvent.Connected && !transaction.isDone()) {
				this.built.get(0).fenceProducer();
				try {
					self.get().transaction((open) -> open.produceSync(Message.of("t", "m")));
					transaction.complete(null);
				}
				catch (Throwable ex) {
					transaction.complete(ex);
				}
			}
		}));

		assertThat(CompletableFuture.runAsync(self.get()::connect, this.executor)).succeedsWithin(GUARD);
		assertThat(transaction.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isNull();
		assertThat(this.built).hasSize(2).first().satisfies((broken) -> assertThat(broken.closed()).isTrue());
		assertThat(this.built.get(1).transactionCommitted()).isTrue();
		assertThat(this.built.get(1).history()).hasSize(1);
	}

	/**
	 * A transactional producer that rebuilds its client after being fenced (not the default: fencing stands for
	 * any fatal error), with {@code listener}; its client number {@code slowBuild} waits for {@code mayBuild}.
	 */
	private Producer transactionalProducerReloadingWhenFenced(int slowBuild, EventListener listener) {
		return producer(ProducerConfig.builder()
			.poller(Poller.global())
			.kafka("transactional.id", TestProducers.uniqueId("client-build-tx"))
			.nonReloadableErrors(Set.of())
			.listener(listener), slowBuild);
	}

	/**
	 * An idempotent producer that rebuilds its client after a fatal error; its first client refuses every send
	 * with one (a {@link ClusterAuthorizationException}), its client number {@code slowBuild} waits for
	 * {@code mayBuild}.
	 */
	private Producer rebuildingProducerWhoseFirstClientBreaks(int slowBuild) {
		this.firstClient = () -> {
			MockProducer<byte[], byte[]> client = completingClient();
			client.sendException = new ClusterAuthorizationException("fatal (simulated)");
			return client;
		};
		return producer(ProducerConfig.builder().poller(Poller.global()).reloadOnIdempotentFatalError(true),
				slowBuild);
	}

	private static MockProducer<byte[], byte[]> completingClient() {
		return new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
	}

	/**
	 * Connects {@code producer} (its first client is built at once), disconnects it (its Poller's thread ends)
	 * and reconnects it on another thread, returned once that reconnect builds its client.
	 */
	private CompletableFuture<Throwable> disconnectThenReconnectInBackground(Producer producer)
			throws InterruptedException {
		producer.produceSync(Message.of("t", "before"), GUARD);
		producer.disconnect();
		assertThat(producer.config().poller().awaitStopped(GUARD)).isTrue();
		CompletableFuture<Throwable> reconnect = connectInBackground(producer);
		awaitBuilding();
		return reconnect;
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

	/** Waits until the slow client's build began (a deadlock guard bounds the wait). */
	private void awaitBuilding() throws InterruptedException {
		assertThat(this.building.await(GUARD.toSeconds(), TimeUnit.SECONDS)).as("the client's build began").isTrue();
	}

}
