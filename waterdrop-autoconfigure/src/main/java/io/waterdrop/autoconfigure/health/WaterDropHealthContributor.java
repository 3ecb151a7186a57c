package io.waterdrop.autoconfigure.health;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.health.contributor.CompositeHealthContributor;
import org.springframework.boot.health.contributor.HealthContributor;
import org.springframework.boot.health.contributor.HealthContributors;

import io.waterdrop.Producer;
import io.waterdrop.ProducerStatus;

/**
 * The {@code waterdrop} health component: a {@link ProducerHealthIndicator} per producer, named after its
 * bean. A closed producer's entry goes away; with every producer closed the component itself does.
 * <p>
 * Threading: immutable apart from what the indicators cache; read from any thread.
 */
final class WaterDropHealthContributor implements CompositeHealthContributor {

	private final Map<String, Producer> producers;

	private final Map<String, ProducerHealthIndicator> indicators = new LinkedHashMap<>();

	WaterDropHealthContributor(Map<String, Producer> producers, Duration failureWindow, Clock clock) {
		this.producers = producers;
		producers.forEach((name, producer) -> this.indicators.put(name,
				new ProducerHealthIndicator(producer, failureWindow, clock)));
	}

	@Override
	public @Nullable HealthContributor getContributor(String name) {
		return isOpen(name) ? this.indicators.get(name) : null;
	}

	@Override
	public Stream<HealthContributors.Entry> stream() {
		return this.indicators.entrySet()
			.stream()
			.filter((entry) -> isOpen(entry.getKey()))
			.map((entry) -> new HealthContributors.Entry(entry.getKey(), entry.getValue()));
	}

	private boolean isOpen(String name) {
		Producer producer = this.producers.get(name);
		return producer != null && producer.status() != ProducerStatus.CLOSED;
	}

}
