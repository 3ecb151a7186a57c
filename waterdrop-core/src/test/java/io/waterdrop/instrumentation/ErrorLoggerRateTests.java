package io.waterdrop.instrumentation;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import io.waterdrop.Message;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link ErrorLogger} logs at most {@value ErrorLogger#ERRORS_PER_SECOND} failed messages a second (an outage
 * fails every message in flight at once, on the polling thread), says when it reaches the limit, counts the
 * rest, and says how many it left out before the next one it logs; the producer's own failures are always
 * logged. A clock the test moves plays the time.
 */
class ErrorLoggerRateTests {

	private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

	private final AtomicLong now = new AtomicLong(1_000);

	private final ErrorLogger errorLogger = new ErrorLogger(this.now::get);

	@BeforeEach
	void captureLogs() {
		LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
		this.logs.setContext(context);
		this.logs.start();
		context.getLogger(ErrorLogger.class).addAppender(this.logs);
	}

	@AfterEach
	void detach() {
		Logger logger = ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(ErrorLogger.class);
		logger.detachAppender(this.logs);
		this.logs.stop();
	}

	@Test
	void errorsBeyondTheLimitOfASecondAreCountedAndSummedUpWhenTheNextOneIsLogged() {
		for (int i = 0; i < 25; i++) {
			this.errorLogger.accept(failed(i));
		}
		assertThat(this.logs.list).hasSize(ErrorLogger.ERRORS_PER_SECOND + 1)
			.allSatisfy((line) -> assertThat(line.getLevel()).isEqualTo(Level.ERROR));
		assertThat(this.logs.list.get(9).getFormattedMessage()).contains("(label 9)");
		assertThat(this.logs.list.get(10).getFormattedMessage()).isEqualTo("Producer 'orders': 10 failed messages "
				+ "in a second; more this second are counted, not logged (error.occurred listeners and the "
				+ "waterdrop.messages.failed meter see them all)");

		this.now.addAndGet(TimeUnit.MILLISECONDS.toNanos(999)); // still the same second
		this.errorLogger.accept(failed(25));
		// The producer's own failure is logged whatever the count.
		this.errorLogger.accept(new ProducerEvent.ErrorOccurred("orders", ErrorType.PRODUCER_CLOSE,
				new IllegalStateException("close failed"), null, null));
		assertThat(this.logs.list).hasSize(ErrorLogger.ERRORS_PER_SECOND + 2);
		assertThat(this.logs.list.get(11).getFormattedMessage()).contains("producer.close");

		this.now.addAndGet(TimeUnit.MILLISECONDS.toNanos(1));
		this.errorLogger.accept(failed(26));

		assertThat(this.logs.list).hasSize(ErrorLogger.ERRORS_PER_SECOND + 4);
		assertThat(this.logs.list.get(12).getFormattedMessage())
			.isEqualTo("Producer 'orders': 16 more failed message(s) were not logged");
		assertThat(this.logs.list.get(13).getFormattedMessage()).contains("(label 26)");
	}

	/** A fenced producer that is not rebuilt reports a rebuild it may not do for every transaction it is asked. */
	@Test
	void aFencedProducersRefusedRebuildsCountAgainstTheLimit() {
		for (int i = 0; i < 25; i++) {
			this.errorLogger.accept(new ProducerEvent.ErrorOccurred("orders", ErrorType.PRODUCER_RELOAD,
					new IllegalStateException("fenced"), null, null));
		}
		assertThat(this.logs.list).hasSize(ErrorLogger.ERRORS_PER_SECOND + 1);
	}

	@Test
	void refusalsThrownToTheCallerAreNotCounted() {
		for (int i = 0; i < 25; i++) {
			this.errorLogger.accept(new ProducerEvent.ErrorOccurred("orders", ErrorType.MESSAGE_PRODUCE_ASYNC,
					new IllegalStateException("refused"), null, null));
		}
		this.errorLogger.accept(failed(0));

		assertThat(this.logs.list).filteredOn((line) -> line.getLevel() == Level.ERROR).singleElement()
			.satisfies((line) -> assertThat(line.getFormattedMessage()).contains("message.delivery"));
	}

	private static ProducerEvent.ErrorOccurred failed(int label) {
		return new ProducerEvent.ErrorOccurred("orders", ErrorType.DELIVERY, new IllegalStateException("down"),
				Message.of("t", "m"), label);
	}

}
