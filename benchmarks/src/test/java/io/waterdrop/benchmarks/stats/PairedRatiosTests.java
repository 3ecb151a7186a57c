package io.waterdrop.benchmarks.stats;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class PairedRatiosTests {

	@Test
	void dividesEachRoundByTheBaselineOfTheSameRound() {
		double[] ratios = PairedRatios.of(List.of(90.0, 200.0, 50.0), List.of(100.0, 250.0, 40.0));

		assertThat(ratios).containsExactly(0.9, 0.8, 1.25);
	}

	/**
	 * Why pairing: a client always at 95% of the baseline, in rounds whose speed varies 3×, has paired ratios
	 * of exactly 0.95, while the ratio of the two medians depends on which rounds happen to be the middle ones.
	 */
	@Test
	void aConstantShareStaysConstantWhateverTheRoundsSpeed() {
		List<Double> baseline = List.of(100.0, 300.0, 150.0, 280.0, 120.0);
		List<Double> client = baseline.stream().map((rate) -> rate * 0.95).toList();

		MedianEstimate estimate = MedianEstimate.of(PairedRatios.of(client, baseline));

		assertThat(estimate.median()).isCloseTo(0.95, org.assertj.core.data.Offset.offset(1e-12));
		assertThat(estimate.upper() - estimate.lower()).isLessThan(1e-12);
	}

	@Test
	void refusesRoundsThatDoNotPairUp() {
		assertThatIllegalArgumentException().isThrownBy(() -> PairedRatios.of(List.of(1.0), List.of(1.0, 2.0)));
		assertThatIllegalArgumentException().isThrownBy(() -> PairedRatios.of(List.of(1.0), List.of(0.0)));
	}

}
