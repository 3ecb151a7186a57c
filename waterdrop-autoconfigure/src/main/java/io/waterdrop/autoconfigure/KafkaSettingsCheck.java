package io.waterdrop.autoconfigure;

import java.util.Map;
import java.util.function.UnaryOperator;

import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;

import io.waterdrop.InvalidConfigurationException;

/**
 * Checks a producer's Kafka settings as Kafka will when it builds the client (each known key's type and
 * allowed values), so that a bad value fails start-up, or a runtime producer's {@code create}, naming the
 * key where it was set, rather than the producer's first message. Keys Kafka does not know are left alone:
 * Kafka ignores them too (and interceptors or serializers may read them).
 */
final class KafkaSettingsCheck {

	private static final Map<String, ConfigDef.ConfigKey> KEYS = ProducerConfig.configDef().configKeys();

	private KafkaSettingsCheck() {
	}

	/**
	 * @param settings the Kafka settings, serializers excepted (WaterDrop resolves those itself)
	 * @param pathOf where a key was set, for the message
	 */
	static void check(Map<String, Object> settings, UnaryOperator<String> pathOf) {
		settings.forEach((name, value) -> {
			ConfigDef.ConfigKey key = KEYS.get(name);
			if (key == null || value == null) {
				return;
			}
			try {
				Object parsed = ConfigDef.parseType(name, value, key.type);
				if (key.validator != null) {
					key.validator.ensureValid(name, parsed);
				}
			}
			catch (ConfigException ex) {
				throw new InvalidConfigurationException(pathOf.apply("kafka." + name),
						"is not a value Kafka accepts: " + ex.getMessage(),
						"Set " + name + " as Kafka's producer configuration documents it.");
			}
		});
	}

}
