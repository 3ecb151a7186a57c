package io.waterdrop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.instrumentation.micrometer.WaterDropMetrics;
import io.waterdrop.polling.FailingThreads;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingMode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Idle disconnect (the Kafka client goes, the producer stays, the next message connects again) and the
 * idempotent producer's rebuild after a fatal error.
 */
@Timeout(60)
class DisconnectTests {

	private final List<Producer> producers = new CopyOnWriteArrayList<>();

	private final List<MisbehavingKafka> clients = new CopyOnWriteArrayList<>();

	private final List<String> events = new CopyOnWriteArrayList<>();

	@AfterEach
	void closeAll() {
		this.producers.forEach(Producer::closeForcefully);
	}

	private Producer producer(ProducerConfig.Builder settings) {
		Producer producer = new Producer(settings.id(TestProducers.uniqueId("disconnect"))
			.maxWaitTimeout(Duration.ofSeconds(30))
			.listener((event) -> {
				if (event.name().startsWith("producer.")) {
					this.events.add(event.name());
				}
			})
			.clientFactory((properties) -> {
				MisbehavingKafka client = new MisbehavingKafka();
				this.clients.add(client);
				return client;
			})
			.build());
		this.producers.add(producer);
		return producer;
	}

	@Test
	void idleProducerDisconnectsAndTheNextMessageConnectsAgain() {
		Producer producer = producer(ProducerConfig.builder());
		SimpleMeterRegistry registry = new SimpleMeterRegistry();
		new WaterDropMetrics(List.of(producer), List.of()).bindTo(registry);
		producer.produceSync(Message.of("fine", "before"));
		assertThat(registry.get("waterdrop.producer.connected").gauge().value()).isEqualTo(1);
		// The slot comes back with its dispatched batch, a moment after the handle completed.
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.inFlight() == 0);

		producer.disconnect();

		assertThat(producer.status()).isEqualTo(ProducerStatus.DISCONNECTED);
		assertThat(this.clients).singleElement().satisfies((client) -> assertThat(client.closed()).isTrue());
		assertThat(registry.get("waterdrop.producer.connected").gauge().value()).isZero();
		assertThat(producer.produceSync(Message.of("fine", "after")).topic()).isEqualTo("fine");
		assertThat(producer.status()).isEqualTo(ProducerStatus.CONNECTED);
		assertThat(this.clients).hasSize(2);
		assertThat(this.clients.get(1).history()).hasSize(1);
		assertThat(this.events).containsSubsequence("producer.connected", "producer.disconnecting",
				"producer.disconnected", "producer.configured", "producer.connected");
	}

	/** A waited-on message gives its slot back before its waiter wakes: disconnecting right after works. */
	@Test
	void disconnectRightAfterProduceSyncIsNeverRefused() {
		Producer producer = producer(ProducerConfig.builder());
		for (int i = 0; i < 300; i++) {
			producer.produceSync(Message.of("fine", "m-" + i));
			assertThat(producer.inFlight()).isZero();
			producer.disconnect();
		}
		assertThat(this.clients).hasSize(300);
	}

	/** Disconnected is not closed: a purge drops the buffer, as it does before the first connect. */
	@Test
	void purgeWhileDisconnectedDropsTheBuffer() {
		Producer producer = producer(ProducerConfig.builder());
		List<ProducerEvent.BufferPurged> purged = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.BufferPurged.class, purged::add);
		producer.produceSync(Message.of("fine", "before"));
		producer.disconnect();
		producer.buffer(Message.of("fine", "buffered"));

		producer.purge();

		assertThat(producer.bufferSize()).isZero();
		assertThat(producer.status()).isEqualTo(ProducerStatus.DISCONNECTED);
		assertThat(purged).singleElement().satisfies((event) -> assertThat(event.messages()).hasSize(1));
		assertThat(this.clients).hasSize(1);
	}

	@Test
	void disconnectIsRefusedWithItsReasonWhenNotIdle() {
		Producer producer = producer(ProducerConfig.builder());
		assertThatIllegalStateException().isThrownBy(producer::disconnect).withMessageContaining("configured");
		producer.produceAsync(Message.of("pending", "in flight"));
		assertThatIllegalStateException().isThrownBy(producer::disconnect).withMessageContaining("in flight");
		this.clients.get(0).failAppended(new RuntimeException("done (simulated)"));
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.inFlight() == 0);
		producer.buffer(Message.of("fine", "buffered"));
		assertThatIllegalStateException().isThrownBy(producer::disconnect).withMessageContaining("buffered");
		producer.flushSync();
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.inFlight() == 0);
		producer.disconnect();
		assertThat(producer.status()).isEqualTo(ProducerStatus.DISCONNECTED);
	}

	@Test
	void idleTimeoutDisconnectsThroughThePollersPeriodicWork() throws InterruptedException {
		Poller poller = new Poller(PollerConfig.named("idle").withPollTimeout(Duration.ofMillis(20)));
		Producer producer = producer(ProducerConfig.builder().poller(poller).idleDisconnectTimeout(Duration.ofMillis(50)));
		producer.produceSync(Message.of("fine", "once"));

		await().atMost(Duration.ofSeconds(30)).until(() -> producer.status() == ProducerStatus.DISCONNECTED);
		// The Poller stops after the detach, which the disconnect asks for after closing the client.
		assertThat(poller.awaitStopped(Duration.ofSeconds(30))).as("its only producer let go of the Poller").isTrue();
		assertThat(this.clients.get(0).closed()).isTrue();
		assertThat(producer.produceSync(Message.of("fine", "again")).topic()).isEqualTo("fine");
		// A descheduled sender may see the 50 ms idle timeout pass again and connect a third client.
		assertThat(this.clients).hasSizeGreaterThanOrEqualTo(2);
	}

	/**
	 * A disconnect lets go of the polling thread too (a paused test context, an idle tenant): a dedicated
	 * Poller's thread ends with its last producer, and the next message registers the producer again.
	 */
	@Test
	void aDisconnectLetsGoOfItsPollerAndTheNextMessageRegistersAgain() throws InterruptedException {
		Poller poller = new Poller(PollerConfig.named("let-go"));
		Producer producer = producer(ProducerConfig.builder().poller(poller));
		producer.produceSync(Message.of("fine", "before"));
		assertThat(poller.registeredProducers()).isOne();

		producer.disconnect();

		assertThat(poller.awaitStopped(Duration.ofSeconds(30))).as("the Poller's thread ended").isTrue();
		assertThat(poller.registeredProducers()).isZero();
		assertThat(producer.produceSync(Message.of("fine", "after")).topic()).isEqualTo("fine");
		assertThat(poller.registeredProducers()).isOne();
		assertThat(poller.isRunning()).isTrue();
		assertThat(this.events).containsSubsequence("producer.disconnected", "producer.connected");
	}

	/**
	 * A reconnect whose new client fails leaves the producer disconnected without a registration: it holds no
	 * pipe or Poller thread while it cannot connect (a DNS blip, a broker away), and the next try registers again.
	 */
	@Test
	void aReconnectWhoseClientFailsLetsGoOfItsRegistrationAgain() throws InterruptedException {
		AtomicBoolean refuseClients = new AtomicBoolean();
		Poller poller = new Poller(PollerConfig.named("reconnect-fails"));
		Producer producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("reconnect-fails"))
			.poller(poller)
			.clientFactory((properties) -> {
				if (refuseClients.get()) {
					throw new KafkaException("No resolvable bootstrap urls given in bootstrap.servers (simulated)");
				}
				return new MisbehavingKafka();
			})
			.build());
		this.producers.add(producer);
		producer.produceSync(Message.of("fine", "before"));
		producer.disconnect();
		assertThat(poller.awaitStopped(Duration.ofSeconds(30))).isTrue();
		refuseClients.set(true);

		assertThatExceptionOfType(KafkaException.class).isThrownBy(producer::connect);

		assertThat(producer.status()).isEqualTo(ProducerStatus.DISCONNECTED);
		assertThat(poller.awaitStopped(Duration.ofSeconds(30))).as("the Poller's thread ended again").isTrue();
		assertThat(poller.registeredProducers()).isZero();
		refuseClients.set(false);
		assertThat(producer.produceSync(Message.of("fine", "after")).topic()).isEqualTo("fine");
		assertThat(poller.registeredProducers()).isOne();
	}

	/** In thread mode a disconnect ends the producer's dispatch thread; the next message starts a new one. */
	@Test
	void aDisconnectEndsAThreadModeProducersDispatchThreadAndTheNextMessageStartsOne() {
		Producer producer = producer(ProducerConfig.builder().pollingMode(PollingMode.THREAD));
		producer.produceSync(Message.of("fine", "before"));
		String dispatchThread = producer.pollerName();
		assertThat(TestProducers.threadsNamed(dispatchThread)).hasSize(1);

		producer.disconnect();

		await().atMost(Duration.ofSeconds(30)).until(() -> TestProducers.threadsNamed(dispatchThread).isEmpty());
		assertThat(producer.produceSync(Message.of("fine", "after")).topic()).isEqualTo("fine");
		assertThat(TestProducers.threadsNamed(dispatchThread)).hasSize(1);
	}

	/** The JVM out of native threads: the idle disconnect is skipped, and the Poller lives on. */
	@Test
	void anIdleDisconnectWithoutAThreadToRunOnIsSkippedAndThePollerGoesOn() {
		withoutClientWorkThreads((refused) -> {
			Poller poller = new Poller(PollerConfig.named("no-threads").withPollTimeout(Duration.ofMillis(20)));
			Producer producer = producer(
					ProducerConfig.builder().poller(poller).idleDisconnectTimeout(Duration.ofMillis(50)));
			producer.produceSync(Message.of("fine", "once"));

			await().atMost(Duration.ofSeconds(30)).until(() -> refused.get() >= 2); // asked again after it
			assertThat(producer.hasLostPolling()).isFalse();
			assertThat(producer.status()).isEqualTo(ProducerStatus.CONNECTED);
			assertThat(producer.produceSync(Message.of("fine", "again")).topic()).isEqualTo("fine");
		});
	}

	/** The same for the rebuild after a fatal error: skipped, asked again by the next fatal report. */
	@Test
	void aRebuildWithoutAThreadToRunOnIsSkippedAndAskedAgainByTheNextFatalReport() {
		withoutClientWorkThreads((refused) -> {
			Producer producer = producer(ProducerConfig.builder().reloadOnIdempotentFatalError(true));
			for (int attempt = 1; attempt <= 2; attempt++) {
				assertThatThrownBy(() -> producer.produceSync(Message.of("cluster-unauthorized", "fatal")))
					.hasCauseInstanceOf(ClusterAuthorizationException.class);
				int expected = attempt;
				await().atMost(Duration.ofSeconds(30)).until(() -> refused.get() >= expected);
			}
			assertThat(producer.hasLostPolling()).isFalse();
		});
	}

	/** Runs {@code test} while no client-work thread can start; it gets the count of the refused starts. */
	private static void withoutClientWorkThreads(java.util.function.Consumer<AtomicInteger> test) {
		AtomicInteger refused = new AtomicInteger();
		java.util.concurrent.Executor original = Producer.clientWork;
		Producer.clientWork = (task) -> {
			refused.incrementAndGet();
			throw new OutOfMemoryError("unable to create native thread: possibly out of memory (simulated)");
		};
		try {
			test.accept(refused);
		}
		finally {
			Producer.clientWork = original;
		}
	}

	/** An idempotent producer whose client hit a fatal error rebuilds it once, and goes on. */
	@RepeatedTest(5)
	void idempotentProducerRebuildsItsClientAfterAFatalErrorOnce() {
		Producer producer = producer(ProducerConfig.builder().reloadOnIdempotentFatalError(true));
		List<ProducerEvent.Reloaded> reloads = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Reloaded.class, reloads::add);
		List<DeliveryHandle> held = new ArrayList<>();
		for (int i = 0; i < 5; i++) {
			held.add(producer.produceAsync(Message.of("pending", "m-" + i)));
		}
		assertThatThrownBy(() -> producer.produceSync(Message.of("cluster-unauthorized", "fatal")))
			.hasCauseInstanceOf(ClusterAuthorizationException.class);

		await().atMost(Duration.ofSeconds(30)).until(() -> reloads.size() == 1);
		// The broken client was closed at once: what it held failed, each message once.
		assertThat(held).allSatisfy((handle) -> assertThatThrownBy(handle::await)
			.isInstanceOf(DeliveryFailedException.class)
			.isNotInstanceOf(MessagePurgedException.class));
		assertThat(producer.produceSync(Message.of("fine", "on the new client")).topic()).isEqualTo("fine");
		producer.close(Duration.ofSeconds(30));
		assertThat(reloads).singleElement()
			.satisfies((reload) -> assertThat(reload.cause()).isInstanceOf(ClusterAuthorizationException.class));
		assertThat(this.clients).hasSize(2);
		assertThat(this.clients.get(0).closed()).isTrue();
		assertThat(this.clients.get(1).history()).hasSize(1);
		assertThat(producer.stats().failed()).isEqualTo(6);
		assertThat(producer.stats().acknowledged()).isEqualTo(1);
	}

	/**
	 * The backoff before a second rebuild is waited out without the producer's lock: a close goes ahead, and
	 * ends the wait.
	 */
	@Test
	@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // the old code hung uninterruptibly
	void aCloseDoesNotWaitForTheBackoffOfARebuild() {
		Producer producer = producer(
				ProducerConfig.builder().reloadOnIdempotentFatalError(true).reloadBackoff(Duration.ofHours(1)));
		List<ProducerEvent.Reloaded> reloads = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Reloaded.class, reloads::add);
		assertThatThrownBy(() -> producer.produceSync(Message.of("cluster-unauthorized", "first")));
		await().atMost(Duration.ofSeconds(30)).until(() -> reloads.size() == 1);
		assertThatThrownBy(() -> producer.produceSync(Message.of("cluster-unauthorized", "second")));
		await().atMost(Duration.ofSeconds(30)).until(DisconnectTests::aRebuildIsBackingOff);

		producer.close(Duration.ofSeconds(30)); // the old code waited here for the hour, under the lock

		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		await().atMost(Duration.ofSeconds(30)).until(() -> !aRebuildIsBackingOff());
		assertThat(reloads).hasSize(1);
	}

	private static boolean aRebuildIsBackingOff() {
		return Thread.getAllStackTraces().entrySet().stream()
			.anyMatch((thread) -> thread.getKey().getState() == Thread.State.TIMED_WAITING
					&& Stream.of(thread.getValue())
						.anyMatch((frame) -> frame.getMethodName().equals("reloadIdempotent")));
	}

	/**
	 * A disconnect closes the idle client at once: a graceful close of Kafka's waits for requests still in
	 * flight (a metadata refresh to a hung broker) up to its timeout, all under the lock a close needs. The mock
	 * waits, as Kafka would, for as long as the close allows, unless the close is immediate.
	 */
	@Test
	void aDisconnectDoesNotWaitForRequestsTheIdleClientStillHasInFlight() {
		CountDownLatch brokerAnswers = new CountDownLatch(1);
		Producer producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("disconnect-hung-broker"))
			.maxWaitTimeout(Duration.ofMinutes(10))
			.clientFactory((properties) -> new MockProducer<>(true, null, new ByteArraySerializer(),
					new ByteArraySerializer()) {
				@Override
				public void close(Duration timeout) {
					try {
						brokerAnswers.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
					}
					catch (InterruptedException ex) {
						Thread.currentThread().interrupt();
					}
					super.close(timeout);
				}
			})
			.build());
		this.producers.add(producer);
		try {
			producer.produceSync(Message.of("t", "before"));

			assertThat(CompletableFuture.runAsync(producer::disconnect)).succeedsWithin(Duration.ofSeconds(30));
			assertThat(producer.status()).isEqualTo(ProducerStatus.DISCONNECTED);
		}
		finally {
			brokerAnswers.countDown();
		}
	}

	/** An idle-disconnect-timeout written as "never" (Long.MAX_VALUE ms, past what nanoseconds hold) is never. */
	@Test
	void anIdleDisconnectTimeoutOfCenturiesIsNever() {
		Producer producer = producer(ProducerConfig.builder().idleDisconnectTimeout(Duration.ofMillis(Long.MAX_VALUE)));

		assertThat(producer.produceSync(Message.of("fine", "m")).topic()).isEqualTo("fine");
		assertThat(producer.status()).isEqualTo(ProducerStatus.CONNECTED);
	}

	/**
	 * A listener of producer.disconnecting (published under the lifecycle lock) that produces is refused: its
	 * reconnect would have run beneath the disconnect, which then closed the new client and let go of the new
	 * registration, leaving the old client open and the producer CONNECTED without a client.
	 */
	@Test
	void aDisconnectingListenerThatProducesIsRefusedAndTheDisconnectCompletes() {
		Producer producer = producer(ProducerConfig.builder());
		producer.produceSync(Message.of("fine", "before"));
		List<Throwable> refusals = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Disconnecting.class, (event) -> {
			try {
				producer.produceAsync(Message.of("fine", "from the listener"));
			}
			catch (RuntimeException ex) {
				refusals.add(ex);
			}
		});

		producer.disconnect();

		assertThat(refusals).singleElement().isInstanceOf(IllegalCallerException.class);
		assertThat(producer.status()).isEqualTo(ProducerStatus.DISCONNECTED);
		assertThat(this.clients).singleElement().satisfies((client) -> assertThat(client.closed()).isTrue());
		assertThat(producer.produceSync(Message.of("fine", "after")).topic()).isEqualTo("fine");
		assertThat(this.clients).hasSize(2);
	}

	@Test
	void withoutReloadingAFatalErrorLeavesTheClientInPlace() {
		Producer producer = producer(ProducerConfig.builder());
		assertThatThrownBy(() -> producer.produceSync(Message.of("cluster-unauthorized", "m")))
			.hasCauseInstanceOf(ClusterAuthorizationException.class);
		producer.close(Duration.ofSeconds(30));
		assertThat(this.clients).hasSize(1);
	}

	/** Senders racing disconnects: every message is accepted (connecting again as needed) and reported once. */
	@RepeatedTest(10)
	void sendersRacingDisconnectsLoseNothing() throws Exception {
		Producer producer = producer(ProducerConfig.builder());
		producer.connect();
		AtomicBoolean sending = new AtomicBoolean(true);
		AtomicInteger disconnects = new AtomicInteger();
		Thread disconnector = new Thread(() -> {
			while (sending.get()) {
				if (producer.disconnectIfIdle() == null) {
					disconnects.incrementAndGet();
				}
				Thread.onSpinWait();
			}
		});
		disconnector.start();
		AtomicInteger callbacks = new AtomicInteger();
		List<Thread> senders = new ArrayList<>();
		for (int t = 0; t < 2; t++) {
			Thread sender = new Thread(() -> {
				for (int i = 0; i < 500; i++) {
					producer.produceAsync(Message.of("fine", "m"), (report, failure) -> callbacks.incrementAndGet());
					if (i % 50 == 0) {
						producer.produceSync(Message.of("fine", "sync"));
					}
				}
			});
			senders.add(sender);
			sender.start();
		}
		for (Thread sender : senders) {
			sender.join();
		}
		sending.set(false);
		disconnector.join();
		// Every disconnect but a last one after the final send was followed by a connect with a new client.
		int expectedClients = disconnects.get() + ((producer.status() == ProducerStatus.CONNECTED) ? 1 : 0);
		producer.close(Duration.ofSeconds(30));

		assertThat(callbacks).hasValue(1_000);
		assertThat(producer.stats().acknowledged()).isEqualTo(1_020);
		assertThat(producer.stats().failed()).isZero();
		assertThat(this.clients).hasSize(expectedClients);
		assertThat(this.clients).allSatisfy((client) -> assertThat(client.closed()).isTrue());
	}

	/**
	 * A callback's send to a disconnected producer whose reconnect fails on the relay still gets its one
	 * outcome, and its slot back: when the new client fails (the producer registered for polling first), and
	 * when the registration itself fails (no thread for the Poller: the relay dispatches the refusal itself).
	 */
	@Test
	void aRelayedSendWhoseReconnectFailsGetsItsFailureAndItsSlotBack() throws Exception {
		AtomicBoolean refuseClients = new AtomicBoolean();
		AtomicBoolean refuseThreads = new AtomicBoolean();
		Producer target = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("relay-reconnect"))
			.maxWaitTimeout(Duration.ofSeconds(30))
			.poller(FailingThreads.poller("relay-reconnect", refuseThreads::get))
			.clientFactory((properties) -> {
				if (refuseClients.get()) {
					throw new KafkaException("Failed to construct kafka producer (simulated)");
				}
				return new MisbehavingKafka();
			})
			.build());
		this.producers.add(target);
		Producer source = producer(ProducerConfig.builder());
		// The relay rethrows the Error of a registration without a thread: kept from the test JVM's handler.
		ThreadFactory original = Producer.threads;
		Producer.threads = (task) -> {
			Thread thread = original.newThread(task);
			thread.setUncaughtExceptionHandler((failed, error) -> {
			});
			return thread;
		};
		try {
			for (AtomicBoolean refusal : List.of(refuseClients, refuseThreads)) {
				sendFromACallbackWhileReconnectingFails(source, target, refusal);
			}
		}
		finally {
			Producer.threads = original;
		}
		assertThat(target.produceSync(Message.of("fine", "after")).topic()).isEqualTo("fine");
	}

	/** Disconnects {@code target}, turns {@code refusal} on and sends to it from a callback of {@code source}. */
	private static void sendFromACallbackWhileReconnectingFails(Producer source, Producer target,
			AtomicBoolean refusal) throws Exception {
		target.produceSync(Message.of("fine", "before"));
		await().atMost(Duration.ofSeconds(30)).until(() -> target.inFlight() == 0);
		target.disconnect();
		await().atMost(Duration.ofSeconds(30)).until(() -> !target.config().poller().isRunning());
		refusal.set(true);
		CompletableFuture<Throwable> outcome = new CompletableFuture<>();

		source.produceAsync(Message.of("fine", "trigger"),
				(report, failure) -> target.produceAsync(Message.of("fine", "relayed"),
						(relayedReport, relayedFailure) -> outcome.complete(relayedFailure)));

		assertThat(outcome.get(30, TimeUnit.SECONDS)).isNotNull();
		await().atMost(Duration.ofSeconds(30)).until(() -> target.inFlight() == 0);
		assertThat(target.status()).isEqualTo(ProducerStatus.DISCONNECTED);
		assertThat(target.config().poller().awaitStopped(Duration.ofSeconds(30)))
			.as("the producer, still disconnected, holds no registration").isTrue();
		assertThat(target.config().poller().registeredProducers()).isZero();
		refusal.set(false);
	}

	/**
	 * A released registration whose thread dies (its death raced the disconnect, or came after a reconnect)
	 * concerns the producer no more: it does not refuse messages as if it had lost its polling thread.
	 */
	@Test
	void theDeathOfARegistrationADisconnectLetGoOfLeavesTheProducerWorking() {
		Producer producer = producer(ProducerConfig.builder());
		producer.produceSync(Message.of("fine", "before"));
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.inFlight() == 0);
		ReportDispatcher released = producer.dispatcher();
		producer.disconnect();

		producer.pollingTerminated(released, new InternalError("simulated death (expected in this test)"));
		assertThat(producer.status()).isEqualTo(ProducerStatus.DISCONNECTED);
		assertThat(producer.produceSync(Message.of("fine", "after")).topic()).isEqualTo("fine");
		producer.pollingTerminated(released, new InternalError("simulated death (expected in this test)"));

		assertThat(producer.status()).isEqualTo(ProducerStatus.CONNECTED);
		assertThat(producer.produceSync(Message.of("fine", "again")).topic()).isEqualTo("fine");
	}

	/**
	 * A callback producing on a disconnected producer of the same Poller returns at once: the relay builds the
	 * new Kafka client (which may take long: DNS, a disconnect still closing the old one), not the Poller.
	 */
	@Test
	void aCallbackProducingOnADisconnectedProducerLeavesTheReconnectToTheRelay() throws Exception {
		Poller poller = new Poller(PollerConfig.named("reconnect-from-callback"));
		CountDownLatch buildingSecondClient = new CountDownLatch(1);
		CountDownLatch mayBuild = new CountDownLatch(1);
		AtomicInteger built = new AtomicInteger();
		Producer disconnected = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("disconnected"))
			.poller(poller)
			.clientFactory((properties) -> {
				if (built.incrementAndGet() == 2) {
					buildingSecondClient.countDown();
					TestProducers.awaitUninterruptibly(mayBuild);
				}
				return new MisbehavingKafka();
			})
			.build());
		this.producers.add(disconnected);
		Producer caller = producer(ProducerConfig.builder().poller(poller));
		disconnected.produceSync(Message.of("fine", "before"));
		await().atMost(Duration.ofSeconds(30)).until(() -> disconnected.inFlight() == 0);
		disconnected.disconnect();
		CountDownLatch callbackReturned = new CountDownLatch(1);
		AtomicReference<DeliveryHandle> fromCallback = new AtomicReference<>();

		caller.produceAsync(Message.of("fine", "trigger"), (report, failure) -> {
			fromCallback.set(disconnected.produceAsync(Message.of("fine", "from the callback")));
			callbackReturned.countDown();
		});

		try {
			assertThat(buildingSecondClient.await(30, TimeUnit.SECONDS)).isTrue();
			assertThat(callbackReturned.await(30, TimeUnit.SECONDS))
				.as("the callback returned while the client was built")
				.isTrue();
			// A drain (the starter's shutdown) waits for the message the relay holds: it has no outcome yet.
			assertThat(disconnected.awaitSent(Duration.ofMillis(100))).isFalse();
		}
		finally {
			mayBuild.countDown();
		}
		assertThat(disconnected.awaitSent(Duration.ofSeconds(30))).isTrue();
		assertThat(fromCallback.get().await(Duration.ofSeconds(30)).topic()).isEqualTo("fine");
		assertThat(disconnected.status()).isEqualTo(ProducerStatus.CONNECTED);
	}

}
