package io.waterdrop.autoconfigure.endpoint;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Durations as the health details and the endpoint write them.
 */
class ProducerDescriptionsTests {

	@Test
	void durationsAreWrittenInTheirLargestExactUnit() {
		assertThat(ProducerDescriptions.duration(Duration.ZERO)).isEqualTo("0ms");
		assertThat(ProducerDescriptions.duration(Duration.ofMillis(200))).isEqualTo("200ms");
		assertThat(ProducerDescriptions.duration(Duration.ofMillis(1500))).isEqualTo("1500ms");
		assertThat(ProducerDescriptions.duration(Duration.ofSeconds(1))).isEqualTo("1s");
		assertThat(ProducerDescriptions.duration(Duration.ofMinutes(1))).isEqualTo("1m");
		assertThat(ProducerDescriptions.duration(Duration.ofHours(48))).isEqualTo("2d");
		assertThat(ProducerDescriptions.duration(Duration.ofNanos(1500))).isEqualTo("1500ns");
	}

}
