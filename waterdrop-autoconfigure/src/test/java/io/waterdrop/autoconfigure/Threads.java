package io.waterdrop.autoconfigure;

import java.util.Set;
import java.util.TreeSet;

/**
 * Live threads, for assertions on which threads the starter runs. Cached test contexts of other test classes
 * may run threads of the same names (a 'legacy' dispatch thread, an 'orders' client's network thread), so
 * assertions that threads are gone compare against a {@link #snapshot()} taken before.
 */
public final class Threads {

	private Threads() {
	}

	public static Set<String> named(String prefix) {
		Set<String> names = new TreeSet<>();
		for (Thread thread : Thread.getAllStackTraces().keySet()) {
			if (thread.isAlive() && thread.getName().startsWith(prefix)) {
				names.add(thread.getName());
			}
		}
		return names;
	}

	/** WaterDrop's own polling and dispatch threads. */
	public static Set<String> waterdrop() {
		return named("waterdrop.");
	}

	/** The network thread Kafka runs for the client with the given id. */
	public static boolean kafkaNetworkThread(String clientId) {
		return !named("kafka-producer-network-thread | " + clientId).isEmpty();
	}

	/** The threads alive now. */
	public static Snapshot snapshot() {
		return new Snapshot(Set.copyOf(Thread.getAllStackTraces().keySet()));
	}

	/** Threads alive at one moment, to tell threads started since from those of other contexts. */
	public record Snapshot(Set<Thread> threads) {

		/** Names of the live threads with the given prefix that were not alive at the snapshot. */
		public Set<String> newSince(String prefix) {
			Set<String> names = new TreeSet<>();
			for (Thread thread : Thread.getAllStackTraces().keySet()) {
				if (thread.isAlive() && thread.getName().startsWith(prefix) && !this.threads.contains(thread)) {
					names.add(thread.getName());
				}
			}
			return names;
		}

		/** Names of WaterDrop's polling and dispatch threads started since the snapshot and still alive. */
		public Set<String> newWaterDropThreads() {
			return newSince("waterdrop.");
		}

		/** Whether a network thread of a Kafka client with the given id started since the snapshot still runs. */
		public boolean newKafkaNetworkThread(String clientId) {
			return !newSince("kafka-producer-network-thread | " + clientId).isEmpty();
		}

	}

}
