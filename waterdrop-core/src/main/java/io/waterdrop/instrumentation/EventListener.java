package io.waterdrop.instrumentation;

/**
 * Receives events from a {@link Monitor}.
 * <p>
 * Listeners run on the thread that publishes the event: the Poller (or dispatch) thread for delivery
 * events, the calling thread for {@code message.produced_*}. Keep them short; a listener that throws is
 * reported as {@code error.occurred} (type {@code callbacks.listener.error}), logged (its first failure at
 * WARN, later ones at DEBUG) and never stops dispatch.
 */
@FunctionalInterface
public interface EventListener {

	void onEvent(Event event);

}
