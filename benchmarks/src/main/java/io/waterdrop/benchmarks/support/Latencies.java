package io.waterdrop.benchmarks.support;

import java.util.Arrays;
import java.util.Collection;

/**
 * Latencies recorded by one thread, in nanoseconds; merged after the run to read percentiles. Not
 * thread-safe: give every recording thread its own.
 */
public final class Latencies {

	private long[] nanos;

	private int count;

	private boolean sorted;

	public Latencies(int expected) {
		this.nanos = new long[Math.max(16, expected)];
	}

	public void record(long nanos) {
		if (this.count == this.nanos.length) {
			this.nanos = Arrays.copyOf(this.nanos, this.count * 2);
		}
		this.nanos[this.count++] = nanos;
		this.sorted = false;
	}

	public int count() {
		return this.count;
	}

	/** All latencies of the given recorders in one. */
	public static Latencies merge(Collection<Latencies> parts) {
		Latencies merged = new Latencies(parts.stream().mapToInt(Latencies::count).sum());
		for (Latencies part : parts) {
			System.arraycopy(part.nanos, 0, merged.nanos, merged.count, part.count);
			merged.count += part.count;
		}
		return merged;
	}

	/** The latency below which {@code percentile} per cent of the recorded ones fall, in milliseconds. */
	public double percentileMillis(double percentile) {
		if (this.count == 0) {
			throw new IllegalStateException("No latency recorded");
		}
		if (!this.sorted) {
			Arrays.sort(this.nanos, 0, this.count);
			this.sorted = true;
		}
		// Nearest rank: the smallest value with at least percentile% of the values at or below it.
		int rank = (int) Math.ceil(percentile / 100 * this.count);
		return this.nanos[Math.max(0, rank - 1)] / 1e6;
	}

}
