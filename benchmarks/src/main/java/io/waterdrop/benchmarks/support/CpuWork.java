package io.waterdrop.benchmarks.support;

/**
 * A fixed amount of CPU work, calibrated once in microseconds: what the callback-cost sweep makes every
 * delivery callback do. A fixed arithmetic loop rather than a spin on {@code System.nanoTime()}: a spinning
 * callback that loses its core is credited with time it did not run, so on a loaded machine it would do
 * less work exactly where cores are scarce. The loop is a xorshift chain, each step depending on the one
 * before, which the JIT can neither vectorise nor remove (the result is published).
 */
public final class CpuWork {

	private static final int CALIBRATION_RUNS = 15;

	private static final long CALIBRATION_ITERATIONS = 2_000_000;

	/** Publishes each result so that the JIT cannot prove the loop useless. */
	@SuppressWarnings("unused")
	private static volatile long sink;

	private final double iterationsPerMicro;

	private CpuWork(double iterationsPerMicro) {
		this.iterationsPerMicro = iterationsPerMicro;
	}

	/**
	 * Times the loop, compiled, and keeps the fastest run: the loop's cost on an uncontended core (slower
	 * runs measured a core shared with something else). Takes well under a second.
	 */
	public static CpuWork calibrate() {
		long fastest = Long.MAX_VALUE;
		for (int run = 0; run < CALIBRATION_RUNS; run++) {
			long started = System.nanoTime();
			sink = spin(CALIBRATION_ITERATIONS, run);
			fastest = Math.min(fastest, System.nanoTime() - started);
		}
		return new CpuWork(CALIBRATION_ITERATIONS / (fastest / 1e3));
	}

	/** Loop iterations per microsecond of work, as calibrated. */
	public double iterationsPerMicro() {
		return this.iterationsPerMicro;
	}

	/** The iterations that take {@code micros} microseconds. */
	public long iterationsFor(int micros) {
		return Math.round(micros * this.iterationsPerMicro);
	}

	/** Does {@code iterations} steps of the loop on the calling thread. */
	public static void run(long iterations) {
		sink = spin(iterations, iterations);
	}

	private static long spin(long iterations, long seed) {
		long x = seed | 1;
		for (long i = 0; i < iterations; i++) {
			x ^= x << 13;
			x ^= x >>> 7;
			x ^= x << 17;
		}
		return x;
	}

}
