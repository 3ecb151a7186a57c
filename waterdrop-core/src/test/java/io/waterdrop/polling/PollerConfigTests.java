package io.waterdrop.polling;

import java.time.Duration;
import java.time.temporal.ChronoUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.InvalidConfigurationException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/** {@link PollerConfig} validation: the exception names the setting and states the rule and the value. */
@Timeout(5)
class PollerConfigTests {

	private static final Duration SECOND = Duration.ofSeconds(1);

	@Test
	void defaults() {
		PollerConfig config = PollerConfig.named("critical");
		assertThat(config.pollTimeout()).isEqualTo(Duration.ofSeconds(1));
		assertThat(config.backoffMin()).isEqualTo(Duration.ofMillis(100));
		assertThat(config.backoffMax()).isEqualTo(Duration.ofSeconds(30));
	}

	@Test
	void blankName() {
		assertThatExceptionOfType(InvalidConfigurationException.class).isThrownBy(() -> PollerConfig.named(" "))
			.satisfies((ex) -> assertThat(ex.property()).isEqualTo("poller.name"))
			.withMessageContaining("non-blank name");
		assertThatExceptionOfType(InvalidConfigurationException.class).isThrownBy(() -> PollerConfig.named(null))
			.satisfies((ex) -> assertThat(ex.property()).isEqualTo("poller.name"));
	}

	@Test
	void pollTimeoutBelowOneMillisecond() {
		assertThatExceptionOfType(InvalidConfigurationException.class)
			.isThrownBy(() -> PollerConfig.named("p").withPollTimeout(Duration.ZERO))
			.satisfies((ex) -> assertThat(ex.property()).isEqualTo("poll-timeout"))
			.withMessage("poll-timeout: must be at least 1 ms but was 0 ms");
		assertThatExceptionOfType(InvalidConfigurationException.class)
			.isThrownBy(() -> PollerConfig.named("p").withPollTimeout(Duration.ofMillis(-5)))
			.withMessage("poll-timeout: must be at least 1 ms but was -5 ms");
		assertThatExceptionOfType(InvalidConfigurationException.class)
			.isThrownBy(() -> PollerConfig.named("p").withPollTimeout(null))
			.withMessage("poll-timeout: must be at least 1 ms but was not set");
	}

	/** Beyond about 292 years Duration.toNanos() throws: every cycle of the loop failed. */
	@Test
	void pollTimeoutAndBackoffLongerThanADay() {
		assertThatExceptionOfType(InvalidConfigurationException.class)
			.isThrownBy(() -> PollerConfig.named("p").withPollTimeout(ChronoUnit.FOREVER.getDuration()))
			.satisfies((ex) -> assertThat(ex.property()).isEqualTo("poll-timeout"))
			.withMessageStartingWith("poll-timeout: must be at most 1 day but was ");
		assertThatExceptionOfType(InvalidConfigurationException.class)
			.isThrownBy(() -> PollerConfig.named("p").withBackoff(Duration.ofMillis(1), Duration.ofDays(2)))
			.withMessage("backoff-max: must be at most 1 day but was 172800000 ms");
		assertThat(PollerConfig.named("p").withPollTimeout(Duration.ofDays(1)).pollTimeout())
			.isEqualTo(Duration.ofDays(1));
	}

	@Test
	void subMillisecondValueIsReportedAsItIs() {
		// "must be at least 1 ms but was 0 ms" for 0.5 ms would misstate the value.
		assertThatExceptionOfType(InvalidConfigurationException.class)
			.isThrownBy(() -> PollerConfig.named("p").withPollTimeout(Duration.ofNanos(500_000)))
			.satisfies((ex) -> assertThat(ex.property()).isEqualTo("poll-timeout"))
			.withMessage("poll-timeout: must be at least 1 ms but was 0.5 ms");
	}

	@Test
	void exactlyOneMillisecondIsAllowed() {
		PollerConfig config = PollerConfig.named("p")
			.withPollTimeout(Duration.ofMillis(1))
			.withBackoff(Duration.ofMillis(1), Duration.ofMillis(1));
		assertThat(config.pollTimeout()).isEqualTo(Duration.ofMillis(1));
	}

	@Test
	void backoffMinBelowOneMillisecond() {
		assertThatExceptionOfType(InvalidConfigurationException.class)
			.isThrownBy(() -> PollerConfig.named("p").withBackoff(Duration.ZERO, SECOND))
			.satisfies((ex) -> assertThat(ex.property()).isEqualTo("backoff-min"))
			.withMessage("backoff-min: must be at least 1 ms but was 0 ms");
	}

	@Test
	void backoffMaxBelowMin() {
		assertThatExceptionOfType(InvalidConfigurationException.class)
			.isThrownBy(() -> PollerConfig.named("p").withBackoff(Duration.ofMillis(100), Duration.ofMillis(50)))
			.satisfies((ex) -> {
				assertThat(ex.property()).isEqualTo("backoff-max");
				assertThat(ex.action()).contains("100 ms");
			})
			.withMessage("backoff-max: must be at least 100 ms but was 50 ms");
	}

	@Test
	void backoffMaxBelowSubMillisecondMinStatesBothValuesExactly() {
		// A rule "at least 1 ms but was 1 ms" would contradict itself.
		assertThatExceptionOfType(InvalidConfigurationException.class)
			.isThrownBy(() -> PollerConfig.named("p").withBackoff(Duration.ofNanos(1_500_000), Duration.ofNanos(1_200_000)))
			.satisfies((ex) -> assertThat(ex.property()).isEqualTo("backoff-max"))
			.withMessage("backoff-max: must be at least 1.5 ms but was 1.2 ms");
	}

	@Test
	void backoffMaxNotSet() {
		assertThatExceptionOfType(InvalidConfigurationException.class)
			.isThrownBy(() -> PollerConfig.named("p").withBackoff(Duration.ofMillis(100), null))
			.satisfies((ex) -> assertThat(ex.property()).isEqualTo("backoff-max"))
			.withMessage("backoff-max: must be at least 100 ms but was not set");
	}

}
