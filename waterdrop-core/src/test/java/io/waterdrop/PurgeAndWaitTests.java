package io.waterdrop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.instrumentation.ProducerEvent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** {@code purge()}, per-call waits, and the life-cycle events a producer publishes from its creation. */
@Timeout(60)
class PurgeAndWaitTests {

	private final List<Producer> producers = new CopyOnWriteArrayList<>();

	private final List<MisbehavingKafka> clients = new CopyOnWriteArrayList<>();

	private final List<String> events = new CopyOnWriteArrayList<>();

	@AfterEach
	void closeAll() {
		this.producers.forEach(Producer::closeForcefully);
	}

	private Producer producer() {
		return producer(ProducerConfig.builder());
	}

	private Producer producer(ProducerConfig.Builder settings) {
		ProducerConfig config = settings.id(TestProducers.uniqueId("purge"))
			.maxWaitTimeout(Duration.ofSeconds(30))
			.listener((event) -> this.events.add(event.name()))
			.clientFactory((properties) -> {
				MisbehavingKafka client = new MisbehavingKafka();
				this.clients.add(client);
				return client;
			})
			.build();
		Producer producer = new Producer(config);
		this.producers.add(producer);
		return producer;
	}

	@RepeatedTest(5)
	void purgeFailsEveryUndeliveredMessageOnceAsPurgedAndTheProducerGoesOn() {
		Producer producer = producer();
		List<DeliveryHandle> pending = new ArrayList<>();
		for (int i = 0; i < 20; i++) {
			pending.add(producer.produceAsync(Message.of("pending", "m-" + i)));
		}
		producer.buffer(Message.of("fine", "buffered"));

		producer.purge();

		// MisbehavingKafka's forced close fails every other record with a delivery timeout instead: a purge
		// counts only what it removed itself.
		assertThat(pending).allSatisfy((handle) -> assertThatThrownBy(handle::await)
			.isInstanceOf(DeliveryFailedException.class));
		assertThat(pending).filteredOn((handle) -> {
			try {
				handle.await();
				return false;
			}
			catch (MessagePurgedException ex) {
				return true;
			}
			catch (DeliveryFailedException ex) {
				return false;
			}
		}).hasSize(10);
		assertThat(producer.bufferSize()).isZero();
		assertThat(this.clients.get(0).closed()).isTrue();
		// Usable at once, on a new client.
		assertThat(producer.produceSync(Message.of("fine", "after")).topic()).isEqualTo("fine");
		assertThat(this.clients).hasSize(2);
		producer.close(Duration.ofSeconds(30));
		assertThat(producer.stats().purged()).isEqualTo(10);
		assertThat(producer.stats().failed()).isEqualTo(10);
		assertThat(producer.stats().acknowledged()).isEqualTo(1);
		assertThat(this.events).contains("buffer.purged").containsSubsequence("producer.created",
				"producer.configured", "producer.connected", "producer.closing", "producer.closed");
	}

	/**
	 * A flush waiting for its reports when {@code purge()} runs puts back what failed, not what the purge
	 * dropped on purpose: a purged message must not come back with the next flush.
	 */
	@Test
	void aFlushThatAPurgeOvertakesPutsBackWhatFailedNotWhatWasPurged() throws Exception {
		Producer producer = producer();

		flushSyncOvertakenByPurge(producer, 4);

		// MisbehavingKafka's forced close purges "1" and "3" and fails "2" and "4" with a delivery timeout.
		assertThat(producer.bufferSize()).isEqualTo(2);
		assertThat(producer.flushAsync()).extracting((handle) -> handle.message().payload()).containsExactly("2", "4");
	}

	/**
	 * A purge that overtakes a flush sending in batches drops the batches the flush had not sent yet, as it
	 * drops the buffer (buffer.purged): they must not come back with the next flush.
	 */
	@Test
	void aPurgeDropsWhatAFlushInBatchesHadNotSentYet() throws Exception {
		Producer producer = producer(ProducerConfig.builder().maxInFlight(2));
		List<ProducerEvent.BufferPurged> dropped = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.BufferPurged.class, dropped::add);

		flushSyncOvertakenByPurge(producer, 2);

		// MisbehavingKafka's forced close purges "1" and fails "2" with a delivery timeout; "3" and "4" were not sent.
		assertThat(dropped).singleElement()
			.satisfies((event) -> assertThat(event.messages()).extracting(Message::payload).containsExactly("3", "4"));
		assertThat(producer.flushAsync()).extracting((handle) -> handle.message().payload()).containsExactly("2");
	}

	/**
	 * Buffers "1" to "4" (topic "pending", which Kafka holds), flushes them synchronously on another thread and
	 * purges once {@code appended} of them reached Kafka; the flush fails. The purged reports, and so the
	 * flush's wake-up, are dispatched only after purge() returned.
	 */
	private void flushSyncOvertakenByPurge(Producer producer, int appended) throws Exception {
		CountDownLatch purgeReturned = new CountDownLatch(1);
		producer.monitor().subscribe(ProducerEvent.MessagePurged.class,
				(event) -> TestProducers.awaitUninterruptibly(purgeReturned));
		producer.bufferMany(List.of(Message.of("pending", "1"), Message.of("pending", "2"), Message.of("pending", "3"),
				Message.of("pending", "4")));
		ExecutorService flusher = Executors.newSingleThreadExecutor();
		try {
			Future<List<DeliveryReport>> flush = flusher.submit(producer::flushSync);
			await().atMost(Duration.ofSeconds(30))
				.until(() -> !this.clients.isEmpty() && this.clients.get(0).appended() == appended);

			producer.purge();
			purgeReturned.countDown();

			assertThatThrownBy(() -> flush.get(30, TimeUnit.SECONDS)).hasCauseInstanceOf(DeliveryFailedException.class);
		}
		finally {
			purgeReturned.countDown();
			flusher.shutdownNow();
		}
	}

	/**
	 * An interrupt while Kafka's forced close joins its network thread makes the close throw before that thread
	 * has failed the unsent records. The purge closes the client again (flag cleared), so that it returns only
	 * after those records' callbacks came, while it still counts them as its own: purged, not failed (which a
	 * flush would send again). The purge's caller keeps its interrupt.
	 */
	@Test
	void aPurgeInterruptedWhileKafkaClosesCountsWhatItRemovedAsPurged() {
		InterruptedCloseKafka first = new InterruptedCloseKafka();
		List<org.apache.kafka.clients.producer.Producer<byte[], byte[]>> clients = new CopyOnWriteArrayList<>();
		Producer producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("purge-interrupted"))
			.maxWaitTimeout(Duration.ofSeconds(30))
			.clientFactory((properties) -> {
				clients.add(clients.isEmpty() ? first : new MockProducer<>(true, null, new ByteArraySerializer(),
						new ByteArraySerializer()));
				return clients.get(clients.size() - 1);
			})
			.build());
		this.producers.add(producer);
		List<DeliveryHandle> pending = new ArrayList<>();
		for (int i = 0; i < 6; i++) {
			pending.add(producer.produceAsync(Message.of("pending", "m-" + i)));
		}
		try {
			producer.purge();
			assertThat(Thread.interrupted()).as("the purge's caller keeps its interrupt").isTrue();
		}
		finally {
			first.letItFinish(); // before the fix, the records fail only now, after the purge returned
		}
		assertThat(pending).allSatisfy((handle) -> assertThatExceptionOfType(MessagePurgedException.class)
			.isThrownBy(handle::await));
		producer.close(Duration.ofSeconds(30));
		assertThat(producer.stats().purged()).isEqualTo(6);
		assertThat(producer.stats().failed()).isZero();
	}

	/**
	 * A client whose close is interrupted as {@code KafkaProducer}'s is while it joins its network thread: the
	 * first close throws {@code InterruptException} (the flag set again) while the network thread has yet to
	 * fail the unsent records; a later close joins that thread, which then fails them.
	 */
	private static final class InterruptedCloseKafka extends MockProducer<byte[], byte[]> {

		private final Queue<Callback> appended = new ConcurrentLinkedQueue<>();

		private final CountDownLatch joined = new CountDownLatch(1);

		private final AtomicReference<Thread> network = new AtomicReference<>();

		InterruptedCloseKafka() {
			super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
		}

		@Override
		public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
			this.appended.add(callback);
			return new CompletableFuture<>();
		}

		@Override
		public void close(Duration timeout) {
			Thread started = new Thread(() -> {
				TestProducers.awaitUninterruptibly(this.joined);
				Callback callback;
				while ((callback = this.appended.poll()) != null) {
					callback.onCompletion(null, new KafkaException("Producer is closed forcefully."));
				}
			}, "simulated-kafka-network-thread");
			if (this.network.compareAndSet(null, started)) {
				started.start();
				throw new InterruptException(new InterruptedException("simulated, while joining the network thread"));
			}
			letItFinish();
			try {
				this.network.get().join();
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				throw new InterruptException(ex);
			}
			super.close(timeout);
		}

		void letItFinish() {
			this.joined.countDown();
		}

	}

	/** A purged message says why: an aborted transaction is not a purge of the producer's. */
	@Test
	void aPurgedMessageSaysWhetherItsTransactionWasAbortedOrItsProducerPurgedIt() {
		Message message = Message.of("orders", "x");
		assertThat(new MessagePurgedException("p", message,
				new org.apache.kafka.common.errors.TransactionAbortedException("aborted")))
			.hasMessage("Message to 'orders' was purged undelivered: its transaction on producer 'p' was aborted");
		assertThat(new MessagePurgedException("p", message, new org.apache.kafka.common.KafkaException("closed")))
			.hasMessage("Message to 'orders' was purged undelivered: producer 'p' purged what it had not delivered "
					+ "(purge(), or a close that did not wait for it)");
	}

	@Test
	void purgeIsRefusedOnATransactionalProducer() {
		Producer producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("purge-tx"))
			.kafka("transactional.id", "purge-tx")
			.clientFactory((properties) -> new MisbehavingKafka())
			.build());
		this.producers.add(producer);
		assertThatExceptionOfType(IllegalStateException.class).isThrownBy(producer::purge)
			.withMessageContaining("abort the transaction");
	}

	@Test
	void produceSyncWithATimeoutGivesUpWithDeliveryTimeoutAndTheReportStillComes() {
		Producer producer = producer();
		List<ProducerEvent.MessagePurged> purged = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.MessagePurged.class, purged::add);

		assertThatExceptionOfType(DeliveryTimeoutException.class)
			.isThrownBy(() -> producer.produceSync(Message.of("pending", "never acknowledged"), Duration.ofMillis(50)));
		assertThatExceptionOfType(DeliveryTimeoutException.class).isThrownBy(() -> producer
			.produceManySync(List.of(Message.of("fine", "a"), Message.of("pending", "b")), Duration.ofMillis(50)));
		// "a" was acknowledged meanwhile; its slot comes back with its dispatched batch, a moment after its handle.
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.inFlight() == 2);

		producer.closeForcefully();
		assertThat(producer.stats().dispatched()).isEqualTo(3);
		assertThat(producer.inFlight()).isZero();
	}

}
