package io.waterdrop.polling;

/**
 * Tells whether the current thread is a WaterDrop polling thread (any Poller's, any dispatch thread). Code
 * that may block — Kafka's {@code send} waiting for metadata or buffer space — must not run on one, whichever
 * producer it serves: it would freeze every producer that thread serves.
 */
public final class PollingThreads {

	private static final ThreadLocal<Boolean> POLLING = new ThreadLocal<>();

	private PollingThreads() {
	}

	/** Whether the calling thread dispatches delivery reports. */
	public static boolean isCurrent() {
		return POLLING.get() != null;
	}

	/** Marks the calling thread, for its whole life, as a polling thread. */
	static void markCurrent() {
		POLLING.set(Boolean.TRUE);
	}

}
