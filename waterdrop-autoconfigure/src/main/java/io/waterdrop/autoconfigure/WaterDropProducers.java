package io.waterdrop.autoconfigure;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NoSuchElementException;

import io.waterdrop.Producer;

/**
 * A lookup of producers by name for application code. The auto-configured one holds every {@link Producer}
 * bean the application context can inject, by bean name: its own in definition order (the ones defined
 * under {@code waterdrop.producers}, or the default {@code waterdropProducer}, and any the application
 * defines itself), then those of ancestor contexts it does not shadow.
 * <p>
 * An application may define its own bean of this type; that changes what the lookup returns and nothing
 * else: the starter connects, closes, meters, health-checks and describes every {@link Producer} bean the
 * context defines but a test's mock ({@link ProducerBeans}), whether or not the lookup holds it. Immutable and
 * thread-safe.
 * <p>
 * Not designed for extension: not final only so that Spring can proxy it (an {@code @Lazy} injection point,
 * a scoped proxy).
 */
public class WaterDropProducers {

	private final Map<String, Producer> producers;

	public WaterDropProducers(Map<String, Producer> producers) {
		this.producers = Collections.unmodifiableMap(new LinkedHashMap<>(producers));
	}

	/**
	 * Returns the producer with the given name.
	 * @param name bean name of the producer
	 * @return the producer
	 * @throws NoSuchElementException if there is no producer of that name
	 */
	public Producer get(String name) {
		Producer producer = this.producers.get(name);
		if (producer == null) {
			throw new NoSuchElementException(
					"No WaterDrop producer named '" + name + "'; known producers: " + this.producers.keySet());
		}
		return producer;
	}

	/**
	 * Returns every producer by name.
	 * @return an unmodifiable map in definition order
	 */
	public Map<String, Producer> asMap() {
		return this.producers;
	}

}
