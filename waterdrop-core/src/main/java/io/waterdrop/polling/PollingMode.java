package io.waterdrop.polling;

/** How a producer's delivery reports reach user code. */
public enum PollingMode {

	/** The producer owns one dispatch thread that waits on its report queue. */
	THREAD,

	/**
	 * The producer's report queue signals a wake-up pipe, and a shared {@link Poller} thread serves every
	 * producer registered with it, each for at most its {@code maxTime} per cycle. The default.
	 */
	FD

}
