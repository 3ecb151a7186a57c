package io.waterdrop.polling;

/**
 * Wakes the thread that drains a {@link ReportQueue}. Called by the queue on its empty → non-empty edge,
 * from whatever thread enqueued (usually Kafka's network thread): implementations must be thread-safe,
 * must not block and must not throw.
 */
@FunctionalInterface
public interface Wakeup {

	void signal();

}
