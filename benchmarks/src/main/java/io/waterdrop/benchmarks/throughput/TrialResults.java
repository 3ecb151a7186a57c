package io.waterdrop.benchmarks.throughput;

import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

import io.waterdrop.benchmarks.stats.MedianEstimate;
import io.waterdrop.benchmarks.stats.PairedRatios;
import io.waterdrop.benchmarks.support.Summary;

/**
 * The measured throughput trials of a scenario, each case's results in round order, so that the results of
 * one round line up across cases (as {@code Rounds.run} returns them).
 *
 * @param <C> the case type
 */
public final class TrialResults<C> {

	private final Map<C, List<ThroughputResult>> results;

	public TrialResults(Map<C, List<ThroughputResult>> results) {
		this.results = results;
	}

	public List<ThroughputResult> of(C c) {
		List<ThroughputResult> runs = this.results.get(c);
		if (runs == null) {
			throw new IllegalArgumentException("No results for " + c);
		}
		return runs;
	}

	/** Median and range of one figure over the rounds. */
	public Summary summary(C c, ToDoubleFunction<ThroughputResult> figure) {
		return Summary.of(of(c), figure);
	}

	/** Median over the rounds of {@code c}'s rate divided by {@code baseline}'s rate in the same round. */
	public MedianEstimate pairedRatio(C c, C baseline) {
		return pairedRatio(c, baseline, ThroughputResult::messagesPerSecond);
	}

	/** Median over the rounds of {@code c}'s figure divided by {@code baseline}'s in the same round. */
	public MedianEstimate pairedRatio(C c, C baseline, ToDoubleFunction<ThroughputResult> figure) {
		return MedianEstimate.of(PairedRatios.of(figures(c, figure), figures(baseline, figure)));
	}

	/** Whether every round of {@code c} has the figure (non-negative: unknown figures are -1). */
	public boolean known(C c, ToDoubleFunction<ThroughputResult> figure) {
		return of(c).stream().allMatch((result) -> figure.applyAsDouble(result) >= 0);
	}

	private List<Double> figures(C c, ToDoubleFunction<ThroughputResult> figure) {
		return of(c).stream().map(figure::applyAsDouble).toList();
	}

}
