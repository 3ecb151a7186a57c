package io.waterdrop.benchmarks.sync;

/**
 * How the synchronous sends of one trial are spread: over how many threads, of which kind, on how many
 * producers (thread {@code i} uses producer {@code i % producers}).
 *
 * @param label the row's name in the report
 * @param producers producers created
 * @param threads sending threads, each sending its share of the messages one after the other
 * @param virtual whether the sending threads are virtual
 */
record SyncShape(String label, int producers, int threads, boolean virtual) {

	@Override
	public String toString() {
		return this.label;
	}

}
