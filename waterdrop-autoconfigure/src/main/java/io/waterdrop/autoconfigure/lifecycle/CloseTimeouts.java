package io.waterdrop.autoconfigure.lifecycle;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import org.jspecify.annotations.Nullable;

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
		ProducerProperties own = entryOf(producerName);
		return (own != null && own.getCloseTimeout() != null) ? own.getCloseTimeout()
				: this.properties.getCloseTimeout();
	}

	/** Where the close timeout of the given producer is set, for messages. */
	String propertyOf(String producerName) {
		ProducerProperties own = entryOf(producerName);
		return (own != null && own.getCloseTimeout() != null)
				? entryPath("waterdrop.producers", entryName(producerName)) + ".close-timeout"
				: "waterdrop.close-timeout";
	}

	/**
	 * The {@code close-timeout} each template sets itself, by the property that sets it: the runtime producers
	 * made from it drain with it, in the producers' shutdown phase.
	 */
	Map<String, Duration> ofTemplates() {
		Map<String, Duration> timeouts = new LinkedHashMap<>();
		this.properties.getTemplates().forEach((name, template) -> {
			if (template.getCloseTimeout() != null) {
				timeouts.put(entryPath("waterdrop.templates", name) + ".close-timeout", template.getCloseTimeout());
			}
		});
		return timeouts;
	}

	/** An entry's path, a name with a dot in brackets: only they keep it one element. */
	private static String entryPath(String map, String name) {
		return (name.indexOf('.') < 0) ? map + "." + name : map + "[" + name + "]";
	}

	/** The entry defining a producer: its own, or for a pool member {@code <pool>-<i>} its pool's. */
	private @Nullable ProducerProperties entryOf(String producerName) {
		return this.properties.getProducers().get(entryName(producerName));
	}

	private String entryName(String producerName) {
		if (this.properties.getProducers().containsKey(producerName)) {
			return producerName;
		}
		int dash = producerName.lastIndexOf('-');
		String index = (dash > 0) ? producerName.substring(dash + 1) : "";
		if (!index.isEmpty() && index.length() < 10 && index.chars().allMatch(Character::isDigit)) {
			String pool = producerName.substring(0, dash);
			ProducerProperties entry = this.properties.getProducers().get(pool);
			if (entry != null && entry.getPoolSize() != null
					&& Integer.parseInt(index) < entry.getPoolSize()) {
				return pool;
			}
		}
		return producerName;
	}

}
