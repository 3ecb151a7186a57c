package io.waterdrop.autoconfigure.observation;

import java.util.Optional;
import java.util.function.Supplier;

import io.micrometer.observation.ObservationRegistry;

import org.springframework.context.ApplicationContext;

import io.waterdrop.instrumentation.DeliveryObserver;

/**
 * Makes the {@link DeliveryObserver} that observes a producer's sends, for the starter's producer factory.
 */
public final class WaterDropObservations {

	private WaterDropObservations() {
	}

	/**
	 * The observer of a producer whose observation is enabled: none without an {@link ObservationRegistry}
	 * bean (or with a no-op one), so that a producer then does nothing per message for it.
	 * @param pollerName the Poller or dispatch thread serving the producer, read per message
	 */
	public static Optional<DeliveryObserver> observer(ApplicationContext context, String producerName,
			Supplier<String> pollerName) {
		ObservationRegistry registry = context.getBeanProvider(ObservationRegistry.class).getIfUnique();
		if (registry == null || registry.isNoop()) {
			return Optional.empty();
		}
		WaterDropObservationConvention convention = context.getBeanProvider(WaterDropObservationConvention.class)
			.getIfUnique();
		return Optional.of(new ObservingDeliveryObserver(registry, convention, producerName, pollerName));
	}

}
