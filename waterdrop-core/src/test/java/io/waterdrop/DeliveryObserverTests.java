package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.instrumentation.DeliveryObserver;
import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.PollerEvent;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/** A {@link DeliveryObserver} sees each message once before its send and once with its outcome. */
@Timeout(60)
class DeliveryObserverTests {

	private final List<Producer> producers = new CopyOnWriteArrayList<>();

	private final List<MisbehavingKafka> clients = new CopyOnWriteArrayList<>();

	@AfterEach
	void closeAll() {
		this.producers.forEach(Producer::closeForcefully);
	}

	/**
	 * A refusal by Kafka is reported as such when an idle disconnect completes right after it (here the
	 * observer, told of the refusal once the message's slot is back, disconnects the producer at that moment):
	 * a disconnected producer is not closed, and the next message reconnects it.
	 */
	@Test
	void aRefusalFollowedByADisconnectIsReportedAsKafkasRefusal() {
		AtomicReference<Producer> self = new AtomicReference<>();
		Producer producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("observed"))
			.observer(new DeliveryObserver() {
				@Override
				public Object beforeSend(String producerId, Message message, ProducerRecord<byte[], byte[]> record) {
					return null;
				}

				@Override
				public void afterOutcome(Object observation, DeliveryReport report, Throwable error) {
					if (report == null) {
						self.get().disconnect();
					}
				}
			})
			.clientFactory((properties) -> {
				MisbehavingKafka client = new MisbehavingKafka();
				this.clients.add(client);
				return client;
			})
			.build());
		self.set(producer);
		this.producers.add(producer);
		producer.connect();

		assertThatExceptionOfType(DeliveryFailedException.class)
			.isThrownBy(() -> producer.produceAsync(Message.of("throw-after-append", "refused")))
			.withMessageContaining("refused the message to 'throw-after-append'");
		assertThat(producer.status()).isEqualTo(ProducerStatus.DISCONNECTED);
		assertThat(producer.produceSync(Message.of("fine", "delivered")).topic()).isEqualTo("fine");
		assertThat(this.clients).hasSize(2);
	}

	@Test
	void observerWritesHeadersBeforeTheSendAndGetsEachOutcomeOnce() {
		List<String> outcomes = new CopyOnWriteArrayList<>();
		AtomicInteger started = new AtomicInteger();
		Producer producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("observed"))
			.observer(new DeliveryObserver() {
				@Override
				public Object beforeSend(String producerId, Message message, ProducerRecord<byte[], byte[]> record) {
					record.headers().add("traceparent", ("span-" + started.incrementAndGet()).getBytes(StandardCharsets.UTF_8));
					return "span-" + started.get();
				}

				@Override
				public void afterOutcome(Object observation, DeliveryReport report, Throwable error) {
					outcomes.add(observation + ":" + ((report != null) ? "ack" : error.getClass().getSimpleName()));
				}
			})
			.clientFactory((properties) -> {
				MisbehavingKafka client = new MisbehavingKafka();
				this.clients.add(client);
				return client;
			})
			.build());
		this.producers.add(producer);

		producer.produceSync(Message.of("fine", "delivered"));
		assertThatExceptionOfType(DeliveryFailedException.class)
			.isThrownBy(() -> producer.produceAsync(Message.of("throw-after-append", "refused")));
		assertThatExceptionOfType(DeliveryFailedException.class)
			.isThrownBy(() -> producer.produceSync(Message.of("fenced-twice", "failed")));
		producer.close(Duration.ofSeconds(30));

		assertThat(outcomes).containsExactlyInAnyOrder("span-1:ack", "span-2:KafkaException",
				"span-3:DeliveryFailedException");
		assertThat(this.clients.get(0).history()).singleElement()
			.satisfies((record) -> assertThat(new String(record.headers().lastHeader("traceparent").value(),
					StandardCharsets.UTF_8)).isEqualTo("span-1"));
	}

	@Test
	void anErrorThrownByTheObserverIsReportedAndLosesNeitherTheMessageNorItsSlot() {
		List<ProducerEvent.ErrorOccurred> errors = new CopyOnWriteArrayList<>();
		List<PollerEvent.LoopError> loopErrors = new CopyOnWriteArrayList<>();
		Producer producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("observer-error"))
			.observer(new DeliveryObserver() {
				@Override
				public Object beforeSend(String producerId, Message message, ProducerRecord<byte[], byte[]> record) {
					throw new AssertionError("before the send");
				}

				@Override
				public void afterOutcome(Object observation, DeliveryReport report, Throwable error) {
					throw new AssertionError("after the outcome");
				}
			})
			.clientFactory((properties) -> new MisbehavingKafka())
			.build());
		this.producers.add(producer);
		producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, errors::add);
		producer.monitor().subscribe(PollerEvent.LoopError.class, loopErrors::add);

		DeliveryReport report = producer.produceSync(Message.of("fine", "delivered"));

		assertThat(report.topic()).isEqualTo("fine");
		assertThat(producer.inFlight()).isZero();
		producer.close(Duration.ofSeconds(30));
		assertThat(errors).extracting(ProducerEvent.ErrorOccurred::type)
			.containsExactly(ErrorType.LISTENER, ErrorType.LISTENER);
		assertThat(errors).extracting((error) -> error.error().getMessage())
			.containsExactly("before the send", "after the outcome");
		assertThat(loopErrors).isEmpty();
	}

	/**
	 * Kafka's client measures the record with the observer's headers (a trace context) and fails one too large
	 * in its callback, after the message was queued; such a message is refused before Kafka instead, with its
	 * slot back and the observation ended with the refusal.
	 */
	@Test
	void aRecordTheObserversHeadersMakeTooLargeIsRefusedBeforeKafkaWithItsSlotBack() {
		List<Throwable> outcomes = new CopyOnWriteArrayList<>();
		InMemoryKafka kafka = new InMemoryKafka();
		Producer producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("observed-size"))
			.kafka("max.request.size", 1_000)
			.maxInFlight(1)
			.observer(new DeliveryObserver() {
				@Override
				public Object beforeSend(String producerId, Message message, ProducerRecord<byte[], byte[]> record) {
					record.headers().add("traceparent", new byte[200]);
					return message.label();
				}

				@Override
				public void afterOutcome(Object observation, DeliveryReport report, Throwable error) {
					outcomes.add((error != null) ? error : new IllegalStateException("acknowledged " + observation));
				}
			})
			.clientFactory(kafka)
			.build());
		this.producers.add(producer);

		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> producer.produceAsync(Message.builder("traced").payload(new byte[850]).build()))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(InvalidMessageException.Violation.RECORD_TOO_LARGE))
			.withMessageContaining("1 header(s)), over the 1000 bytes Kafka's client sends (max.request.size)");
		assertThat(producer.inFlight()).isZero();
		DeliveryReport small = producer.produceSync(Message.of("traced", "fits with its header"));

		assertThat(small.offset()).as("the refused message never reached Kafka").isZero();
		assertThat(kafka.payloads("traced")).containsExactly("fits with its header");
		// The second outcome is observed on the polling thread, which may still be at it when produceSync returns.
		await().atMost(Duration.ofSeconds(30)).until(() -> outcomes.size() == 2);
		assertThat(outcomes).first().isInstanceOf(InvalidMessageException.class);
	}

	/** A header the observer added that is none (a null key) refuses the message with its slot back, uncounted. */
	@Test
	void aHeaderTheObserverAddsWithoutAKeyRefusesTheMessageWithItsSlotBack() {
		List<Throwable> outcomes = new CopyOnWriteArrayList<>();
		Producer producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("observed-keyless"))
			.observer(new DeliveryObserver() {
				@Override
				public Object beforeSend(String producerId, Message message, ProducerRecord<byte[], byte[]> record) {
					record.headers().add(new Header() {
						@Override
						public String key() {
							return null;
						}

						@Override
						public byte[] value() {
							return new byte[1];
						}
					});
					return message.label();
				}

				@Override
				public void afterOutcome(Object observation, DeliveryReport report, Throwable error) {
					outcomes.add(error);
				}
			})
			.clientFactory(new InMemoryKafka())
			.build());
		this.producers.add(producer);

		assertThatExceptionOfType(DeliveryFailedException.class)
			.isThrownBy(() -> producer.produceAsync(Message.of("traced", "keyless header")))
			.withMessageContaining("The headers the DeliveryObserver of producer '" + producer.id() + "' added");
		assertThat(producer.inFlight()).isZero();
		assertThat(outcomes).singleElement().isInstanceOf(NullPointerException.class);
	}

	/**
	 * The observer's scope is open on the polling thread around the delivery of the outcome, where the callback
	 * and the future's dependents run inside it, and closed there before the observation stops; not around
	 * Kafka's send. A scope that fails to open is reported and loses nothing.
	 */
	@Test
	void theObservationsScopeIsOpenWhileItsOutcomeIsDelivered() throws Exception {
		List<String> seen = new CopyOnWriteArrayList<>();
		ThreadLocal<Object> current = new ThreadLocal<>();
		List<ProducerEvent.ErrorOccurred> errors = new CopyOnWriteArrayList<>();
		AtomicInteger sent = new AtomicInteger();
		// Acknowledges only when the test says so: the callback and the dependent are in place by then.
		MockProducer<byte[], byte[]> kafka = new MockProducer<>(false, null, new ByteArraySerializer(),
				new ByteArraySerializer()) {
			@Override
			public java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata> send(
					ProducerRecord<byte[], byte[]> record, org.apache.kafka.clients.producer.Callback callback) {
				seen.add("send in " + current.get());
				if (record.topic().equals("refused")) {
					throw new org.apache.kafka.common.KafkaException("refused (simulated)");
				}
				return super.send(record, callback);
			}
		};
		Producer producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("observed-scope"))
			.observer(new DeliveryObserver() {
				@Override
				public Object beforeSend(String producerId, Message message, ProducerRecord<byte[], byte[]> record) {
					return "span-" + sent.incrementAndGet();
				}

				@Override
				public void afterOutcome(Object observation, DeliveryReport report, Throwable error) {
					seen.add("stop " + observation + " in scope " + current.get());
				}

				@Override
				public Object openScope(Object observation) {
					if (observation.equals("span-3")) {
						throw new IllegalStateException("no scope today");
					}
					current.set(observation);
					return observation;
				}

				@Override
				public void closeScope(Object scope) {
					assertThat(current.get()).isEqualTo(scope);
					current.remove();
				}
			})
			.clientFactory((properties) -> kafka)
			.build());
		this.producers.add(producer);
		producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, errors::add);

		DeliveryHandle first = producer.produceAsync(Message.of("fine", "1"),
				(report, failure) -> seen.add("callback in " + current.get()));
		java.util.concurrent.CompletableFuture<Void> dependent = producer.produceAsync(Message.of("fine", "2"))
			.toCompletableFuture()
			.whenComplete((report, failure) -> seen.add("dependent in " + current.get()))
			.thenRun(() -> { });
		DeliveryHandle third = producer.produceAsync(Message.of("fine", "3"),
				(report, failure) -> seen.add("callback in " + current.get()));
		seen.add("caller after the sends in " + current.get());
		assertThatExceptionOfType(DeliveryFailedException.class)
			.isThrownBy(() -> producer.produceAsync(Message.of("refused", "4")));
		while (kafka.completeNext()) {
		}
		first.await();
		dependent.get(30, java.util.concurrent.TimeUnit.SECONDS);
		third.await();
		producer.close(Duration.ofSeconds(30));

		// In any order across threads: a waiter may wake before its callback ran.
		assertThat(seen).containsExactlyInAnyOrder("send in null", "send in null", "send in null",
				"caller after the sends in null", "send in null", "stop span-4 in scope null", "callback in span-1",
				"stop span-1 in scope null", "dependent in span-2", "stop span-2 in scope null", "callback in null",
				"stop span-3 in scope null");
		assertThat(errors).filteredOn((error) -> error.type() == ErrorType.LISTENER)
			.singleElement()
			.satisfies((error) -> assertThat(error.error()).hasMessage("no scope today"));
		assertThat(producer.inFlight()).isZero();
	}

}
