package io.waterdrop.autoconfigure.health;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.health.contributor.CompositeHealthContributor;
import org.springframework.boot.health.contributor.HealthContributor;
import org.springframework.boot.health.contributor.HealthContributors;

import io.waterdrop.Producer;
import io.waterdrop.ProducerStatus;
import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;

/**
 * The {@code waterdrop} health component: a {@link ProducerHealthIndicator} per producer, named after its
 * bean, then one per runtime producer ({@link WaterDropRuntimeProducers}), named after it, added when it is
 * created and dropped when it is removed. A closed producer's entry goes away; with every producer closed
 * the component itself does.
 * <p>
 * Threading: the entries of producer beans are fixed; those of runtime producers change on any thread that
 * creates or removes one; read from any thread.
 */
final class WaterDropHealthContributor implements CompositeHealthContributor, WaterDropRuntimeProducers.Listener {

	private final Map<String, Producer> producers;

	private final Map<String, ProducerHealthIndicator> indicators = new LinkedHashMap<>();

	private final Map<String, ProducerHealthIndicator> runtime = new ConcurrentSkipListMap<>();

	private final Duration failureWindow;

	private final Clock clock;

	WaterDropHealthContributor(Map<String, Producer> producers, Duration failureWindow, Clock clock) {
		this.producers = producers;
		this.failureWindow = failureWindow;
		this.clock = clock;
		producers.forEach((name, producer) -> this.indicators.put(name,
				new ProducerHealthIndicator(producer, failureWindow, clock)));
	}

	@Override
	public void added(String name, Producer producer) {
		if (!this.indicators.containsKey(name)) {
			this.runtime.put(name, new ProducerHealthIndicator(producer, this.failureWindow, this.clock));
		}
	}

	@Override
	public void removed(String name, Producer producer) {
		ProducerHealthIndicator indicator = this.runtime.get(name);
		if (indicator != null && indicator.producer() == producer) {
			this.runtime.remove(name, indicator);
		}
	}

	@Override
	public @Nullable HealthContributor getContributor(String name) {
		if (this.indicators.containsKey(name)) {
			return isOpen(name) ? this.indicators.get(name) : null;
		}
		ProducerHealthIndicator indicator = this.runtime.get(name);
		return (indicator != null && indicator.producer().status() != ProducerStatus.CLOSED) ? indicator : null;
	}

	@Override
	public Stream<HealthContributors.Entry> stream() {
		Stream<HealthContributors.Entry> beans = this.indicators.entrySet()
			.stream()
			.filter((entry) -> isOpen(entry.getKey()))
			.map((entry) -> new HealthContributors.Entry(entry.getKey(), entry.getValue()));
		Stream<HealthContributors.Entry> runtimeProducers = this.runtime.entrySet()
			.stream()
			.filter((entry) -> entry.getValue().producer().status() != ProducerStatus.CLOSED)
			.map((entry) -> new HealthContributors.Entry(entry.getKey(), entry.getValue()));
		return Stream.concat(beans, runtimeProducers);
	}

	private boolean isOpen(String name) {
		Producer producer = this.producers.get(name);
		return producer != null && producer.status() != ProducerStatus.CLOSED;
	}

}
