package io.waterdrop.benchmarks.throughput;

import io.waterdrop.benchmarks.report.Format;

/**
 * One throughput trial.
 *
 * @param messagesPerSecond messages whose report reached the callback, per second of the timed run
 * @param clientThreads peak live platform threads during the trial minus those before it and the sending
 * threads: what the client library added
 * @param heapGrowth heap used after a full GC with the producers still open, minus before they were created
 * @param rssGrowth resident memory growth over the same span (-1 if unknown)
 * @param allocatedPerMessage bytes allocated by all threads during the timed run, per message
 */
record ThroughputResult(double messagesPerSecond, int clientThreads, long heapGrowth, long rssGrowth,
		double allocatedPerMessage) {

	@Override
	public String toString() {
		return Format.rate(this.messagesPerSecond) + " msg/s, " + this.clientThreads + " client threads";
	}

}
