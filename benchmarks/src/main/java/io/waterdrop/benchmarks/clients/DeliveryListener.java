package io.waterdrop.benchmarks.clients;

/** Told once per message when its delivery report reaches user code. */
@FunctionalInterface
public interface DeliveryListener {

	/** @param error why the message was not delivered, or {@code null} */
	void delivered(Throwable error);

}
