package io.waterdrop.polling;

import java.util.function.BooleanSupplier;

/**
 * The short look for work a polling thread takes before it blocks (the Poller before its selector, a
 * dispatch thread before it parks): reports that come within a few microseconds are then served without a
 * wake-up on either side. Reads the clock every 8 spins only.
 */
final class SpinWait {

	private SpinWait() {
	}

	/** Spins until {@code done} is true or {@code nanos} have passed; whether {@code done} became true. */
	static boolean until(BooleanSupplier done, long nanos) {
		long deadline = System.nanoTime() + nanos;
		int spins = 0;
		while (!done.getAsBoolean()) {
			Thread.onSpinWait();
			if ((++spins & 7) == 0 && System.nanoTime() - deadline >= 0) {
				return false;
			}
		}
		return true;
	}

}
