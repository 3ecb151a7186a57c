package io.waterdrop.instrumentation;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes a producer's events to its listeners.
 * <p>
 * Threading: thread-safe. Subscribing and unsubscribing may happen at any time from any thread;
 * {@link #publish(Event)} runs the listeners on the calling thread, in subscription order. Publishing
 * with no listener costs one volatile read, so hot paths need not check first.
 */
public final class Monitor {

	private static final Logger logger = LoggerFactory.getLogger(Monitor.class);

	private final String producerId;

	private final List<Subscription> subscriptions = new CopyOnWriteArrayList<>();

	public Monitor(String producerId) {
		this.producerId = producerId;
	}

	/** Subscribes to every event. Close the returned subscription to stop receiving them. */
	public Subscription subscribe(EventListener listener) {
		return add(new Subscription(Event.class, listener));
	}

	/** Subscribes to events of one type, e.g. {@code ProducerEvent.MessageAcknowledged.class}. */
	public <E extends Event> Subscription subscribe(Class<E> type, Consumer<? super E> listener) {
		return add(new Subscription(type, (event) -> listener.accept(type.cast(event))));
	}

	private Subscription add(Subscription subscription) {
		this.subscriptions.add(subscription);
		return subscription;
	}

	/** Whether any listener would receive an event of the given type. */
	public boolean isListening(Class<? extends Event> type) {
		for (Subscription subscription : this.subscriptions) {
			if (subscription.type.isAssignableFrom(type)) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Delivers the event to every listener subscribed to its type. A listener that throws is reported to
	 * the others as {@code error.occurred} of type {@link ErrorType#LISTENER}; the rest still run.
	 */
	public void publish(Event event) {
		for (Subscription subscription : this.subscriptions) {
			if (subscription.type.isInstance(event)) {
				try {
					subscription.listener.onEvent(event);
				}
				catch (Throwable ex) {
					listenerFailed(subscription, event, ex);
				}
			}
		}
	}

	private void listenerFailed(Subscription failed, Event event, Throwable error) {
		logger.warn("Listener of producer '{}' failed on {}", this.producerId, event.name(), error);
		if (event instanceof ProducerEvent.ErrorOccurred reported && reported.type() == ErrorType.LISTENER) {
			return; // an error about a failing listener that fails again: stop here, it is logged
		}
		ProducerEvent.ErrorOccurred report = new ProducerEvent.ErrorOccurred(this.producerId, ErrorType.LISTENER,
				error, null, null);
		for (Subscription subscription : this.subscriptions) {
			if (subscription != failed && subscription.type.isInstance(report)) {
				try {
					subscription.listener.onEvent(report);
				}
				catch (Throwable ex) {
					logger.warn("Listener of producer '{}' failed on {}", this.producerId, report.name(), ex);
				}
			}
		}
	}

	/** A listener's registration; {@link #close()} unsubscribes it. */
	public final class Subscription implements AutoCloseable {

		private final Class<? extends Event> type;

		private final EventListener listener;

		private Subscription(Class<? extends Event> type, EventListener listener) {
			this.type = type;
			this.listener = listener;
		}

		@Override
		public void close() {
			Monitor.this.subscriptions.remove(this);
		}

	}

}
