package io.waterdrop.instrumentation;

import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs a producer's {@code error.occurred} events, as spring-kafka's {@code LoggingProducerListener} logs a
 * {@code KafkaTemplate}'s failed sends: without it a message sent asynchronously with no callback fails
 * unseen, and so does a callback that throws. Subscribe it for that one type, so that it costs nothing until
 * something fails: {@code producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, new ErrorLogger())},
 * one per producer; the Spring starter does for every producer it manages ({@code waterdrop.log-errors}).
 * <p>
 * What no caller necessarily saw is logged at ERROR with the exception: a delivery Kafka failed, a callback
 * that threw, a transaction that could not be committed or aborted, a Kafka client that could not be created
 * (a connect) or rebuilt, a close or the statistics. Refusals thrown to the caller (a produce or flush
 * refused, a synchronous send that failed, whose delivery failure is logged as such) are logged at DEBUG
 * only; a failing listener or observer and a failed polling loop not at all: they log themselves, once. A
 * line names the producer, the error type, the message's topic and its label when that is text, a number or
 * an enum (at most 100 characters; any other label may be a domain object); payloads and keys are never
 * logged.
 * <p>
 * At most {@value #ERRORS_PER_SECOND} lines a second for the errors that can come one per message (failed
 * deliveries, throwing callbacks, failed connects: each message sent to a disconnected producer tries one; a
 * fenced transactional producer's rebuilds it may not do: each message in a transaction of its own is refused):
 * when a broker outage fails every message in flight at once, the rest are counted, not each logged with its
 * stack trace on the polling thread, which every producer it serves waits for; a line says when the limit
 * is reached, and the next one logged says how many were left out. Meters
 * and listeners still see every error. The producer's other failures (a transaction command, a close, the
 * statistics) are always logged. Thread-safe: events come from the polling thread and from
 * callers (a transaction's commit, a close).
 */
public final class ErrorLogger implements Consumer<ProducerEvent.ErrorOccurred> {

	/** Lines logged in a second for the errors that come one per message, at most; more are counted only. */
	static final int ERRORS_PER_SECOND = 10;

	private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

	private static final Logger logger = LoggerFactory.getLogger(ErrorLogger.class);

	private final LongSupplier nanoClock;

	private final Object lock = new Object();

	/** Start of the current second, by {@link #nanoClock}; guarded by {@link #lock}. */
	private long windowStart;

	/** ERROR lines logged in the current second; guarded by {@link #lock}. */
	private int logged;

	/** ERROR lines left out since the last one logged; guarded by {@link #lock}. */
	private long leftOut;

	/** An error logger for one producer. */
	public ErrorLogger() {
		this(System::nanoTime);
	}

	ErrorLogger(LongSupplier nanoClock) {
		this.nanoClock = nanoClock;
		this.windowStart = nanoClock.getAsLong();
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
			case DELIVERY, CALLBACK, PRODUCER_CONNECT, PRODUCER_RELOAD -> logPerMessageError(event);
			default -> logger.error(describe(event), event.error());
		}
	}

	private void logPerMessageError(ProducerEvent.ErrorOccurred event) {
		long before;
		boolean last;
		synchronized (this.lock) { // a few fields, no call out: the polling thread never waits long here
			long now = this.nanoClock.getAsLong();
			if (now - this.windowStart >= SECOND) {
				this.windowStart = now;
				this.logged = 0;
			}
			if (this.logged == ERRORS_PER_SECOND) {
				this.leftOut++;
				return;
			}
			this.logged++;
			last = this.logged == ERRORS_PER_SECOND;
			before = this.leftOut;
			this.leftOut = 0;
		}
		if (before > 0) {
			logger.error("Producer '{}': {} more failed message(s) were not logged", event.producerId(), before);
		}
		logger.error(describe(event), event.error());
		if (last) {
			logger.error("Producer '{}': {} failed messages in a second; more this second are counted, not logged "
					+ "(error.occurred listeners and the waterdrop.messages.failed meter see them all)",
					event.producerId(), ERRORS_PER_SECOND);
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
