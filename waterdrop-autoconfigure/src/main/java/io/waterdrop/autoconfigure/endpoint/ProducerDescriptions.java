package io.waterdrop.autoconfigure.endpoint;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.convert.DurationStyle;

import io.waterdrop.Producer;
import io.waterdrop.polling.PollingMode;

/**
 * How the endpoint names a producer's polling mode and the thread serving it, and
 * write durations.
 */
final class ProducerDescriptions {

	private static final List<ChronoUnit> UNITS = List.of(ChronoUnit.DAYS, ChronoUnit.HOURS, ChronoUnit.MINUTES,
			ChronoUnit.SECONDS, ChronoUnit.MILLIS, ChronoUnit.MICROS, ChronoUnit.NANOS);

	private ProducerDescriptions() {
	}

	/** {@code fd} or {@code thread}, as in the properties. */
	static String mode(Producer producer) {
		return producer.config().pollingMode().name().toLowerCase(Locale.ROOT);
	}

	/**
	 * Name of the Poller serving an fd-mode producer, or of a thread-mode producer's dispatch thread once it
	 * is connected ({@code null} before).
	 */
	static @Nullable String poller(Producer producer) {
		if (producer.config().pollingMode() == PollingMode.FD) {
			return producer.config().poller().name();
		}
		return producer.pollerName();
	}

	/** A duration as the properties write it, in its largest exact unit: {@code 200ms}, {@code 1s}, {@code 1m}. */
	static String duration(Duration duration) {
		if (duration.isZero()) {
			return "0ms";
		}
		long nanos = duration.toNanos();
		for (ChronoUnit unit : UNITS) {
			if (nanos % unit.getDuration().toNanos() == 0) {
				return DurationStyle.SIMPLE.print(duration, unit);
			}
		}
		throw new IllegalStateException("Unreachable: every duration is a whole number of nanoseconds");
	}

}
