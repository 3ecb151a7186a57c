package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.InvalidMessageException.Violation;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;

/** The middleware chain: order, applied before validation, applied once on every way a message is sent. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class MiddlewareUnitTests {

	private final InMemoryKafka kafka = new InMemoryKafka();

	private final Producer producer = new Producer(ProducerConfig.builder()
		.id("middleware")
		.maxWaitTimeout(Duration.ofSeconds(30))
		.clientFactory(this.kafka)
		.build());

	@AfterEach
	void close() {
		this.producer.close();
	}

	@Test
	void stepsRunInAppendAndPrependOrder() {
		this.producer.middleware()
			.append(step("appended-1"))
			.append(step("appended-2"))
			.prepend(step("prepended-1"))
			.prepend(step("prepended-2"));

		this.producer.produceSync(Message.of("orders", "1"));

		assertThat(headerValues(this.kafka.records("orders").get(0), "step")).containsExactly("prepended-2",
				"prepended-1", "appended-1", "appended-2");
	}

	@Test
	void middlewareRunsBeforeValidationSoAStepCanMakeAMessageValid() {
		this.producer.middleware().append((message) -> message.toBuilder().topic("orders").build());

		DeliveryReport report = this.producer.produceSync(Message.of("not a valid topic!", "1"));

		assertThat(report.topic()).isEqualTo("orders");
		assertThat(this.kafka.payloads("orders")).containsExactly("1");
	}

	@Test
	void middlewareOutputIsValidatedSoAStepCanMakeAMessageInvalid() {
		this.producer.middleware().append((message) -> message.toBuilder().payload(null).key(null).build());

		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> this.producer.produceSync(Message.of("orders", "1")))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.TOMBSTONE_WITHOUT_KEY));
		assertThat(this.kafka.records()).isEmpty();
	}

	@Test
	void stepReturningNullRefusesTheMessageAsMissing() {
		AtomicInteger later = new AtomicInteger();
		this.producer.middleware().append((message) -> null).append((message) -> {
			later.incrementAndGet();
			return message;
		});

		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> this.producer.produceAsync(Message.of("orders", "1")))
			.satisfies((ex) -> assertThat(ex.violation()).isEqualTo(Violation.MESSAGE_MISSING));
		assertThat(later).as("steps after a null are skipped").hasValue(0);
		assertThat(this.kafka.records()).isEmpty();
	}

	@Test
	void throwingStepRefusesTheMessageWithItsException() {
		this.producer.middleware().append((message) -> {
			throw new IllegalStateException("no tenant");
		});

		assertThatIllegalStateException().isThrownBy(() -> this.producer.produceSync(Message.of("orders", "1")))
			.withMessage("no tenant");
		assertThat(this.kafka.records()).isEmpty();
	}

	@Test
	void middlewareAppliesOnceToEveryWayOfSending() {
		AtomicInteger calls = new AtomicInteger();
		this.producer.middleware().append((message) -> {
			calls.incrementAndGet();
			return message.toBuilder().header("tenant", "acme").build();
		});

		this.producer.produceSync(Message.of("orders", "sync"));
		this.producer.produceAsync(Message.of("orders", "async")).await();
		this.producer.produceManySync(List.of(Message.of("orders", "many-sync")));
		this.producer.produceManyAsync(List.of(Message.of("orders", "many-async"))).get(0).await();
		this.producer.buffer(Message.of("orders", "buffered"));
		this.producer.bufferMany(List.of(Message.of("orders", "buffered-many")));
		// Applied when buffered, not again when flushed.
		this.producer.flushSync();

		assertThat(calls).hasValue(6);
		List<ProducerRecord<byte[], byte[]>> records = this.kafka.records("orders");
		assertThat(records).hasSize(6)
			.allSatisfy((record) -> assertThat(headerValues(record, "tenant")).containsExactly("acme"));
	}

	@Test
	void eventsAndHandlesCarryTheTransformedMessageAndItsLabel() {
		Object label = new Object();
		List<ProducerEvent.MessageProduced> produced = new CopyOnWriteArrayList<>();
		this.producer.monitor().subscribe(ProducerEvent.MessageProduced.class, produced::add);
		this.producer.middleware().append((message) -> message.toBuilder().key("set-by-middleware").build());

		DeliveryHandle handle = this.producer
			.produceAsync(Message.builder("orders").payload("1").label(label).build());

		assertThat(handle.message().key()).isEqualTo("set-by-middleware");
		assertThat(handle.await().label()).isSameAs(label);
		assertThat(produced).singleElement()
			.satisfies((event) -> assertThat(event.message().key()).isEqualTo("set-by-middleware"));
	}

	@Test
	void middlewareRefusesANullStep() {
		assertThatNullPointerException().isThrownBy(() -> this.producer.middleware().append(null));
		assertThatNullPointerException().isThrownBy(() -> this.producer.middleware().prepend(null));
	}

	/** A step that records its name as a header, so that the order the steps ran in is on the record. */
	private static UnaryOperator<Message> step(String name) {
		return (message) -> message.toBuilder().header("step", name).build();
	}

	private static List<String> headerValues(ProducerRecord<byte[], byte[]> record, String key) {
		List<String> values = new java.util.ArrayList<>();
		for (Header header : record.headers().headers(key)) {
			values.add(new String(header.value(), StandardCharsets.UTF_8));
		}
		return values;
	}

}
