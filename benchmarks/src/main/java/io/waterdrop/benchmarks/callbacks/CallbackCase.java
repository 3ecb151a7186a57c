package io.waterdrop.benchmarks.callbacks;

import io.waterdrop.benchmarks.clients.ClientKind;

/**
 * One cell of the callback-cost sweep.
 *
 * @param kind the client
 * @param producers how many producers send at once
 * @param micros CPU work every delivery callback does, in microseconds
 */
record CallbackCase(ClientKind kind, int producers, int micros) {

	/** Names its trials' topics: each trial writes to a new one, deleted afterwards. */
	String topicPrefix() {
		return "callbacks-" + this.kind.key() + "-" + this.producers + "-" + this.micros;
	}

	/** The same producers and work, another client: the raw kafka-clients case of its round. */
	CallbackCase with(ClientKind other) {
		return new CallbackCase(other, this.producers, this.micros);
	}

	@Override
	public String toString() {
		return this.kind.label() + " ×" + this.producers + ", " + this.micros + " µs callbacks";
	}

}
