package io.waterdrop.instrumentation;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes a producer's events to its listeners, and each acknowledged message's latency to its latency
 * recorders.
 * <p>
 * Threading: thread-safe. Subscribing and unsubscribing may happen at any time from any thread;
 * {@link #publish(Event)} and {@link #recordLatency(long)} run the listeners on the calling thread, in
 * subscription order.
 * <p>
 * Cost: the monitor keeps a bit per concrete event type that some listener receives, and
 * {@link #LATENCY_BIT} while a latency recorder is subscribed, recomputed on (un)subscription. Hot paths ask
 * {@link #wants(long)} with the bits they serve (one volatile read) and build an event, or take a timestamp,
 * only when it is wanted; {@link #publish} itself walks the listeners. A latency recorder (a timer, a
 * histogram) receives a number, not an event: no object is built per message for it.
 */
public final class Monitor {

	private static final Logger logger = LoggerFactory.getLogger(Monitor.class);

	private final String producerId;

	/** The concrete (record) event types, each with its bit in {@link #wanted}. */
	private static final ClassValue<Long> BITS = new ClassValue<>() {
		@Override
		protected Long computeValue(Class<?> type) {
			int index = CONCRETE_TYPES.indexOf(type);
			return (index >= 0) ? 1L << index : 0L;
		}
	};

	private static final List<Class<?>> CONCRETE_TYPES = concreteTypes(Event.class);

	/**
	 * The bit {@link #wants(long)} reports while a latency recorder is subscribed; above the event types'
	 * bits.
	 */
	public static final long LATENCY_BIT = 1L << (Long.SIZE - 1);

	private final List<Subscription> subscriptions = new CopyOnWriteArrayList<>();

	private final List<Subscription> latencyRecorders = new CopyOnWriteArrayList<>();

	/** Bits of the event types at least one listener receives, and {@link #LATENCY_BIT}. */
	private volatile long wanted;

	public Monitor(String producerId) {
		this.producerId = producerId;
	}

	/** Subscribes to every event. Close the returned subscription to stop receiving them. */
	public Subscription subscribe(EventListener listener) {
		return add(this.subscriptions, new Subscription(Event.class, listener, null));
	}

	/** Subscribes to events of one type, e.g. {@code ProducerEvent.MessageAcknowledged.class}. */
	public <E extends Event> Subscription subscribe(Class<E> type, Consumer<? super E> listener) {
		return add(this.subscriptions, new Subscription(type, (event) -> listener.accept(type.cast(event)), null));
	}

	/**
	 * Subscribes a recorder of the latency of every acknowledged message, in nanoseconds from the produce
	 * call to the dispatch of its acknowledgement, on the polling thread. Messages produced before the
	 * recorder was subscribed are not recorded (their produce time was not taken).
	 */
	public Subscription subscribeLatency(LongConsumer recorder) {
		return add(this.latencyRecorders, new Subscription(null, null, recorder));
	}

	private Subscription add(List<Subscription> list, Subscription subscription) {
		list.add(subscription);
		recomputeWanted();
		return subscription;
	}

	private synchronized void recomputeWanted() {
		long bits = 0;
		for (Subscription subscription : this.subscriptions) {
			for (Class<?> type : CONCRETE_TYPES) {
				if (subscription.type.isAssignableFrom(type)) {
					bits |= bit(type);
				}
			}
		}
		if (!this.latencyRecorders.isEmpty()) {
			bits |= LATENCY_BIT;
		}
		this.wanted = bits;
	}

	/** The bit of a concrete event type (a record of {@link ProducerEvent} or {@link PollerEvent}). */
	public static long bit(Class<?> eventType) {
		long bit = BITS.get(eventType);
		if (bit == 0) {
			throw new IllegalArgumentException(eventType + " is not a concrete event type");
		}
		return bit;
	}

	/**
	 * Whether any listener receives events of a type among the given {@link #bit}s (or'ed together, with
	 * {@link #LATENCY_BIT} for latency recorders): one volatile read.
	 */
	public boolean wants(long bits) {
		return (this.wanted & bits) != 0;
	}

	/** Whether any listener would receive an event of the given concrete type. */
	public boolean isListening(Class<? extends Event> type) {
		return wants(bit(type));
	}

	/** The records among the sealed event hierarchy below {@code root}, in a fixed order (at most 63). */
	private static List<Class<?>> concreteTypes(Class<?> root) {
		List<Class<?>> found = new java.util.ArrayList<>();
		collect(root, found);
		if (found.size() >= Long.SIZE) {
			throw new IllegalStateException("More than 63 event types: the bit mask needs widening");
		}
		return List.copyOf(found);
	}

	private static void collect(Class<?> type, List<Class<?>> found) {
		if (type.isSealed()) {
			for (Class<?> permitted : type.getPermittedSubclasses()) {
				collect(permitted, found);
			}
		}
		else if (!type.isInterface()) {
			found.add(type);
		}
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

	/**
	 * Gives the latency of an acknowledged message to every latency recorder. One that throws is reported to
	 * the event listeners as {@code error.occurred} of type {@link ErrorType#LISTENER}; the rest still run.
	 */
	public void recordLatency(long nanos) {
		for (Subscription recorder : this.latencyRecorders) {
			try {
				recorder.latencyRecorder.accept(nanos);
			}
			catch (Throwable ex) {
				logFailure(recorder, "Latency recorder", "a latency", ex);
				reportListenerFailure(null, ex);
			}
		}
	}

	private void listenerFailed(Subscription failed, Event event, Throwable error) {
		logFailure(failed, "Listener", event.name(), error);
		if (event instanceof ProducerEvent.ErrorOccurred reported && reported.type() == ErrorType.LISTENER) {
			return; // an error about a failing listener that fails again: stop here, it is logged
		}
		reportListenerFailure(failed, error);
	}

	/**
	 * Logs a listener's or recorder's failure: its first at WARN, later ones at DEBUG, since one that fails on
	 * every message would flood the log from the polling thread; {@code error.occurred} reports each.
	 */
	private void logFailure(Subscription failed, String what, String on, Throwable error) {
		try {
			if (!failed.failureLogged) {
				failed.failureLogged = true; // a race may log two: harmless
				logger.warn("{} of producer '{}' failed on {}; its later failures are logged at DEBUG", what,
						this.producerId, on, error);
			}
			else {
				logger.debug("{} of producer '{}' failed on {}", what, this.producerId, on, error);
			}
		}
		catch (RuntimeException ex) {
			// The logging backend failed (on the error's own message, say): error.occurred still reports it,
			// and a publish on the polling thread must not fail the dispatch of a report.
		}
	}

	/** Tells the listeners other than the failed one (if any) that a listener failed. */
	private void reportListenerFailure(Subscription failed, Throwable error) {
		ProducerEvent.ErrorOccurred report = new ProducerEvent.ErrorOccurred(this.producerId, ErrorType.LISTENER,
				error, null, null);
		for (Subscription subscription : this.subscriptions) {
			if (subscription != failed && subscription.type.isInstance(report)) {
				try {
					subscription.listener.onEvent(report);
				}
				catch (Throwable ex) {
					logFailure(subscription, "Listener", report.name(), ex);
				}
			}
		}
	}

	/** A listener's registration; {@link #close()} unsubscribes it. */
	public final class Subscription implements AutoCloseable {

		/** The events an event listener receives; {@code null} for a latency recorder. */
		private final Class<? extends Event> type;

		private final EventListener listener;

		private final LongConsumer latencyRecorder;

		/** Whether a failure of this listener was logged at WARN already. */
		private volatile boolean failureLogged;

		private Subscription(Class<? extends Event> type, EventListener listener, LongConsumer latencyRecorder) {
			this.type = type;
			this.listener = listener;
			this.latencyRecorder = latencyRecorder;
		}

		@Override
		public void close() {
			Monitor.this.subscriptions.remove(this); // it is on one of the two lists
			Monitor.this.latencyRecorders.remove(this);
			recomputeWanted();
		}

	}

}
