package io.waterdrop.benchmarks.throughput;

import java.util.function.Function;

import io.waterdrop.benchmarks.report.Format;
import io.waterdrop.benchmarks.support.ThreadCosts;

/**
 * One throughput trial: its measurement and what the client held while it ran.
 *
 * @param measurement the timed run
 * @param clientThreads peak live platform threads during the trial minus those before it and the sending
 * threads: what the client library added
 * @param liveThreads peak live platform threads of the JVM during the trial
 * @param rssBytes resident memory with the producers open, right after the last report (-1 if unknown)
 * @param rssGrowth resident memory after a full GC with the producers still open, minus before they were
 * created (-1 if unknown)
 * @param heapGrowth heap used after a full GC with the producers still open, minus before they were created
 */
public record ThroughputResult(Measurement measurement, int clientThreads, int liveThreads, long rssBytes,
		long rssGrowth, long heapGrowth) {

	public double messagesPerSecond() {
		return this.measurement.messagesPerSecond();
	}

	public double allocatedPerMessage() {
		return this.measurement.allocatedPerMessage();
	}

	public double cpuMicrosPerMessage() {
		return this.measurement.cpuMicrosPerMessage();
	}

	/** The broker process's CPU per message in microseconds, or -1 if unknown. */
	public double brokerCpuMicrosPerMessage() {
		return this.measurement.brokerCpuMicrosPerMessage();
	}

	/**
	 * This JVM's and the broker's CPU per message together, in microseconds, or -1 if the broker's is unknown:
	 * on a host kept busy, what the rate is inversely proportional to.
	 */
	public double clientAndBrokerCpuMicrosPerMessage() {
		double broker = brokerCpuMicrosPerMessage();
		return (broker < 0) ? -1 : cpuMicrosPerMessage() + broker;
	}

	/** The fraction of all the host's processors' time that was busy during the trial, or -1 if unknown. */
	public double hostBusy() {
		return this.measurement.host().hostBusy();
	}

	/** CPU per message of the threads in {@code part} of the split by thread, in microseconds. */
	public double cpuMicrosPerMessage(Function<ThreadCosts.Split, ThreadCosts.Cost> part) {
		return this.measurement.cpuMicrosPerMessage(part);
	}

	/** Bytes allocated per message by the threads in {@code part} of the split by thread. */
	public double allocatedPerMessage(Function<ThreadCosts.Split, ThreadCosts.Cost> part) {
		return this.measurement.allocatedPerMessage(part);
	}

	@Override
	public String toString() {
		return String.format(
				"%s msg/s, %,.0f B and %.2f µs CPU per message (network %.2f, senders %.2f, dispatch %.2f, rest %.2f), "
						+ "%d client threads",
				Format.rate(messagesPerSecond()), allocatedPerMessage(), cpuMicrosPerMessage(),
				cpuMicrosPerMessage(ThreadCosts.Split::network), cpuMicrosPerMessage(ThreadCosts.Split::senders),
				cpuMicrosPerMessage(ThreadCosts.Split::dispatch), cpuMicrosPerMessage(ThreadCosts.Split::rest),
				this.clientThreads);
	}

}
