package io.waterdrop.autoconfigure.health;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.convert.DurationStyle;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

import io.waterdrop.Producer;
import io.waterdrop.ProducerStatus;
import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.PollingMode;

/**
 * Health of one producer, from state it caches: never a call to the broker.
 * <ul>
 * <li>{@code UP}: connected and dispatching.</li>
 * <li>{@code DOWN}: connected, but deliveries (or the connects of a disconnected producer: its Kafka client
 * cannot be created; or a transactional producer's transactions: commits, rebuilds after a fatal error such as
 * being fenced) have kept failing for longer than the failure window: nothing succeeded since the first of
 * those failures — no message acknowledged, or for a transactional producer no transaction committed — and the
 * last one within the window (the next success, or a window without failures, makes it {@code UP} again: a
 * producer that fails once and then has nothing to send is not down for good, which a readiness group would
 * never recover from); or its Poller's thread is not running (it died), so no report is dispatched.</li>
 * <li>{@code OUT_OF_SERVICE}: closing or closed.</li>
 * <li>{@code UNKNOWN}: not connected yet (or {@code DOWN}, as above, when its connects have kept failing).</li>
 * </ul>
 * Details: mode, poller, status, in-flight messages, pending reports, and what is known of deliveries: the
 * last acknowledgement, failures since it, since when, and the last failure's Kafka exception (class and
 * message).
 * <p>
 * Cost: nothing per acknowledged message. Acknowledgements are read from the producer's counters when
 * health is asked for ({@code lastAcknowledged} from {@link io.waterdrop.ProducerStats#lastAcknowledged()});
 * only {@code error.occurred} events are listened to, and a transactional producer's
 * {@code transaction.committed}.
 * <p>
 * Threading: the listener records failures on the thread they happen on (dispatching a delivery report,
 * connecting), one at a time; {@link #health()} reads the recorded values from any thread, each exact,
 * together not a snapshot, and writes none of them.
 */
final class ProducerHealthIndicator implements HealthIndicator {

	/** The failures a run counts: what keeps a producer from getting messages to Kafka. */
	private static final Set<ErrorType> FAILURES = EnumSet.of(ErrorType.DELIVERY, ErrorType.PRODUCER_CONNECT,
			ErrorType.TRANSACTION_COMMIT, ErrorType.PRODUCER_RELOAD);

	private static final List<ChronoUnit> UNITS = List.of(ChronoUnit.DAYS, ChronoUnit.HOURS, ChronoUnit.MINUTES,
			ChronoUnit.SECONDS, ChronoUnit.MILLIS, ChronoUnit.MICROS);

	private final Producer producer;

	private final Duration failureWindow;

	private final Clock clock;

	/** The current run of failures; {@code null} while none failed. One value, read whole by health checks. */
	private volatile @Nullable FailureRun run;

	/** Held while a failure updates the run; health checks read it without. */
	private final ReentrantLock runLock = new ReentrantLock();

	private volatile @Nullable LastError lastError;

	/** Transactions committed, for a transactional producer: its successes, which its acknowledgements are not. */
	private final AtomicLong committed = new AtomicLong();

	ProducerHealthIndicator(Producer producer, Duration failureWindow, Clock clock) {
		this.producer = producer;
		this.failureWindow = failureWindow;
		this.clock = clock;
		producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, this::onError);
		if (producer.transactional()) {
			producer.monitor()
				.subscribe(ProducerEvent.TransactionCommitted.class, (event) -> this.committed.incrementAndGet());
		}
	}

	/**
	 * What ends a run of failures: a message acknowledged, or for a transactional producer a transaction
	 * committed (its messages are acknowledged before a commit that may still fail).
	 */
	private long successes() {
		return this.producer.transactional() ? this.committed.get() : this.producer.stats().acknowledged();
	}

	Producer producer() {
		return this.producer;
	}

	private void onError(ProducerEvent.ErrorOccurred error) {
		// A connect that fails (a disconnected producer's Kafka client cannot be created) fails every message
		// sent meanwhile before it reaches Kafka: a failure of the same run.
		if (!FAILURES.contains(error.type())) {
			return;
		}
		Instant now = this.clock.instant();
		// Kafka's exception, which the DeliveryFailedException wraps, says what went wrong.
		Throwable cause = (error.error().getCause() != null) ? error.error().getCause() : error.error();
		// Deliveries fail on the polling thread, connects on callers': one writes the run at a time.
		this.runLock.lock();
		try {
			LastError previous = this.lastError;
			FailureRun current = this.run;
			long successes = successes();
			// A run of failures ends with a success, or with a window without failures. The run is written before
			// the last error, so that a health check in between never pairs an old run with a new error.
			this.run = (current == null || successes != current.successes() || previous == null
					|| Duration.between(previous.at(), now).compareTo(this.failureWindow) > 0)
							? new FailureRun(now, successes, 1) : current.plusOne();
			this.lastError = new LastError(cause.getClass().getName(), cause.getMessage(), now, error.type());
		}
		finally {
			this.runLock.unlock();
		}
	}

	/** The current run of failures; {@code null} if none failed, or something succeeded since. */
	private @Nullable FailureRun failing() {
		FailureRun current = this.run;
		return (current != null && successes() == current.successes()) ? current : null;
	}

	@Override
	public Health health() {
		ProducerStatus status = this.producer.status();
		Health.Builder builder = switch (status) {
			case CONFIGURED -> neverConnectedHealth();
			case CONNECTED, DISCONNECTED -> connectedHealth(status);
			case CLOSING, CLOSED -> Health.outOfService();
		};
		return builder.withDetails(details(status)).build();
	}

	private Health.Builder connectedHealth(ProducerStatus status) {
		if (this.producer.hasLostPolling()) {
			return Health.down()
				.withDetail("reason", "its polling thread died, so it refuses every message; close it and create "
						+ "a new one (restart the application for a producer bean)");
		}
		// A disconnected producer has let go of its Poller, whose thread ends when it serves nobody else.
		// Looked at again after the second look at the status: a disconnect and a reconnect between the first
		// two looks (the reconnect registers, starting the thread, before it is CONNECTED) are not taken for a
		// stopped Poller.
		if (status == ProducerStatus.CONNECTED && this.producer.config().pollingMode() == PollingMode.FD
				&& !this.producer.config().poller().isRunning()
				&& this.producer.status() == ProducerStatus.CONNECTED // not disconnected since the first look
				&& !this.producer.config().poller().isRunning()) {
			return Health.down()
				.withDetail("reason", "the thread of Poller '" + this.producer.config().poller().name()
						+ "' is not running, so no delivery report is dispatched");
		}
		Health.Builder failing = failingTooLong();
		return (failing != null) ? failing : Health.up();
	}

	/**
	 * Not connected yet: unknown, unless its first connects have kept failing (a runtime producer whose template
	 * names no reachable broker, say, which refuses every message), which is as down as a connected one failing.
	 */
	private Health.Builder neverConnectedHealth() {
		Health.Builder failing = failingTooLong();
		return (failing != null) ? failing : Health.unknown();
	}

	/** {@code DOWN} if failures have kept on for longer than the failure window, else {@code null}. */
	private Health.@Nullable Builder failingTooLong() {
		// The last error first: written after its run, so the run read next is that one or a newer one.
		LastError last = this.lastError;
		FailureRun run = failing();
		Instant now = this.clock.instant();
		if (run != null && last != null && Duration.between(run.since(), now).compareTo(this.failureWindow) > 0
				&& Duration.between(last.at(), now).compareTo(this.failureWindow) <= 0) {
			String what = switch (last.type()) {
				case PRODUCER_CONNECT -> "connecting (creating its Kafka client) has";
				case DELIVERY -> "deliveries have";
				case PRODUCER_RELOAD -> "rebuilds of its Kafka client after a fatal error (being fenced, say) have";
				default -> "transactions (their commits) have";
			};
			return Health.down()
				.withDetail("reason", what + " kept failing for longer than the failure window ("
						+ duration(this.failureWindow) + ") with "
						+ (this.producer.transactional() ? "no transaction committed" : "no message acknowledged"));
		}
		return null;
	}

	private Map<String, Object> details(ProducerStatus status) {
		Map<String, Object> details = new LinkedHashMap<>();
		details.put("mode", this.producer.config().pollingMode().name().toLowerCase(Locale.ROOT));
		String poller = (this.producer.config().pollingMode() == PollingMode.FD)
				? this.producer.config().poller().name() : this.producer.pollerName();
		if (poller != null) {
			details.put("poller", poller);
		}
		details.put("status", status.name());
		details.put("inFlight", this.producer.inFlight());
		details.put("pendingReports", this.producer.queueSize());
		Instant acknowledged = this.producer.stats().lastAcknowledged();
		if (acknowledged != null) {
			details.put("lastAcknowledged", acknowledged.toString());
		}
		FailureRun failing = failing();
		if (failing != null) {
			details.put("failingSince", failing.since().toString());
			details.put("failuresSinceAcknowledged", failing.failures());
		}
		LastError error = this.lastError;
		if (error != null) {
			details.put("lastError", error.asMap());
		}
		return details;
	}

	/** A duration as the properties write it, in its largest exact unit: {@code 200ms}, {@code 1m}. */
	private static String duration(Duration duration) {
		for (ChronoUnit unit : UNITS) {
			if (duration.toNanos() % unit.getDuration().toNanos() == 0) {
				return DurationStyle.SIMPLE.print(duration, unit);
			}
		}
		return DurationStyle.SIMPLE.print(duration, ChronoUnit.NANOS);
	}

	/** A run of failures: since when, the successes counted then (more since end it), and how many. */
	private record FailureRun(Instant since, long successes, long failures) {

		FailureRun plusOne() {
			return new FailureRun(this.since, this.successes, this.failures + 1);
		}

	}

	/** The Kafka exception of the last failure, and what failed. */
	private record LastError(String exception, @Nullable String message, Instant at, ErrorType type) {

		Map<String, Object> asMap() {
			Map<String, Object> map = new LinkedHashMap<>();
			map.put("type", this.exception);
			if (this.message != null) {
				map.put("message", this.message);
			}
			map.put("at", this.at.toString());
			return map;
		}

	}

}
