package io.waterdrop.benchmarks.stats;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class MedianEstimateTests {

	/**
	 * The known answer: for the 11 values 1..11, a resample's median is at most k exactly when at least 6 of
	 * its 11 draws are at most k, so P(median ≤ k) = P(Binomial(11, k/11) ≥ 6): 0.0072 for k = 2, 0.051 for
	 * k = 3, 0.949 for k = 8, 0.993 for k = 9. The 2.5% and 97.5% points are therefore 3 and 9, far enough
	 * from the neighbouring ranks that 10,000 resamples find them with any seed.
	 */
	@Test
	void intervalOfOneToElevenIsThreeToNine() {
		double[] values = { 7, 1, 11, 4, 9, 2, 6, 10, 3, 8, 5 };

		for (long seed : new long[] { MedianEstimate.SEED, 1, 2, 3 }) {
			MedianEstimate estimate = MedianEstimate.bootstrap(values, 0.95, 10_000, seed);

			assertThat(estimate.median()).isEqualTo(6);
			assertThat(estimate.lower()).isEqualTo(3);
			assertThat(estimate.upper()).isEqualTo(9);
		}
	}

	@Test
	void identicalValuesHaveANoWidthInterval() {
		MedianEstimate estimate = MedianEstimate.of(new double[] { 0.93, 0.93, 0.93 });

		assertThat(estimate.median()).isEqualTo(0.93);
		assertThat(estimate.lower()).isEqualTo(0.93);
		assertThat(estimate.upper()).isEqualTo(0.93);
		assertThat(estimate.confidence()).isEqualTo(0.95);
	}

	@Test
	void sameValuesAndSeedGiveTheSameInterval() {
		double[] values = { 0.91, 0.97, 0.88, 1.02, 0.95, 0.93, 0.99, 0.90, 0.96, 0.94 };

		assertThat(MedianEstimate.of(values)).isEqualTo(MedianEstimate.of(values.clone()));
	}

	@Test
	void medianOfAnEvenCountIsTheMeanOfTheMiddleTwoAndTheInputIsNotReordered() {
		double[] values = { 4, 1, 3, 2 };

		assertThat(MedianEstimate.of(values).median()).isEqualTo(2.5);
		assertThat(values).containsExactly(4, 1, 3, 2);
	}

	@Test
	void atLeastAsksTheWholeInterval() {
		MedianEstimate estimate = new MedianEstimate(0.97, 0.94, 0.99, 0.95);

		assertThat(estimate.atLeast(0.90)).isTrue();
		assertThat(estimate.atLeast(0.95)).isFalse();
	}

	@Test
	void refusesNoValuesAndBadSettings() {
		assertThatIllegalArgumentException().isThrownBy(() -> MedianEstimate.of(new double[0]));
		assertThatIllegalArgumentException()
			.isThrownBy(() -> MedianEstimate.bootstrap(new double[] { 1 }, 1.0, 100, 1));
	}

}
