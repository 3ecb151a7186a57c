package io.waterdrop.instrumentation;

/**
 * Something that happened in a producer or a Poller, published through a {@link Monitor}.
 * <p>
 * Each event has a stable dotted {@link #name()} (the names WaterDrop uses, such as
 * {@code message.acknowledged}) so that listeners, logs and dashboards can refer to it without
 * depending on the Java type.
 */
public sealed interface Event permits ProducerEvent, PollerEvent {

	/** Stable dotted name of the event, e.g. {@code message.acknowledged}. */
	String name();

}
