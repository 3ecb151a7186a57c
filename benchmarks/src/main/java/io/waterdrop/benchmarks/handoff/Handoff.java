package io.waterdrop.benchmarks.handoff;

/**
 * One way of handing a report from the thread that receives it (Kafka's network thread) to the thread
 * that dispatches it, with a consumer that only counts.
 */
interface Handoff extends AutoCloseable {

	/** Hands one report over; called by one thread only. */
	void offer(Object report);

	/** Reports the dispatching thread has consumed so far. */
	long dispatched();

	/** Stops the dispatching thread. */
	@Override
	void close();

	/** Creates the hand-off named by the benchmark's {@code path} parameter. */
	static Handoff create(String path) {
		return switch (path) {
			case "thread" -> new ThreadHandoff();
			case "fd" -> new FdHandoff();
			case "executor" -> new ExecutorHandoff();
			case "lean" -> new LeanHandoff();
			default -> throw new IllegalArgumentException("Unknown hand-off path " + path);
		};
	}

}
