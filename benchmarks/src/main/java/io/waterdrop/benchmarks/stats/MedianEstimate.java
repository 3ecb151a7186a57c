package io.waterdrop.benchmarks.stats;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The median of some values with a percentile-bootstrap confidence interval: resample the values with
 * replacement many times, take each resample's median, and read the interval off the sorted medians. It
 * assumes nothing about the values' distribution, which for throughput on a shared machine is skewed and
 * has outliers; with ten rounds a 95% interval spans roughly the third to the eighth smallest value.
 *
 * @param median the median of the values (the mean of the middle two for an even count)
 * @param lower the lower bound of the interval
 * @param upper the upper bound of the interval
 * @param confidence the interval's nominal coverage, such as 0.95
 */
public record MedianEstimate(double median, double lower, double upper, double confidence) {

	/** Resamples for the interval: enough that its bounds move by well under a percent between seeds. */
	public static final int RESAMPLES = 10_000;

	/** Fixed, so that the same values always give the same interval. */
	public static final long SEED = 20_260_512L;

	/** The median with a 95% interval, {@value #RESAMPLES} resamples, the fixed {@link #SEED}. */
	public static MedianEstimate of(double[] values) {
		return bootstrap(values, 0.95, RESAMPLES, SEED);
	}

	/**
	 * @param confidence coverage of the interval, in (0, 1)
	 * @param resamples how many bootstrap resamples
	 * @param seed seed of the resampling
	 */
	public static MedianEstimate bootstrap(double[] values, double confidence, int resamples, long seed) {
		if (values.length == 0) {
			throw new IllegalArgumentException("No values to estimate from");
		}
		if (!(confidence > 0 && confidence < 1) || resamples < 1) {
			throw new IllegalArgumentException("Confidence must be in (0, 1) and resamples at least 1");
		}
		SplittableRandom random = new SplittableRandom(seed);
		double[] resample = new double[values.length];
		double[] medians = new double[resamples];
		for (int r = 0; r < resamples; r++) {
			for (int i = 0; i < resample.length; i++) {
				resample[i] = values[random.nextInt(values.length)];
			}
			medians[r] = medianInPlace(resample);
		}
		Arrays.sort(medians);
		double tail = (1 - confidence) / 2;
		return new MedianEstimate(medianInPlace(values.clone()), percentile(medians, tail),
				percentile(medians, 1 - tail), confidence);
	}

	/** Whether the whole interval lies at or above {@code threshold}: "at least X" shown at this confidence. */
	public boolean atLeast(double threshold) {
		return this.lower >= threshold;
	}

	/** Sorts {@code values} and returns their median. */
	static double medianInPlace(double[] values) {
		Arrays.sort(values);
		int middle = values.length / 2;
		return (values.length % 2 == 1) ? values[middle] : (values[middle - 1] + values[middle]) / 2;
	}

	/**
	 * Nearest rank: the smallest sorted value with at least {@code fraction} of the values at or below it.
	 */
	static double percentile(double[] sorted, double fraction) {
		int rank = (int) Math.ceil(fraction * sorted.length);
		return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
	}

}
