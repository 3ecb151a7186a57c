package io.waterdrop.polling;

import java.math.BigDecimal;
import java.time.Duration;

import io.waterdrop.InvalidConfigurationException;

/**
 * Settings of one {@link Poller}.
 *
 * @param name the Poller's name, part of its thread's name and of its metrics tags
 * @param pollTimeout how long the selector waits without a signal before the periodic work runs anyway
 * (at least 1 ms, default 1 s)
 * @param backoffMin first pause after a polling-loop failure (at least 1 ms, default 100 ms)
 * @param backoffMax longest pause after consecutive failures (at least {@code backoffMin}, default 30 s)
 */
public record PollerConfig(String name, Duration pollTimeout, Duration backoffMin, Duration backoffMax) {

	public static final Duration DEFAULT_POLL_TIMEOUT = Duration.ofSeconds(1);

	public static final Duration DEFAULT_BACKOFF_MIN = Duration.ofMillis(100);

	public static final Duration DEFAULT_BACKOFF_MAX = Duration.ofSeconds(30);

	/**
	 * The longest poll timeout or back-off: a longer one means "never" anyway, and the loops' nanosecond
	 * arithmetic would overflow (from about 292 years, {@link Duration#toNanos()} throws).
	 */
	public static final Duration LONGEST = Duration.ofDays(1);

	public PollerConfig {
		if (name == null || name.isBlank()) {
			throw new InvalidConfigurationException("poller.name", "a Poller needs a non-blank name",
					"Give the Poller a name such as 'critical'.");
		}
		requireBetween("poll-timeout", pollTimeout, Duration.ofMillis(1));
		requireAtLeast("backoff-min", backoffMin, Duration.ofMillis(1));
		requireBetween("backoff-max", backoffMax, backoffMin);
	}

	/** Defaults with the given name. */
	public static PollerConfig named(String name) {
		return new PollerConfig(name, DEFAULT_POLL_TIMEOUT, DEFAULT_BACKOFF_MIN, DEFAULT_BACKOFF_MAX);
	}

	public PollerConfig withPollTimeout(Duration pollTimeout) {
		return new PollerConfig(this.name, pollTimeout, this.backoffMin, this.backoffMax);
	}

	public PollerConfig withBackoff(Duration min, Duration max) {
		return new PollerConfig(this.name, this.pollTimeout, min, max);
	}

	static void requireAtLeast(String property, Duration value, Duration minimum) {
		if (value == null || value.compareTo(minimum) < 0) {
			throw new InvalidConfigurationException(property,
					"must be at least " + describe(minimum) + " but was " + describe(value),
					"Set it to " + describe(minimum) + " or more.");
		}
	}

	/** At least {@code minimum}, at most {@link #LONGEST}. */
	static void requireBetween(String property, Duration value, Duration minimum) {
		requireAtLeast(property, value, minimum);
		if (value.compareTo(LONGEST) > 0) {
			throw new InvalidConfigurationException(property, "must be at most 1 day but was " + describe(value),
					"Set it to 1d or less.");
		}
	}

	/** Milliseconds, exact: 0.5 ms is not "0 ms" (which would contradict a rule of at least 1 ms). */
	static String describe(Duration value) {
		if (value == null) {
			return "not set";
		}
		return BigDecimal.valueOf(value.getSeconds())
			.scaleByPowerOfTen(3)
			.add(BigDecimal.valueOf(value.getNano(), 6))
			.stripTrailingZeros()
			.toPlainString() + " ms";
	}

}
