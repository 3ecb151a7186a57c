package io.waterdrop.autoconfigure;

import java.util.Set;
import java.util.TreeSet;

/** Names of live threads, for assertions on which threads the starter runs. */
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

}
