package io.waterdrop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.PollingMode;
import io.waterdrop.testing.KafkaTestBroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

/**
 * User code that throws while a report is dispatched (an event listener, a delivery callback) is reported
 * and never stops dispatch: every other report, listener and callback still runs.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class DispatchResilienceIntegrationTests {

	private final TestProducers producers = new TestProducers();

	@AfterEach
	void closeProducers() {
		this.producers.closeAll();
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void throwingListenersAndCallbacksDoNotStopDispatch(PollingMode mode) {
		int count = 200;
		String topic = KafkaTestBroker.uniqueTopic("resilience");
		KafkaTestBroker.createTopic(topic, 2);
		Producer producer = this.producers.create(TestProducers.config("resilience").pollingMode(mode));
		List<ProducerEvent.ErrorOccurred> errors = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, errors::add);
		AtomicInteger acknowledgedBeforeThrow = new AtomicInteger();
		producer.monitor().subscribe(ProducerEvent.MessageAcknowledged.class, (event) -> {
			acknowledgedBeforeThrow.incrementAndGet();
			throw new IllegalStateException("listener boom " + event.report().label());
		});
		// Subscribed after the throwing one: still called for every event.
		AtomicInteger acknowledgedAfterThrow = new AtomicInteger();
		producer.monitor()
			.subscribe(ProducerEvent.MessageAcknowledged.class, (event) -> acknowledgedAfterThrow.incrementAndGet());
		AtomicInteger callbacks = new AtomicInteger();

		List<DeliveryHandle> handles = new ArrayList<>(count);
		for (int i = 0; i < count; i++) {
			int index = i;
			handles.add(producer.produceAsync(Message.builder(topic).payload("m-" + i).label(i).build(),
					(report, failure) -> {
						callbacks.incrementAndGet();
						// Errors too, not only exceptions: a failing assertion in a callback is common in tests.
						if (index % 2 == 0) {
							throw new IllegalArgumentException("callback boom " + index);
						}
						throw new AssertionError("callback error " + index);
					}));
		}

		assertThat(handles).allSatisfy((handle) -> assertThat(handle.await().label()).isEqualTo(handle.label()));
		await().atMost(Duration.ofSeconds(30)).until(() -> producer.inFlight() == 0);
		assertThat(producer.stats().acknowledged()).isEqualTo(count);
		assertThat(callbacks).hasValue(count);
		assertThat(acknowledgedBeforeThrow).hasValue(count);
		assertThat(acknowledgedAfterThrow).hasValue(count);
		List<ProducerEvent.ErrorOccurred> listenerErrors = errors.stream()
			.filter((error) -> error.type() == ErrorType.LISTENER)
			.toList();
		assertThat(listenerErrors).hasSize(count)
			.allSatisfy((error) -> assertThat(error.error()).isInstanceOf(IllegalStateException.class)
				.hasMessageStartingWith("listener boom"));
		List<ProducerEvent.ErrorOccurred> callbackErrors = errors.stream()
			.filter((error) -> error.type() == ErrorType.CALLBACK)
			.toList();
		assertThat(callbackErrors).hasSize(count).allSatisfy((error) -> {
			// Each names the message whose callback failed.
			assertThat(error.message()).isNotNull();
			assertThat(error.label()).isEqualTo(error.message().label());
			assertThat(error.error()).hasMessageEndingWith(" " + error.label());
		});
		assertThat(callbackErrors).extracting(ProducerEvent.ErrorOccurred::label)
			.containsExactlyInAnyOrderElementsOf(handles.stream().map(DeliveryHandle::label).toList());
		assertThat(errors).hasSize(2 * count);

		// The producer still works and closes normally.
		assertThat(producer.produceSync(Message.of(topic, "after")).topic()).isEqualTo(topic);
		producer.close(Duration.ofSeconds(30));
		assertThat(producer.inFlight()).isZero();
		assertThat(KafkaTestBroker.recordCount(topic)).isEqualTo(count + 1);
	}

	@ParameterizedTest
	@EnumSource(PollingMode.class)
	void waitingForAReportOnThePollingThreadIsRefusedInsteadOfDeadlocking(PollingMode mode) throws Exception {
		String topic = KafkaTestBroker.uniqueTopic("wait-in-callback");
		KafkaTestBroker.createTopic(topic, 1);
		Producer producer = this.producers.create(TestProducers.config("wait-in-callback").pollingMode(mode));
		CompletableFuture<Throwable> produceSyncInCallback = new CompletableFuture<>();
		CompletableFuture<Throwable> awaitInCallback = new CompletableFuture<>();
		CompletableFuture<DeliveryHandle> produceAsyncInCallback = new CompletableFuture<>();

		producer.produceAsync(Message.of(topic, "outer"), (report, failure) -> {
			produceSyncInCallback.complete(catchThrowable(() -> producer.produceSync(Message.of(topic, "inner sync"))));
			DeliveryHandle inner = producer.produceAsync(Message.of(topic, "inner async"));
			produceAsyncInCallback.complete(inner);
			awaitInCallback.complete(catchThrowable(inner::await));
		}).await();

		assertThat(produceSyncInCallback.get(30, TimeUnit.SECONDS)).isInstanceOf(IllegalCallerException.class)
			.hasMessageContaining(producer.id());
		assertThat(awaitInCallback.get(30, TimeUnit.SECONDS)).isInstanceOf(IllegalCallerException.class);
		// Producing asynchronously from a callback is fine, and is what the message advises.
		assertThat(produceAsyncInCallback.get(30, TimeUnit.SECONDS).await().topic()).isEqualTo(topic);
		assertThat(KafkaTestBroker.recordCount(topic)).isEqualTo(2);
	}

}
