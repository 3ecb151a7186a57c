package io.waterdrop.benchmarks.clients;

/**
 * Some producers of one client library, all writing to one topic, behind the two operations the scenarios
 * need. Thread-safe as the underlying producers are; opened by {@link ClientKind#open}.
 */
public interface ProducerFleet extends AutoCloseable {

	/** How many producers. */
	int size();

	/**
	 * Sends one message synchronously with each producer, so that connections and topic metadata are in
	 * place before anything is timed.
	 */
	default void prime(byte[] payload) {
		for (int i = 0; i < size(); i++) {
			sendSync(i, payload);
		}
	}

	/** Sends a message with producer {@code index}; {@code listener} hears of its delivery. */
	void sendAsync(int index, byte[] payload, DeliveryListener listener);

	/** Sends a message with producer {@code index} and waits for its delivery report; throws if it failed. */
	void sendSync(int index, byte[] payload);

	/** Closes every producer, waiting for what is in flight. */
	@Override
	void close();

}
