package io.waterdrop.benchmarks.sync;

import io.waterdrop.benchmarks.report.Format;

/**
 * One sync trial.
 *
 * @param messagesPerSecond messages per second of the whole trial
 * @param p50Millis median latency of one synchronous send
 * @param p99Millis 99th percentile latency of one synchronous send
 */
record SyncResult(double messagesPerSecond, double p50Millis, double p99Millis) {

	@Override
	public String toString() {
		return Format.rate(this.messagesPerSecond) + " msg/s, p50 " + Format.millis(this.p50Millis) + " ms, p99 "
				+ Format.millis(this.p99Millis) + " ms";
	}

}
