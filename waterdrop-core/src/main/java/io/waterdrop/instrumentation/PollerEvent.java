package io.waterdrop.instrumentation;

import java.time.Duration;

/**
 * Events about a Poller. They are published to the monitor of every producer the event concerns.
 */
public sealed interface PollerEvent extends Event {

	/** Name of the Poller, e.g. {@code global}. */
	String pollerName();

	/** {@code poller.producer_registered}: the Poller thread now serves the producer. */
	record ProducerRegistered(String pollerName, String producerId) implements PollerEvent {
		@Override
		public String name() {
			return "poller.producer_registered";
		}
	}

	/** {@code poller.producer_unregistered}: the Poller thread no longer serves the producer. */
	record ProducerUnregistered(String pollerName, String producerId) implements PollerEvent {
		@Override
		public String name() {
			return "poller.producer_unregistered";
		}
	}

	/**
	 * {@code poller.loop_error}: the Poller loop itself failed (not a callback); it waits {@code backoff}
	 * before the next cycle. The back-off doubles on consecutive failures and resets after a clean cycle.
	 */
	record LoopError(String pollerName, Throwable error, Duration backoff) implements PollerEvent {
		@Override
		public String name() {
			return "poller.loop_error";
		}
	}

}
