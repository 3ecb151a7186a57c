package io.waterdrop.polling;

import java.time.Duration;

import io.waterdrop.instrumentation.Monitor;

/**
 * What a polling thread serves: one producer's report dispatch and periodic work. Every method is called
 * only by the polling thread currently serving it.
 */
public interface Pollable {

	/** Id of the producer, for thread names, events and logs. */
	String id();

	/** Longest time one {@link #drain} may take before other producers are served. */
	Duration maxTime();

	/**
	 * Shortest time one {@link #drain} runs before it yields to another producer that signalled meanwhile
	 * (capped at {@link #maxTime()}).
	 */
	default Duration minTime() {
		return maxTime();
	}

	/** Where events about this producer's polling are published. */
	Monitor monitor();

	/**
	 * Dispatches waiting reports until none is left or {@code slice} is over.
	 * @return {@code true} if none is left, {@code false} if the slice stopped it (call again soon, without
	 * waiting for a signal)
	 */
	boolean drain(DrainSlice slice);

	/** Time-driven work (statistics and the like); called at least every polling timeout. */
	void periodic(long nowNanos);

	/**
	 * When {@link #periodic} next has work to do, as a {@code System.nanoTime()} value, so that an idle polling
	 * thread wakes for it instead of sleeping a whole polling timeout; {@link Long#MAX_VALUE} if nothing is
	 * due before then.
	 */
	default long nextPeriodicNanos() {
		return Long.MAX_VALUE;
	}

	/**
	 * The polling thread stopped serving this producer for good without it asking (the thread died); the
	 * producer must release whoever waits for dispatch.
	 */
	void pollingTerminated(Throwable cause);

}
