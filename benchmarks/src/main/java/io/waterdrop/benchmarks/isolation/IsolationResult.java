package io.waterdrop.benchmarks.isolation;

import io.waterdrop.benchmarks.report.Format;

/**
 * B's ack-dispatch latency (produce call → its callback) in one trial, in milliseconds.
 *
 * @param p50Millis the median
 * @param p99Millis the 99th percentile
 * @param maxMillis the largest
 */
record IsolationResult(double p50Millis, double p99Millis, double maxMillis) {

	@Override
	public String toString() {
		return "B p50 " + Format.millis(this.p50Millis) + " ms, p99 " + Format.millis(this.p99Millis) + " ms, max "
				+ Format.millis(this.maxMillis) + " ms";
	}

}
