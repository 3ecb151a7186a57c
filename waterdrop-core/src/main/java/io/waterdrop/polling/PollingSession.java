package io.waterdrop.polling;

import java.util.concurrent.CompletableFuture;

/**
 * A producer's attachment to the thread that dispatches its reports: a {@link Poller} registration in fd
 * mode, its own {@link DispatchThread} in thread mode. Thread-safe.
 */
public interface PollingSession {

	/** The mode this session implements. */
	PollingMode mode();

	/** Name of the Poller ({@code fd}) or of the producer ({@code thread}). */
	String pollerName();

	/** Whether the calling thread is the one that dispatches this producer's reports. */
	boolean isPollingThread();

	/**
	 * Stops dispatching for this producer once every report queued so far is dispatched, and releases its
	 * resources (pipe, selector key, thread). Idempotent.
	 * @return completes when the polling thread no longer serves the producer
	 */
	CompletableFuture<Void> detach();

}
