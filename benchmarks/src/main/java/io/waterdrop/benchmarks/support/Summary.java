package io.waterdrop.benchmarks.support;

import java.util.Arrays;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The median and the range of one figure over the measured repeats.
 *
 * @param median the median (the mean of the middle two for an even count)
 * @param min the smallest value
 * @param max the largest value
 */
public record Summary(double median, double min, double max) {

	public static Summary of(double... values) {
		if (values.length == 0) {
			throw new IllegalArgumentException("No values to summarize");
		}
		double[] sorted = values.clone();
		Arrays.sort(sorted);
		int middle = sorted.length / 2;
		double median = (sorted.length % 2 == 1) ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
		return new Summary(median, sorted[0], sorted[sorted.length - 1]);
	}

	/** Summarizes one figure of each result. */
	public static <T> Summary of(List<T> results, ToDoubleFunction<? super T> figure) {
		return of(results.stream().mapToDouble(figure).toArray());
	}

}
