package io.waterdrop.benchmarks.sync;

import io.waterdrop.benchmarks.clients.ClientKind;

/**
 * One cell of the sync table.
 *
 * @param shape how the sends are spread
 * @param kind the client library
 */
record SyncCase(SyncShape shape, ClientKind kind) {

	String topic() {
		return "sync-" + this.kind.key();
	}

	@Override
	public String toString() {
		return this.shape.label() + " / " + this.kind.label();
	}

}
