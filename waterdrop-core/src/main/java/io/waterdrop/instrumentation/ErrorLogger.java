package io.waterdrop.instrumentation;

import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs a producer's {@code error.occurred} events, as spring-kafka's {@code LoggingProducerListener} logs a
 * {@code KafkaTemplate}'s failed sends: without it a message sent asynchronously with no callback fails
 * unseen, and so does a callback that throws. Subscribe it for that one type, so that it costs nothing until
 * something fails: {@code producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, ErrorLogger.INSTANCE)};
 * the Spring starter does for every producer it manages ({@code waterdrop.log-errors}).
 * <p>
 * What no caller necessarily saw is logged at ERROR with the exception: a delivery Kafka failed, a callback
 * that threw, a transaction that could not be committed or aborted, a client rebuild, a close or the
 * statistics. Refusals thrown to the caller (a produce or flush refused, a synchronous send that failed,
 * whose delivery failure is logged as such) are logged at DEBUG only; a failing listener or observer and a
 * failed polling loop not at all: they log themselves, once. A line names the producer, the error type, the
 * message's topic and its label when that is text, a number or an enum (at most 100 characters; any other
 * label may be a domain object); payloads and keys are never logged. Thread-safe and stateless.
 */
public final class ErrorLogger implements Consumer<ProducerEvent.ErrorOccurred> {

	/** The one instance: it holds no state. */
	public static final ErrorLogger INSTANCE = new ErrorLogger();

	private static final Logger logger = LoggerFactory.getLogger(ErrorLogger.class);

	private ErrorLogger() {
	}

	@Override
	public void accept(ProducerEvent.ErrorOccurred event) {
		switch (event.type()) {
			case LISTENER, POLLER_LOOP -> {
			}
			case MESSAGE_PRODUCE_SYNC, MESSAGE_PRODUCE_ASYNC, MESSAGES_PRODUCE_MANY_SYNC, MESSAGES_PRODUCE_MANY_ASYNC,
					BUFFER_FLUSH_SYNC, BUFFER_FLUSH_ASYNC -> {
				if (logger.isDebugEnabled()) {
					logger.debug(describe(event), event.error());
				}
			}
			default -> logger.error(describe(event), event.error());
		}
	}

	private static String describe(ProducerEvent.ErrorOccurred event) {
		StringBuilder text = new StringBuilder("Producer '").append(event.producerId())
			.append("': ")
			.append(event.type().id());
		if (event.message() != null) {
			text.append(" of a message to '").append(event.message().topic()).append('\'');
		}
		Object label = event.label();
		if (label instanceof CharSequence || label instanceof Number || label instanceof Enum<?>) {
			String shown = label.toString();
			text.append(" (label ").append((shown.length() > 100) ? shown.substring(0, 100) + "..." : shown);
			text.append(')');
		}
		return text.append(" failed: ").append(event.error()).toString();
	}

}
