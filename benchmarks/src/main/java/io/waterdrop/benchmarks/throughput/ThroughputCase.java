package io.waterdrop.benchmarks.throughput;

import io.waterdrop.benchmarks.clients.ClientKind;

/**
 * One cell of the producers × client table.
 *
 * @param kind the client
 * @param producers how many producers send at once, each from its own thread
 */
record ThroughputCase(ClientKind kind, int producers) {

	/** Names its trials' topics: each trial writes to a new one, deleted afterwards. */
	String topicPrefix() {
		return "throughput-" + this.kind.key() + "-" + this.producers;
	}

	@Override
	public String toString() {
		return this.kind.label() + " ×" + this.producers;
	}

}
