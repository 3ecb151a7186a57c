package io.waterdrop.autoconfigure.lifecycle;

import java.time.Duration;

import io.waterdrop.autoconfigure.WaterDropProperties;
import io.waterdrop.autoconfigure.WaterDropProperties.ProducerProperties;

/**
 * The {@code close-timeout} of each producer bean: its entry's own, else {@code waterdrop.close-timeout}
 * (also for producer beans the application defines itself).
 */
final class CloseTimeouts {

	private final WaterDropProperties properties;

	CloseTimeouts(WaterDropProperties properties) {
		this.properties = properties;
	}

	Duration of(String producerName) {
		ProducerProperties own = this.properties.getProducers().get(producerName);
		return (own != null && own.getCloseTimeout() != null) ? own.getCloseTimeout()
				: this.properties.getCloseTimeout();
	}

	/** Where the close timeout of the given producer is set, for messages. */
	String propertyOf(String producerName) {
		ProducerProperties own = this.properties.getProducers().get(producerName);
		return (own != null && own.getCloseTimeout() != null)
				? "waterdrop.producers." + producerName + ".close-timeout" : "waterdrop.close-timeout";
	}

}
