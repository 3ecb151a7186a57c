package io.waterdrop.benchmarks.throughput;

import java.util.function.Function;

import io.waterdrop.benchmarks.support.HostCpu;
import io.waterdrop.benchmarks.support.ThreadCosts;

/**
 * What one timed run of a fleet did and cost.
 * <p>
 * The rate is taken while the senders send: reports delivered from their release until their time is up,
 * per second of that span. The reports still in flight then (at most a window per producer) drain after it
 * with the senders idle, under different contention; counting them would favour whichever client queues
 * most. A trial limited by message count alone has no such span: its rate runs to the last report. The
 * costs per message are exact accounts instead: everything allocated and every CPU nanosecond from the
 * release to the last report, over every message sent.
 *
 * @param messages messages sent and delivered, all producers together
 * @param elapsedNanos from the senders' release until the last report reached its callback
 * @param rateMessages reports delivered within the rate's span
 * @param rateNanos the rate's span: from the release until the senders' time was up (or the last report)
 * @param allocatedBytes heap allocated by all threads of this JVM from the release to the last report
 * @param cpuNanos CPU time used by all threads of this JVM over the same span (harness senders, client
 * threads, GC and JIT compiler threads)
 * @param byThread both split between Kafka's network threads, the senders, the dispatching threads and the
 * rest
 * @param host how busy the whole host was and what the broker's process used over the same span
 */
public record Measurement(long messages, long elapsedNanos, long rateMessages, long rateNanos, long allocatedBytes,
		long cpuNanos, ThreadCosts.Split byThread, HostCpu.Usage host) {

	public double messagesPerSecond() {
		return this.rateMessages / (this.rateNanos / 1e9);
	}

	public double allocatedPerMessage() {
		return (double) this.allocatedBytes / this.messages;
	}

	public double cpuMicrosPerMessage() {
		return this.cpuNanos / 1e3 / this.messages;
	}

	/** The broker process's CPU per message in microseconds, or -1 if unknown. */
	public double brokerCpuMicrosPerMessage() {
		return (this.host.brokerCpuNanos() < 0) ? -1 : this.host.brokerCpuNanos() / 1e3 / this.messages;
	}

	/** CPU per message of the threads in {@code part} of {@link #byThread}, in microseconds. */
	public double cpuMicrosPerMessage(Function<ThreadCosts.Split, ThreadCosts.Cost> part) {
		return part.apply(this.byThread).cpuNanos() / 1e3 / this.messages;
	}

	/** Bytes allocated per message by the threads in {@code part} of {@link #byThread}. */
	public double allocatedPerMessage(Function<ThreadCosts.Split, ThreadCosts.Cost> part) {
		return (double) part.apply(this.byThread).allocatedBytes() / this.messages;
	}

}
