package io.waterdrop.polling;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tells whether the current thread is a WaterDrop polling thread (any Poller's, any dispatch thread, or a
 * closing thread while it dispatches the last reports of a producer whose polling thread died). Code
 * that may block — Kafka's {@code send} waiting for metadata or buffer space — must not run on one, whichever
 * producer it serves: it would freeze every producer that thread serves.
 * <p>
 * A set of the live polling threads rather than a thread-local: asking a thread-local on a thread that never
 * set it gives that thread a thread-local map, which each of thousands of virtual threads producing once
 * would pay for.
 */
public final class PollingThreads {

	private static final Set<Thread> POLLING = ConcurrentHashMap.newKeySet();

	private PollingThreads() {
	}

	/** Whether the calling thread dispatches delivery reports. */
	public static boolean isCurrent() {
		return POLLING.contains(Thread.currentThread());
	}

	/**
	 * Runs {@code dispatch} on the calling thread as on a polling thread, which it is for that time: a producer
	 * whose polling thread died dispatches its last reports on the thread that closes it, and what their
	 * callbacks do there (a close, a send) must be handed on as on a polling thread; and a close's flush of
	 * the buffer, which must not wait, hands its sends on the same way. Internal, for a producer's close;
	 * re-entrant (a thread already polling stays marked). Meanwhile the thread counts as polling for every
	 * producer.
	 */
	public static void runAsPollingThread(Runnable dispatch) {
		boolean marked = POLLING.add(Thread.currentThread());
		try {
			dispatch.run();
		}
		finally {
			if (marked) {
				POLLING.remove(Thread.currentThread());
			}
		}
	}

	/** Marks the calling thread as a polling thread, until {@link #unmarkCurrent()}. */
	static void markCurrent() {
		POLLING.add(Thread.currentThread());
	}

	/** The calling polling thread is ending. */
	static void unmarkCurrent() {
		POLLING.remove(Thread.currentThread());
	}

}
