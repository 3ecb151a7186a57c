package io.waterdrop;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingMode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * {@link ProducerConfig} validation: an invalid setting throws an {@link InvalidConfigurationException}
 * whose {@code property()} names it as the starter does and whose message states the rule and the value
 * exactly (the anchor's periodic_poll_interval message stated the wrong rule).
 */
@Timeout(5)
class ProducerConfigUnitTests {

	@Test
	void defaultsAreValid() {
		ProducerConfig config = ProducerConfig.builder().id("orders").build();
		assertThat(config.pollingMode()).isEqualTo(PollingMode.FD);
		assertThat(config.poller()).isSameAs(Poller.global());
		assertThat(config.maxTime()).isEqualTo(Duration.ofMillis(100));
		assertThat(config.pollTimeout()).isEqualTo(Duration.ofSeconds(1));
		assertThat(config.statisticsInterval()).isEqualTo(Duration.ofSeconds(5));
		assertThat(config.maxPayloadSize()).isEqualTo(1_000_012);
	}

	@Test
	void maxTimeBelowOneMillisecond() {
		assertInvalid((b) -> b.maxTime(Duration.ZERO), "polling.fd.max-time",
				"polling.fd.max-time: must be at least 1 ms but was 0 ms");
		assertInvalid((b) -> b.maxTime(Duration.ofNanos(999_999)), "polling.fd.max-time",
				"polling.fd.max-time: must be at least 1 ms but was 0.999999 ms");
		assertInvalid((b) -> b.maxTime(Duration.ofMillis(-1)), "polling.fd.max-time",
				"polling.fd.max-time: must be at least 1 ms but was -1 ms");
		assertInvalid((b) -> b.maxTime(null), "polling.fd.max-time",
				"polling.fd.max-time: must be at least 1 ms but was not set");
		assertThat(build((b) -> b.maxTime(Duration.ofMillis(1))).maxTime()).isEqualTo(Duration.ofMillis(1));
	}

	/**
	 * Durations the polling thread adds to its clock in nanoseconds are at most a day: longer ones ("never",
	 * written as Long.MAX_VALUE ms) made the connect throw an ArithmeticException, reported as a broker that
	 * could not be reached. So is the reload backoff, which a transaction's thread waits out.
	 */
	@Test
	void durationsThePollingThreadAddsToItsClockAreAtMostADay() {
		Duration never = Duration.ofMillis(Long.MAX_VALUE);
		assertThat(assertInvalid((b) -> b.statisticsInterval(Duration.ofDays(2)), "statistics-interval",
				"statistics-interval: must be at most 1 day but was 172800000 ms").action())
			.isEqualTo("Set it to 0 to turn statistics off, or 1d or less.");
		assertInvalid((b) -> b.maxTime(never), "polling.fd.max-time", null);
		assertInvalid((b) -> b.slowCallbackThreshold(never), "polling.slow-callback-threshold", null);
		assertInvalid((b) -> b.reloadBackoff(Duration.ofDays(1000)), "reload-backoff", null);
		assertThat(build((b) -> b.statisticsInterval(Duration.ofDays(1))).statisticsInterval())
			.isEqualTo(Duration.ofDays(1));
	}

	@Test
	void pollTimeoutBelowOneMillisecond() {
		assertInvalid((b) -> b.pollTimeout(Duration.ZERO), "polling.thread.poll-timeout",
				"polling.thread.poll-timeout: must be at least 1 ms but was 0 ms");
		assertInvalid((b) -> b.pollTimeout(Duration.ofNanos(500_000)), "polling.thread.poll-timeout",
				"polling.thread.poll-timeout: must be at least 1 ms but was 0.5 ms");
		assertThat(build((b) -> b.pollTimeout(Duration.ofMillis(1))).pollTimeout()).isEqualTo(Duration.ofMillis(1));
	}

	@Test
	void statisticsIntervalBetweenZeroAndOneHundredMilliseconds() {
		assertInvalid((b) -> b.statisticsInterval(Duration.ofMillis(50)), "statistics-interval",
				"statistics-interval: must be 0 (off) or at least 100 ms but was 50 ms");
		assertInvalid((b) -> b.statisticsInterval(Duration.ofMillis(1)), "statistics-interval",
				"statistics-interval: must be 0 (off) or at least 100 ms but was 1 ms");
		// Just below the limit, and just above 0: "but was 0 ms" would contradict "0 (off)".
		assertInvalid((b) -> b.statisticsInterval(Duration.ofNanos(99_999_999)), "statistics-interval",
				"statistics-interval: must be 0 (off) or at least 100 ms but was 99.999999 ms");
		assertInvalid((b) -> b.statisticsInterval(Duration.ofNanos(1)), "statistics-interval",
				"statistics-interval: must be 0 (off) or at least 100 ms but was 0.000001 ms");
		assertInvalid((b) -> b.statisticsInterval(Duration.ofSeconds(-1)), "statistics-interval",
				"statistics-interval: must be 0 (off) or at least 100 ms but was -1000 ms");
		assertInvalid((b) -> b.statisticsInterval(null), "statistics-interval",
				"statistics-interval: must be 0 (off) or at least 100 ms but was not set");
	}

	@Test
	void statisticsIntervalOfZeroOrAtLeastOneHundredMillisecondsIsValid() {
		assertThat(build((b) -> b.statisticsInterval(Duration.ZERO)).statisticsInterval()).isZero();
		assertThat(build((b) -> b.statisticsInterval(Duration.ofMillis(100))).statisticsInterval())
			.isEqualTo(Duration.ofMillis(100));
	}

	@Test
	void pollerWithThreadMode() {
		Poller poller = new Poller(PollerConfig.named("dedicated"));
		InvalidConfigurationException ex = assertInvalid((b) -> b.pollingMode(PollingMode.THREAD).poller(poller),
				"polling.poller",
				"polling.poller: a Poller was named but polling.mode is 'thread'; Pollers only serve fd mode");
		assertThat(ex.action()).contains("polling.mode");
		assertThat(build((b) -> b.poller(poller)).poller()).isSameAs(poller);
		assertThat(poller.isRunning()).isFalse();
	}

	@Test
	void pollingModeNotSet() {
		assertInvalid((b) -> b.pollingMode(null), "polling.mode", "polling.mode: must be 'fd' or 'thread'");
	}

	@Test
	void blankId() {
		InvalidConfigurationException ex = assertInvalid((b) -> b.id("  "), "id",
				"id: a producer id must not be blank");
		assertThat(ex.action()).isNotBlank();
		assertInvalid((b) -> b.id(""), "id", "id: a producer id must not be blank");
	}

	/** Refused where it is set (a customizer, say), not as a NullPointerException when the settings are copied. */
	@Test
	void kafkaSettingWithoutAValueOrName() {
		assertInvalid((b) -> b.kafka("acks", null), "kafka.acks", "kafka.acks: has no value");
		Map<String, Object> withNull = new HashMap<>();
		withNull.put("linger.ms", null);
		assertInvalid((b) -> b.kafka(withNull), "kafka.linger.ms", "kafka.linger.ms: has no value");
		assertInvalid((b) -> b.kafka(null, "all"), "kafka", "kafka: has a setting without a name");
	}

	@Test
	void missingIdGetsAUniqueDefault() {
		ProducerConfig first = ProducerConfig.builder().build();
		ProducerConfig second = ProducerConfig.builder().build();
		assertThat(first.id()).startsWith("waterdrop-").isNotEqualTo(second.id());
	}

	@Test
	void maxPayloadSizeBelowOne() {
		assertInvalid((b) -> b.maxPayloadSize(0), "max-payload-size",
				"max-payload-size: must be at least 1 byte but was 0");
		assertInvalid((b) -> b.maxPayloadSize(-10), "max-payload-size",
				"max-payload-size: must be at least 1 byte but was -10");
		assertThat(build((b) -> b.maxPayloadSize(1)).maxPayloadSize()).isEqualTo(1);
	}

	@Test
	void maxWaitTimeoutNotPositive() {
		assertInvalid((b) -> b.maxWaitTimeout(Duration.ZERO), "max-wait-timeout",
				"max-wait-timeout: must be positive but was 0 ms");
	}

	@Test
	void slowCallbackThresholdNotPositive() {
		assertInvalid((b) -> b.slowCallbackThreshold(Duration.ofMillis(-3)), "polling.slow-callback-threshold",
				"polling.slow-callback-threshold: must be positive but was -3 ms");
	}

	/** Spring's binding of class names does not check the bound: a class that is no exception never matches. */
	@Test
	@SuppressWarnings({ "unchecked", "rawtypes" })
	void nonReloadableErrorThatIsNoException() {
		Set<Class<? extends Throwable>> notErrors = (Set) Set.of(String.class);
		InvalidConfigurationException ex = assertInvalid((b) -> b.nonReloadableErrors(notErrors),
				"non-reloadable-errors",
				"non-reloadable-errors: names java.lang.String, which is not an exception class");
		assertThat(ex.action()).contains("ProducerFencedException");
		Set<Class<? extends Throwable>> withEmpty = new HashSet<>();
		withEmpty.add(null);
		assertInvalid((b) -> b.nonReloadableErrors(withEmpty), "non-reloadable-errors",
				"non-reloadable-errors: has an empty element");
	}

	@Test
	void everyInvalidSettingSaysHowToFixIt() {
		assertThat(assertInvalid((b) -> b.maxTime(Duration.ZERO), "polling.fd.max-time", null).action())
			.isNotBlank();
		assertThat(assertInvalid((b) -> b.statisticsInterval(Duration.ofMillis(50)), "statistics-interval", null)
			.action()).contains("100 ms");
	}

	private static ProducerConfig build(UnaryOperator<ProducerConfig.Builder> settings) {
		return settings.apply(ProducerConfig.builder().id("valid")).build();
	}

	private static InvalidConfigurationException assertInvalid(UnaryOperator<ProducerConfig.Builder> settings,
			String property, String message) {
		InvalidConfigurationException[] thrown = new InvalidConfigurationException[1];
		assertThatExceptionOfType(InvalidConfigurationException.class).isThrownBy(() -> build(settings))
			.satisfies((ex) -> {
				assertThat(ex.property()).isEqualTo(property);
				if (message != null) {
					assertThat(ex).hasMessage(message);
				}
				thrown[0] = ex;
			});
		return thrown[0];
	}

}
