package io.waterdrop.benchmarks.stats;

import java.util.List;

/**
 * Per-round ratios of one client's figure to a baseline client's figure from the same round. Pairing
 * cancels what a round shares (machine load, broker state, JIT and GC phase), which the spread between
 * rounds would otherwise add to every comparison.
 */
public final class PairedRatios {

	private PairedRatios() {
	}

	/**
	 * @param values the client's figure in each round
	 * @param baseline the baseline's figure in the same rounds, in the same order
	 * @return {@code values[i] / baseline[i]} for every round
	 */
	public static double[] of(List<Double> values, List<Double> baseline) {
		if (values.size() != baseline.size()) {
			throw new IllegalArgumentException(
					"Rounds do not pair up: " + values.size() + " values, " + baseline.size() + " baseline values");
		}
		double[] ratios = new double[values.size()];
		for (int i = 0; i < ratios.length; i++) {
			double base = baseline.get(i);
			if (!(base > 0)) {
				throw new IllegalArgumentException("Baseline of round " + i + " is not positive: " + base);
			}
			ratios[i] = values.get(i) / base;
		}
		return ratios;
	}

}
