package io.waterdrop;

/**
 * Faults the starter's tests cannot provoke from outside the core: what a producer goes through when one
 * strikes, reached through its package-private hooks.
 */
public final class ProducerFaults {

	private ProducerFaults() {
	}

	/** The producer's polling thread died, as a {@link VirtualMachineError} in its loop would leave it. */
	public static void losePolling(Producer producer) {
		producer.pollingTerminated(producer.dispatcher(), new InternalError("simulated death of the polling thread"));
	}

}
