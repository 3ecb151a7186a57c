package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.instrumentation.DeliveryObserver;
import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.PollerEvent;
import io.waterdrop.instrumentation.ProducerEvent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/** A {@link DeliveryObserver} sees each message once before its send and once with its outcome. */
@Timeout(60)
class DeliveryObserverTests {

	private final List<Producer> producers = new CopyOnWriteArrayList<>();

	private final List<MisbehavingKafka> clients = new CopyOnWriteArrayList<>();

	@AfterEach
	void closeAll() {
		this.producers.forEach(Producer::closeForcefully);
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

}
