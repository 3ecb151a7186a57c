package io.waterdrop.benchmarks.throughput;

/**
 * What one timed run of a fleet did and cost, from the release of the senders to the last report.
 *
 * @param messages messages sent and delivered, all producers together
 * @param elapsedNanos from the senders' release until the last report reached its callback
 * @param allocatedBytes heap allocated by all threads of this JVM meanwhile
 * @param cpuNanos CPU time used by all threads of this JVM meanwhile (harness senders, client threads,
 * GC and JIT compiler threads)
 */
public record Measurement(long messages, long elapsedNanos, long allocatedBytes, long cpuNanos) {

	public double messagesPerSecond() {
		return this.messages / (this.elapsedNanos / 1e9);
	}

	public double allocatedPerMessage() {
		return (double) this.allocatedBytes / this.messages;
	}

	public double cpuMicrosPerMessage() {
		return this.cpuNanos / 1e3 / this.messages;
	}

}
