package io.waterdrop;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.PollingMode;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Transaction rules without a broker: {@link InMemoryKafka} for outcomes, {@link MockProducer} for failures. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class TransactionUnitTests {

	private final InMemoryKafka kafka = new InMemoryKafka();

	private final List<Producer> producers = new CopyOnWriteArrayList<>();

	@AfterEach
	void close() {
		this.producers.forEach((producer) -> producer.close(Duration.ofSeconds(10)));
	}

	/** Only this producer's batch is aborted with the transaction: another's part sent stays sent, and is said. */
	@Test
	void anotherProducersBatchRefusedPartWayInTheBlockIsThrownAsSuch() {
		Producer payments = transactional(recording(new CopyOnWriteArrayList<>()));
		MockProducer<byte[], byte[]> auditClient = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer()) {

			@Override
			public synchronized Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
				if (record.topic().equals("refused")) {
					throw new KafkaException("refused (simulated)");
				}
				return super.send(record, callback);
			}

		};
		Producer audit = track(new Producer(ProducerConfig.builder()
			.id("audit")
			.maxWaitTimeout(Duration.ofSeconds(30))
			.clientFactory((properties) -> auditClient)
			.build()));

		assertThatExceptionOfType(BatchPartlySentException.class)
			.isThrownBy(() -> payments.transaction((transaction) -> {
				transaction.produceAsync(Message.of("payments", "charge"));
				audit.produceManyAsync(
						List.of(Message.of("audit", "1"), Message.of("audit", "2"), Message.of("refused", "3")));
				return null;
			}))
			.satisfies((ex) -> assertThat(ex.sent()).hasSize(2));
		assertThat(auditClient.history()).hasSize(2);
	}

	@Test
	void transactionCommitsAndReturnsTheBlockValue() {
		Producer producer = transactional(this.kafka);
		List<String> events = transactionEvents(producer);

		Integer value = producer.transaction((transaction) -> {
			transaction.produceSync(Message.of("orders", "1"));
			transaction.produceManyAsync(List.of(Message.of("orders", "2"), Message.of("orders", "3")));
			return 42;
		});

		assertThat(value).isEqualTo(42);
		assertThat(this.kafka.payloads("orders")).containsExactly("1", "2", "3");
		assertThat(events).containsExactly("transaction.started", "transaction.committed", "transaction.finished");
	}

	@Test
	void exceptionFromTheBlockAbortsAndIsRethrownAsIs() {
		Producer producer = transactional(this.kafka);
		List<String> events = transactionEvents(producer);
		IllegalArgumentException failure = new IllegalArgumentException("bad order");
		AssertionError error = new AssertionError("an Error aborts too");

		assertThatThrownBy(() -> producer.transaction((transaction) -> {
			transaction.produceSync(Message.of("orders", "dropped"));
			throw failure;
		})).isSameAs(failure);
		assertThatThrownBy(() -> producer.transaction((transaction) -> {
			transaction.produceSync(Message.of("orders", "dropped too"));
			throw error;
		})).isSameAs(error);

		assertThat(this.kafka.records()).isEmpty();
		assertThat(events).containsExactly("transaction.started", "transaction.aborted", "transaction.finished",
				"transaction.started", "transaction.aborted", "transaction.finished");
	}

	@Test
	void abortSignalRollsBackQuietlyAndReturnsNull() {
		Producer producer = transactional(this.kafka);
		List<String> events = transactionEvents(producer);

		String value = producer.transaction((transaction) -> {
			transaction.produceSync(Message.of("orders", "dropped"));
			transaction.abort();
			return "unreachable";
		});

		assertThat(value).isNull();
		assertThat(this.kafka.records()).isEmpty();
		assertThat(events).containsExactly("transaction.started", "transaction.aborted", "transaction.finished");
		// The producer goes on: the next transaction commits.
		producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "kept")));
		assertThat(this.kafka.payloads("orders")).containsExactly("kept");
	}

	@Test
	void nestedTransactionJoinsTheOuterOne() {
		Producer producer = transactional(this.kafka);
		List<String> events = transactionEvents(producer);

		String value = producer.transaction((outer) -> {
			outer.produceSync(Message.of("orders", "outer"));
			String inner = producer.transaction((nested) -> {
				nested.produceSync(Message.of("orders", "inner"));
				return "from inner";
			});
			// Joined, not committed on its own: nothing is visible before the outer commit.
			assertThat(this.kafka.records()).isEmpty();
			return inner;
		});

		assertThat(value).isEqualTo("from inner");
		assertThat(this.kafka.payloads("orders")).containsExactly("outer", "inner");
		assertThat(events).containsExactly("transaction.started", "transaction.committed", "transaction.finished");
	}

	@Test
	void abortInANestedTransactionRollsBackTheOuterOne() {
		Producer producer = transactional(this.kafka);

		Object value = producer.transaction((outer) -> {
			outer.produceSync(Message.of("orders", "outer"));
			producer.transaction((nested) -> {
				nested.produceSync(Message.of("orders", "inner"));
				nested.abort();
				return null;
			});
			outer.produceSync(Message.of("orders", "never sent"));
			return "unreachable";
		});

		assertThat(value).isNull();
		assertThat(this.kafka.records()).isEmpty();
	}

	/**
	 * A nested abort() or exception dooms the transaction even when the block around it catches it: what the
	 * nested block meant to roll back is not committed with the rest, and the caller is told.
	 */
	@Test
	void aNestedTransactionsAbortCaughtByTheBlockAroundItStillRollsBack() {
		Producer producer = transactional(this.kafka);
		List<Class<?>> events = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.TransactionCommitted.class, (event) -> events.add(event.getClass()));
		producer.monitor().subscribe(ProducerEvent.TransactionAborted.class, (event) -> events.add(event.getClass()));

		assertThatExceptionOfType(TransactionFailedException.class)
			.isThrownBy(() -> producer.transaction((outer) -> {
				outer.produceSync(Message.of("orders", "outer"));
				try {
					producer.transaction((nested) -> {
						nested.produceSync(Message.of("orders", "nested"));
						nested.abort();
						return null;
					});
				}
				catch (RuntimeException ex) {
					// a block that logs and goes on
				}
				outer.produceSync(Message.of("orders", "after"));
				return "done";
			}))
			.withMessageContaining("was rolled back: a nested transaction(...) in it called abort()")
			.withNoCause();
		IllegalStateException thrown = new IllegalStateException("nested failure (simulated)");
		assertThatExceptionOfType(TransactionFailedException.class)
			.isThrownBy(() -> producer.transaction((outer) -> {
				outer.produceSync(Message.of("orders", "outer 2"));
				try {
					producer.transaction((nested) -> {
						nested.produceSync(Message.of("orders", "nested 2"));
						throw thrown;
					});
				}
				catch (IllegalStateException ex) {
					// caught
				}
				return "done";
			}))
			.withCause(thrown);

		assertThat(this.kafka.records()).isEmpty();
		assertThat(events).containsExactly(ProducerEvent.TransactionAborted.class,
				ProducerEvent.TransactionAborted.class);
		// The next transaction is not doomed by them.
		String next = producer.transaction((transaction) -> {
			transaction.produceSync(Message.of("orders", "next"));
			return "committed";
		});
		assertThat(next).isEqualTo("committed");
		assertThat(this.kafka.payloads("orders")).containsExactly("next");
	}

	/** Only a nested transaction(...) dooms it: a failed call in the block is the block's to handle. */
	@Test
	void aFailedCallCaughtInTheBlockDoesNotDoomTheTransaction() {
		Producer producer = transactional(this.kafka.topic("orders", 1));

		Object value = producer.transaction((transaction) -> {
			transaction.produceSync(Message.of("orders", "kept"));
			assertThatExceptionOfType(InvalidMessageException.class)
				.isThrownBy(() -> producer.produceAsync(Message.builder("orders").partition(-1).payload("x").build()));
			return "committed";
		});

		assertThat(value).isEqualTo("committed");
		assertThat(this.kafka.payloads("orders")).containsExactly("kept");
	}

	@Test
	void transactionOnANonTransactionalProducerIsRefusedClearly() {
		Producer producer = track(new Producer(ProducerConfig.builder().id("plain").clientFactory(this.kafka).build()));

		assertThat(producer.transactional()).isFalse();
		assertThatExceptionOfType(IllegalStateException.class)
			.isThrownBy(() -> producer.transaction((transaction) -> "never"))
			.withMessageContaining("'plain' is not transactional")
			.withMessageContaining("transactional.id");
	}

	@Test
	void produceOutsideATransactionIsWrappedInOneOfItsOwn() {
		Producer producer = transactional(this.kafka);
		List<String> events = transactionEvents(producer);

		producer.produceSync(Message.of("orders", "sync"));
		producer.produceAsync(Message.of("orders", "async")).await();
		producer.produceManySync(List.of(Message.of("orders", "many-1"), Message.of("orders", "many-2")));
		producer.produceManyAsync(List.of(Message.of("orders", "many-3"))).get(0).await();

		assertThat(this.kafka.payloads("orders")).containsExactly("sync", "async", "many-1", "many-2", "many-3");
		assertThat(events.stream().filter("transaction.committed"::equals)).hasSize(4);
	}

	@Test
	void aTransactionalProducerRefusesWorkOnAnotherProducersPollingThread() {
		Producer transactional = track(new Producer(ProducerConfig.builder()
			.id("tx-unit")
			.kafka("transactional.id", "tx-unit-1")
			.pollingMode(PollingMode.THREAD)
			.maxWaitTimeout(Duration.ofSeconds(30))
			.clientFactory(this.kafka)
			.build()));
		Producer plain = track(new Producer(ProducerConfig.builder().id("plain").clientFactory(this.kafka).build()));
		AtomicReference<Throwable> fromProduce = new AtomicReference<>();
		AtomicReference<Throwable> fromTransaction = new AtomicReference<>();
		CountDownLatch called = new CountDownLatch(1);

		plain.produceAsync(Message.of("events", "1"), (report, failure) -> {
			try {
				// Would run its own transaction on this Poller, its send relayed past the commit.
				transactional.produceAsync(Message.of("audit", "from-callback"));
			}
			catch (Throwable ex) {
				fromProduce.set(ex);
			}
			try {
				transactional.transaction(
						(transaction) -> transaction.produceAsync(Message.of("audit", "from-callback-2")));
			}
			catch (Throwable ex) {
				fromTransaction.set(ex);
			}
			called.countDown();
		});

		await().atMost(Duration.ofSeconds(30)).until(() -> called.getCount() == 0);
		assertThat(fromProduce.get()).isInstanceOf(IllegalCallerException.class)
			.hasMessageContaining("with transactional producer 'tx-unit'");
		assertThat(fromTransaction.get()).isInstanceOf(IllegalCallerException.class);
		// Refused before connecting: initTransactions would have blocked the polling thread for up to max.block.ms.
		assertThat(transactional.status()).isEqualTo(ProducerStatus.CONFIGURED);
		transactional.transaction((transaction) -> transaction.produceSync(Message.of("audit", "from-a-caller")));
		assertThat(this.kafka.payloads("audit")).containsExactly("from-a-caller");
	}

	@Test
	void transactionFromADeliveryCallbackIsRefusedInsteadOfDeadlocking() {
		Producer producer = transactional(this.kafka);
		AtomicReference<Throwable> fromTransaction = new AtomicReference<>();
		AtomicReference<Throwable> fromProduce = new AtomicReference<>();
		AtomicReference<Throwable> fromWait = new AtomicReference<>();
		CountDownLatch called = new CountDownLatch(1);

		producer.transaction((transaction) -> producer.produceAsync(Message.of("orders", "1"), (report, failure) -> {
			try {
				producer.transaction((nested) -> nested.produceAsync(Message.of("orders", "from-callback")));
			}
			catch (Throwable ex) {
				fromTransaction.set(ex);
			}
			try {
				producer.awaitSent(Duration.ofMinutes(1));
			}
			catch (Throwable ex) {
				fromWait.set(ex);
			}
			try {
				// Would need a transaction of its own, so it is refused as well.
				producer.produceAsync(Message.of("orders", "from-callback-2"));
			}
			catch (Throwable ex) {
				fromProduce.set(ex);
			}
			called.countDown();
		}));

		await().atMost(Duration.ofSeconds(30)).until(() -> called.getCount() == 0);
		assertThat(fromTransaction.get()).isInstanceOf(IllegalCallerException.class)
			.hasMessageContaining("Cannot run a transaction on thread")
			.hasMessageContaining("dispatches the delivery reports")
			.hasMessageContaining("Hand the work to another thread");
		// Neither produceAsync nor another Poller would help a transactional producer: it is not advised.
		assertThat(fromProduce.get()).isInstanceOf(IllegalCallerException.class);
		assertThat(List.of(fromTransaction.get().getMessage(), fromProduce.get().getMessage()))
			.noneMatch((refusal) -> refusal.contains("produceAsync") || refusal.contains("Poller"));
		// A wait sends nothing: a callback instead of the wait would do, transactional producer or not.
		assertThat(fromWait.get()).isInstanceOf(IllegalCallerException.class)
			.hasMessageContaining("Cannot wait for messages sent")
			.hasMessageContaining("Use produceAsync with a DeliveryCallback here");
		assertThat(this.kafka.payloads("orders")).containsExactly("1");
		// The polling thread is still healthy: later transactions deliver.
		producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "2")));
		assertThat(this.kafka.payloads("orders")).containsExactly("1", "2");
	}

	@Test
	void otherThreadsWaitForTheOpenTransaction() throws Exception {
		Producer producer = transactional(this.kafka);
		List<String> events = transactionEvents(producer);
		CountDownLatch opened = new CountDownLatch(1);
		CountDownLatch finish = new CountDownLatch(1);
		CompletableFuture<Object> first = CompletableFuture.supplyAsync(() -> producer.transaction((transaction) -> {
			transaction.produceSync(Message.of("orders", "first"));
			opened.countDown();
			TestProducers.awaitLatch(finish);
			return null;
		}));
		assertThat(opened.await(30, TimeUnit.SECONDS)).isTrue();

		CompletableFuture<DeliveryReport> outside = CompletableFuture
			.supplyAsync(() -> producer.produceSync(Message.of("orders", "second")));
		Thread.sleep(200);
		assertThat(outside).isNotDone();
		assertThat(this.kafka.records()).isEmpty();

		finish.countDown();
		first.get(30, TimeUnit.SECONDS);
		outside.get(30, TimeUnit.SECONDS);
		assertThat(this.kafka.payloads("orders")).containsExactly("first", "second");
		assertThat(events).containsExactly("transaction.started", "transaction.committed", "transaction.finished",
				"transaction.started", "transaction.committed", "transaction.finished");
	}

	@Test
	void markAsConsumedSendsTheOffsetsWithTheTransaction() {
		MockProducer<byte[], byte[]> mock = mock(true);
		Producer producer = transactional((properties) -> mock);
		List<ProducerEvent.TransactionMarkedAsConsumed> marked = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.TransactionMarkedAsConsumed.class, marked::add);
		TopicPartition partition = new TopicPartition("input", 0);
		ConsumerGroupMetadata group = new ConsumerGroupMetadata("transformers");

		producer.transaction((transaction) -> {
			transaction.produceSync(Message.of("output", "transformed"));
			transaction.markAsConsumed(Map.of(partition, new OffsetAndMetadata(5)), group);
			assertThat(mock.uncommittedOffsets()).containsKey("transformers");
			assertThat(mock.consumerGroupOffsetsHistory()).isEmpty();
			return null;
		});

		assertThat(mock.consumerGroupOffsetsHistory())
			.containsExactly(Map.of("transformers", Map.of(partition, new OffsetAndMetadata(5))));
		assertThat(marked).singleElement().satisfies((event) -> {
			assertThat(event.consumerGroup()).isEqualTo("transformers");
			assertThat(event.offsets()).containsEntry(partition, new OffsetAndMetadata(5));
		});
	}

	@Test
	void failedCommitAbortsAndThrowsTransactionFailed() {
		MockProducer<byte[], byte[]> mock = mock(true);
		mock.commitTransactionException = new KafkaException("commit refused");
		Producer producer = transactional((properties) -> mock);
		List<String> events = transactionEvents(producer);
		List<ProducerEvent.ErrorOccurred> errors = errors(producer);

		assertThatExceptionOfType(TransactionFailedException.class)
			.isThrownBy(() -> producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "1"))))
			.withMessageContaining("could not be committed and was rolled back")
			.withCauseInstanceOf(KafkaException.class);

		assertThat(mock.transactionAborted()).isTrue();
		assertThat(mock.history()).isEmpty();
		assertThat(events).containsExactly("transaction.started", "transaction.aborted", "transaction.finished");
		assertThat(errors).extracting(ProducerEvent.ErrorOccurred::type).containsExactly(ErrorType.TRANSACTION_COMMIT);
	}

	@Test
	void aTransactionThatOutlivesItsProducersCloseBuildsNoNewClient() {
		List<MockProducer<byte[], byte[]>> clients = new CopyOnWriteArrayList<>();
		Producer producer = transactional(recording(clients));
		List<ProducerEvent.Reloaded> reloads = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Reloaded.class, reloads::add);
		BoundTransaction transaction = producer.beginTransaction();

		producer.close(Duration.ofSeconds(10)); // the close does not wait for the open transaction

		// The closed client refuses the commit and the abort; a rebuild would leave a client nobody closes.
		assertThatExceptionOfType(TransactionFailedException.class).isThrownBy(transaction::commit);
		assertThat(reloads).isEmpty();
		assertThat(clients).singleElement().satisfies((client) -> assertThat(client.closed()).isTrue());
	}

	/**
	 * An idle disconnect between the caller's connect and the transaction's begin (here the joiner runs in
	 * that window, as the idle-disconnect thread could) must not leave the transaction without a client.
	 */
	@Test
	void aTransactionBeginningRightAfterAnIdleDisconnectConnectsAgain() {
		List<MockProducer<byte[], byte[]>> clients = new CopyOnWriteArrayList<>();
		Producer producer = track(new Producer(ProducerConfig.builder()
			.id("tx-unit")
			.kafka("transactional.id", "tx-unit-1")
			.maxWaitTimeout(Duration.ofSeconds(30))
			.transactionJoiner((joining) -> {
				joining.disconnect();
				return false;
			})
			.clientFactory(recording(clients))
			.build()));
		producer.connect();

		producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "1")));

		assertThat(clients).hasSize(2);
		assertThat(clients.get(0).closed()).isTrue();
		assertThat(clients.get(1).history()).extracting(TransactionUnitTests::text).containsExactly("1");
		assertThat(clients.get(1).transactionCommitted()).isTrue();
	}

	/** Kafka makes a topic's authorization error abortable for a transactional producer, not fatal. */
	@Test
	void aTopicAuthorizationErrorAbortsWithoutRebuildingTheClient() {
		List<MockProducer<byte[], byte[]>> clients = new CopyOnWriteArrayList<>();
		Producer producer = transactional(recording(clients));
		List<ProducerEvent.Reloaded> reloads = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Reloaded.class, reloads::add);
		producer.connect();
		clients.get(0).sendException = new TopicAuthorizationException(Set.of("secret"));

		assertThatExceptionOfType(DeliveryFailedException.class)
			.isThrownBy(() -> producer.transaction((transaction) -> transaction.produceSync(Message.of("secret", "1"))))
			.withRootCauseInstanceOf(TopicAuthorizationException.class);

		assertThat(reloads).isEmpty();
		assertThat(clients).singleElement().satisfies((client) -> assertThat(client.transactionAborted()).isTrue());
		clients.get(0).sendException = null;
		producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "2")));
		assertThat(clients).singleElement()
			.satisfies((client) -> assertThat(client.history()).extracting(TransactionUnitTests::text)
				.containsExactly("2"));
	}

	@Test
	void fencedProducerIsNotRebuiltByDefaultSoTheNewerInstanceKeepsItsTransactionalId() {
		List<MockProducer<byte[], byte[]>> clients = new CopyOnWriteArrayList<>();
		Producer producer = transactional(recording(clients));
		List<ProducerEvent.Reloaded> reloads = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Reloaded.class, reloads::add);

		assertThatExceptionOfType(DeliveryFailedException.class).isThrownBy(() -> producer.transaction((transaction) -> {
			clients.get(0).fenceProducer();
			return transaction.produceSync(Message.of("orders", "1"));
		})).withRootCauseInstanceOf(ProducerFencedException.class);

		// Rebuilding would fence the newer instance in turn: the zombie stays fenced and says so.
		assertThat(reloads).isEmpty();
		assertThat(clients).hasSize(1);
		assertThatThrownBy(() -> producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "2"))))
			.isInstanceOf(ProducerFencedException.class);
		assertThat(clients).hasSize(1);
	}

	@Test
	void aBlockThrowingAnotherClientsFencingAbortsThisTransactionAndKeepsTheProducer() {
		List<MockProducer<byte[], byte[]>> clients = new CopyOnWriteArrayList<>();
		Producer producer = transactional(recording(clients));
		List<ProducerEvent.ErrorOccurred> errors = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, errors::add);

		// The block called a second transactional producer, fenced itself: this one's client is fine.
		assertThatExceptionOfType(IllegalStateException.class).isThrownBy(() -> producer.transaction((transaction) -> {
			transaction.produceAsync(Message.of("orders", "1"));
			throw new IllegalStateException("the audit producer failed",
					new ProducerFencedException("another producer was fenced"));
		}));

		assertThat(clients).singleElement().satisfies((client) -> {
			assertThat(client.transactionAborted()).as("its own transaction rolled back").isTrue();
			assertThat(client.transactionInFlight()).isFalse();
		});
		assertThat(errors).as("nothing wrong with this producer's client").isEmpty();
		producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "2")));
		assertThat(clients).singleElement()
			.satisfies((client) -> assertThat(client.history()).extracting(TransactionUnitTests::text)
				.containsExactly("2"));
	}

	@Test
	void fatalErrorRebuildsTheClientSoTheProducerKeepsWorking() {
		List<MockProducer<byte[], byte[]>> clients = new CopyOnWriteArrayList<>();
		// Fencing stands for any fatal error here: MockProducer can only fence; allow rebuilding for it.
		Producer producer = transactionalReloadingFenced(recording(clients));
		List<String> events = transactionEvents(producer);
		List<ProducerEvent.Reloaded> reloads = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Reloaded.class, reloads::add);

		// Fenced mid-transaction: the send is refused, the block throws, the abort finds the error fatal.
		assertThatExceptionOfType(DeliveryFailedException.class).isThrownBy(() -> producer.transaction((transaction) -> {
			clients.get(0).fenceProducer();
			return transaction.produceSync(Message.of("orders", "1"));
		})).withRootCauseInstanceOf(ProducerFencedException.class);

		assertThat(clients).hasSize(2);
		assertThat(clients.get(0).closed()).isTrue();
		assertThat(clients.get(1).transactionInitialized()).isTrue();
		// The cause is the client's own: the error its abort refused with.
		assertThat(reloads).singleElement()
			.satisfies((reload) -> assertThat(reload.cause()).isInstanceOf(ProducerFencedException.class));
		producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "2")));
		assertThat(clients.get(1).history()).extracting(TransactionUnitTests::text).containsExactly("2");
		assertThat(events).containsExactly("transaction.started", "transaction.aborted", "transaction.finished",
				"transaction.started", "transaction.committed", "transaction.finished");
	}

	@Test
	void withoutReloadAFatalErrorIsReportedAndTheProducerStaysBroken() {
		List<MockProducer<byte[], byte[]>> clients = new CopyOnWriteArrayList<>();
		Producer producer = track(new Producer(ProducerConfig.builder()
			.id("no-reload")
			.kafka("transactional.id", "no-reload-tx")
			.reloadOnTransactionFatalError(false)
			.clientFactory(recording(clients))
			.build()));
		List<ProducerEvent.ErrorOccurred> errors = errors(producer);
		List<ProducerEvent.Reloaded> reloads = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Reloaded.class, reloads::add);

		assertThatExceptionOfType(DeliveryFailedException.class).isThrownBy(() -> producer.transaction((transaction) -> {
			clients.get(0).fenceProducer();
			return transaction.produceSync(Message.of("orders", "1"));
		}));

		assertThat(errors).extracting(ProducerEvent.ErrorOccurred::type).contains(ErrorType.PRODUCER_RELOAD);
		assertThat(reloads).isEmpty();
		assertThat(clients).hasSize(1);
		assertThatThrownBy(() -> producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "2"))))
			.isInstanceOf(ProducerFencedException.class);
	}

	@Test
	void clientBrokenBetweenTransactionsIsRebuiltWhenTheNextOneBegins() {
		List<MockProducer<byte[], byte[]>> clients = new CopyOnWriteArrayList<>();
		Producer producer = transactionalReloadingFenced(recording(clients));
		List<String> events = transactionEvents(producer);
		List<ProducerEvent.Reloaded> reloads = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.Reloaded.class, reloads::add);
		producer.connect();
		clients.get(0).fenceProducer();

		// Nothing was sent on the broken client yet, so the transaction simply runs on the rebuilt one.
		producer.transaction((transaction) -> transaction.produceSync(Message.of("orders", "1")));

		assertThat(reloads).singleElement()
			.satisfies((reload) -> assertThat(reload.cause()).isInstanceOf(ProducerFencedException.class));
		assertThat(clients).hasSize(2);
		assertThat(clients.get(0).closed()).isTrue();
		assertThat(clients.get(1).history()).extracting(TransactionUnitTests::text).containsExactly("1");
		assertThat(events).containsExactly("transaction.started", "transaction.committed", "transaction.finished");
	}

	// --- helpers

	private Producer transactional(
			java.util.function.Function<Map<String, Object>, org.apache.kafka.clients.producer.Producer<byte[], byte[]>> client) {
		return track(new Producer(ProducerConfig.builder()
			.id("tx-unit")
			.kafka("transactional.id", "tx-unit-1")
			.maxWaitTimeout(Duration.ofSeconds(30))
			.clientFactory(client)
			.build()));
	}

	/** A transactional producer that rebuilds its client even when fenced (not the default). */
	private Producer transactionalReloadingFenced(
			java.util.function.Function<Map<String, Object>, org.apache.kafka.clients.producer.Producer<byte[], byte[]>> client) {
		return track(new Producer(ProducerConfig.builder()
			.id("tx-unit")
			.kafka("transactional.id", "tx-unit-1")
			.maxWaitTimeout(Duration.ofSeconds(30))
			.nonReloadableErrors(java.util.Set.of())
			.clientFactory(client)
			.build()));
	}

	private Producer track(Producer producer) {
		this.producers.add(producer);
		return producer;
	}

	/** A client factory of auto-completing mock clients, each added to {@code clients}. */
	private static Function<Map<String, Object>, org.apache.kafka.clients.producer.Producer<byte[], byte[]>> recording(
			List<MockProducer<byte[], byte[]>> clients) {
		return (properties) -> {
			MockProducer<byte[], byte[]> client = mock(true);
			clients.add(client);
			return client;
		};
	}

	private static MockProducer<byte[], byte[]> mock(boolean autoComplete) {
		return new MockProducer<>(autoComplete, null, new ByteArraySerializer(), new ByteArraySerializer());
	}

	private static List<String> transactionEvents(Producer producer) {
		List<String> names = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe((event) -> {
			if (event.name().startsWith("transaction.") && !event.name().equals("transaction.marked_as_consumed")) {
				names.add(event.name());
			}
		});
		return names;
	}

	private static List<ProducerEvent.ErrorOccurred> errors(Producer producer) {
		List<ProducerEvent.ErrorOccurred> errors = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, errors::add);
		return errors;
	}

	private static String text(org.apache.kafka.clients.producer.ProducerRecord<byte[], byte[]> record) {
		return (record.value() != null) ? new String(record.value(), java.nio.charset.StandardCharsets.UTF_8) : null;
	}

}
