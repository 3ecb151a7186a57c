package io.waterdrop.autoconfigure;

import io.waterdrop.instrumentation.EventListener;

/**
 * An {@link EventListener} bean that is subscribed to the monitor of every {@link io.waterdrop.Producer}
 * bean of the context it {@link #appliesTo applies to}, when the lifecycle starts, just before the producer
 * connects; so a listener bean may itself inject a producer. Listeners of one producer run in
 * {@link org.springframework.core.annotation.Order order}.
 * <p>
 * Threading: {@link #onEvent} runs on the thread that publishes the event, usually the Poller or dispatch
 * thread serving the producer; keep it short and never wait there for a delivery report.
 */
@FunctionalInterface
public interface WaterDropEventListener extends EventListener {

	/**
	 * Whether this listener receives the events of the given producer; all producers by default.
	 * @param producerName bean name of the producer
	 * @return {@code true} to subscribe this listener to that producer
	 */
	default boolean appliesTo(String producerName) {
		return true;
	}

}
