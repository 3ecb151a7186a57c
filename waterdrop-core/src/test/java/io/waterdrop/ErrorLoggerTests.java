package io.waterdrop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

import io.waterdrop.instrumentation.DeliveryObserver;
import io.waterdrop.instrumentation.ErrorLogger;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.Poller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * {@link ErrorLogger} subscribed to a producer's {@code error.occurred}: what no caller necessarily saw (a
 * failed delivery of a message sent without a callback, a callback that threw) at ERROR with the exception,
 * naming the producer, the topic and a text label; a refusal thrown to the caller at DEBUG; never a payload or
 * key; a failing observer once, by the producer.
 */
@Timeout(value = 1, unit = TimeUnit.MINUTES)
class ErrorLoggerTests {

	private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

	private final MockProducer<byte[], byte[]> kafka = new MockProducer<>(false, null, new ByteArraySerializer(),
			new ByteArraySerializer());

	private Producer producer;

	private Level level;

	@BeforeEach
	void captureLogs() {
		LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
		Logger logger = context.getLogger(ErrorLogger.class);
		this.level = logger.getLevel();
		logger.setLevel(Level.DEBUG);
		this.logs.setContext(context);
		this.logs.start();
		logger.addAppender(this.logs);
		context.getLogger(Producer.class).addAppender(this.logs);
		this.producer = producer(ProducerConfig.builder());
	}

	/** What was logged about the producer under test (another test's producer may still log as it closes). */
	private List<ILoggingEvent> lines() {
		List<ILoggingEvent> all;
		synchronized (this.logs) { // the appender adds under its own lock, on the polling thread
			all = new ArrayList<>(this.logs.list);
		}
		String id = "'" + this.producer.id() + "'";
		return all.stream().filter((line) -> line.getFormattedMessage().contains(id)).toList();
	}

	private Producer producer(ProducerConfig.Builder settings) {
		if (this.producer != null) {
			this.producer.closeForcefully();
		}
		this.producer = new Producer(settings.id(TestProducers.uniqueId("error-logger"))
			.poller(Poller.global())
			.maxPayloadSize(100)
			.clientFactory((properties) -> this.kafka)
			.build());
		this.producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, new ErrorLogger());
		return this.producer;
	}

	@AfterEach
	void restore() {
		this.producer.closeForcefully();
		LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
		context.getLogger(Producer.class).detachAppender(this.logs);
		this.logs.stop();
		Logger logger = context.getLogger(ErrorLogger.class);
		logger.detachAppender(this.logs);
		logger.setLevel(this.level);
	}

	@Test
	void aFailedDeliveryOfAMessageSentWithoutACallbackIsLoggedAtErrorWithoutItsPayloadOrKey() {
		DeliveryHandle handle = this.producer.produceAsync(
				Message.builder("orders").key("secret-key").payload("secret-payload").label("order-7").build());
		this.kafka.errorNext(new RecordTooLargeException("too large (simulated)"));

		assertThatExceptionOfType(DeliveryFailedException.class).isThrownBy(() -> handle.await(Duration.ofSeconds(30)));
		await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(lines()).singleElement()
			.satisfies((line) -> {
				assertThat(line.getLevel()).isEqualTo(Level.ERROR);
				assertThat(line.getFormattedMessage()).startsWith("Producer '" + this.producer.id()
						+ "': message.delivery of a message to 'orders' (label order-7) failed: ")
					.contains("too large (simulated)");
				assertThat(line.getThrowableProxy()).isNotNull();
			}));
		assertThat(lines()).noneSatisfy((line) -> assertThat(line.getFormattedMessage())
			.containsAnyOf("secret-key", "secret-payload"));
	}

	/** A label may be a domain object, whose text could hold anything: only text, numbers and enums are shown. */
	@Test
	void aLabelThatIsNeitherTextNorANumberIsNotLogged() {
		this.producer.produceAsync(Message.builder("orders").payload("m").label(List.of("secret-label")).build());
		this.kafka.errorNext(new RecordTooLargeException("too large (simulated)"));

		await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(lines()).singleElement()
			.satisfies((line) -> assertThat(line.getFormattedMessage()).contains("message.delivery of a message to "
					+ "'orders' failed").doesNotContain("secret-label")));
	}

	/** An observer (tracing) that throws on every message is logged once at WARN, by the producer, then at DEBUG. */
	@Test
	void anObserverThatThrowsIsLoggedOnceByTheProducer() {
		Producer observed = producer(ProducerConfig.builder().observer(new DeliveryObserver() {

			@Override
			public Object beforeSend(String producerId, Message message, ProducerRecord<byte[], byte[]> record) {
				throw new IllegalStateException("observer failed (simulated)");
			}

			@Override
			public void afterOutcome(Object observation, DeliveryReport report, Throwable error) {
			}

		}));

		for (int i = 0; i < 2; i++) {
			DeliveryHandle handle = observed.produceAsync(Message.of("orders", "m"));
			this.kafka.completeNext(); // nothing left in flight for the close
			handle.await(Duration.ofSeconds(30));
		}

		assertThat(lines()).filteredOn((line) -> line.getLevel() != Level.DEBUG).singleElement().satisfies((line) -> {
			assertThat(line.getLevel()).isEqualTo(Level.WARN);
			assertThat(line.getFormattedMessage()).isEqualTo("Observer of producer '" + observed.id()
					+ "' failed before a send; later failures are logged at DEBUG");
			assertThat(line.getThrowableProxy().getMessage()).isEqualTo("observer failed (simulated)");
		});
	}

	@Test
	void aCallbackThatThrowsIsLoggedAtError() {
		this.producer.produceAsync(Message.of("orders", "m"), (report, failure) -> {
			throw new IllegalStateException("callback failed (simulated)");
		});
		this.kafka.completeNext();

		await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(lines()).singleElement()
			.satisfies((line) -> {
				assertThat(line.getLevel()).isEqualTo(Level.ERROR);
				assertThat(line.getFormattedMessage()).contains("callbacks.delivery.error")
					.contains("callback failed (simulated)");
			}));
	}

	@Test
	void aRefusalThrownToTheCallerIsLoggedAtDebugOnly() {
		assertThatExceptionOfType(InvalidMessageException.class)
			.isThrownBy(() -> this.producer.produceAsync(Message.of("orders", "x".repeat(200))));

		List<ILoggingEvent> lines = lines(); // published on the caller's thread, before the throw
		assertThat(lines).isNotEmpty().allSatisfy((line) -> assertThat(line.getLevel()).isEqualTo(Level.DEBUG));
		assertThat(lines).noneSatisfy((line) -> assertThat(line.getFormattedMessage()).contains("xxxx"));
	}

}
