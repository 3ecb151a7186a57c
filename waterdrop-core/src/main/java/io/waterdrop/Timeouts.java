package io.waterdrop;

import java.time.Duration;

/**
 * Timeouts as the producer takes them: a caller's is checked before anything is sent or closed, and every
 * one is converted to nanoseconds without overflow ({@link Duration#toNanos()} throws beyond about 292
 * years, which users write to mean "no limit").
 */
final class Timeouts {

	private Timeouts() {
	}

	/** {@code timeout}, refused if it is null or negative, naming {@code what} it is for. */
	static Duration require(Duration timeout, String what) {
		if (timeout == null) {
			throw new IllegalArgumentException("The timeout to " + what + " must not be null");
		}
		if (timeout.isNegative()) {
			throw new IllegalArgumentException("The timeout to " + what + " must not be negative but was " + timeout);
		}
		return timeout;
	}

	/** {@code timeout} in nanoseconds: 0 if negative, {@link Long#MAX_VALUE} if longer than that. */
	static long nanos(Duration timeout) {
		if (timeout.isNegative()) {
			return 0;
		}
		try {
			return timeout.toNanos();
		}
		catch (ArithmeticException ex) {
			return Long.MAX_VALUE;
		}
	}

}
