package io.waterdrop.autoconfigure;

import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.utils.Utils;

import io.waterdrop.InvalidConfigurationException;

/**
 * Checks a producer's Kafka settings as Kafka will when it builds the client (each known key's type and
 * allowed values, then the idempotence and transaction combinations) and a batch size the buffer cannot
 * hold, so that a bad value fails start-up, or a runtime producer's {@code create}, naming the key where it
 * was set, rather than the producer's first message. It sees the settings as configured: customizers run
 * after it. Keys Kafka does not know are left alone: Kafka ignores them too (and interceptors or serializers
 * may read them).
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
		checkTransactionalIdResolved(settings, pathOf);
		checkBatchFitsTheBuffer(settings, pathOf);
		checkDeliveryTimeout(settings, pathOf);
		checkIdempotence(settings, pathOf);
		checkBootstrapServers(settings, pathOf);
		checkClassesLoad(settings, pathOf, ProducerConfig.INTERCEPTOR_CLASSES_CONFIG);
		checkClassesLoad(settings, pathOf, ProducerConfig.METRIC_REPORTER_CLASSES_CONFIG);
	}

	/**
	 * Spring leaves a placeholder it cannot resolve in a bound value as it is: {@code transfers-${HOSTNAME}},
	 * meant to tell the instances apart, becomes one literal id on every instance where {@code HOSTNAME} is not
	 * in the JVM's environment (a shell does not export it), and the instances fence each other.
	 */
	private static void checkTransactionalIdResolved(Map<String, Object> settings, UnaryOperator<String> pathOf) {
		Object value = settings.get(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
		if (value == null || settings.get("config.providers") != null) {
			return; // with config providers, ${provider:key} is Kafka's to resolve
		}
		String id = value.toString();
		int start = id.indexOf("${");
		int end = id.indexOf('}', start + 2);
		if (start < 0 || end < 0) {
			return;
		}
		String placeholder = id.substring(start + 2, end);
		throw new InvalidConfigurationException(pathOf.apply("kafka." + ProducerConfig.TRANSACTIONAL_ID_CONFIG),
				"is '" + id + "': nothing resolved its placeholder ${" + placeholder + "} (no property or "
						+ "environment variable of that name), so every instance started so would share this id and "
						+ "fence the others",
				"Make " + placeholder + " known to the application, per instance (Kubernetes and Docker set HOSTNAME; "
						+ "a shell does not export it, and systemd needs Environment=HOSTNAME=%H), or use a property "
						+ "that each instance sets, such as ${INSTANCE_ID}.");
	}

	/**
	 * Kafka's client refuses an address without a port, or none at all, when it is built (before it resolves
	 * any: a name that does not resolve now may later, so that is left to Kafka).
	 */
	private static void checkBootstrapServers(Map<String, Object> settings, UnaryOperator<String> pathOf) {
		Object value = settings.get(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG);
		if (value == null) {
			return;
		}
		List<?> addresses = (List<?>) ConfigDef.parseType(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, value,
				ConfigDef.Type.LIST);
		String path = pathOf.apply("kafka." + ProducerConfig.BOOTSTRAP_SERVERS_CONFIG);
		String action = "Give each broker as host:port, comma-separated (e.g. kafka-1:9092,kafka-2:9092).";
		List<String> given = addresses.stream()
			.map((address) -> address.toString().trim())
			.filter((address) -> !address.isEmpty())
			.toList();
		if (given.isEmpty()) {
			throw new InvalidConfigurationException(path, "names no broker", action);
		}
		for (String address : given) {
			if (Utils.getHost(address) == null || Utils.getPort(address) == null) {
				throw new InvalidConfigurationException(path, "has '" + address + "', which is not host:port, and "
						+ "Kafka's client refuses it", action);
			}
		}
	}

	/** Kafka's client loads these classes when it is built; a name not on the class path fails it. */
	private static void checkClassesLoad(Map<String, Object> settings, UnaryOperator<String> pathOf, String name) {
		Object value = settings.get(name);
		if (value == null) {
			return;
		}
		for (Object entry : (List<?>) ConfigDef.parseType(name, value, ConfigDef.Type.LIST)) {
			String className = (entry instanceof Class<?> type) ? type.getName() : entry.toString().trim();
			try {
				Class.forName(className, false, Utils.getContextOrKafkaClassLoader());
			}
			catch (ClassNotFoundException | LinkageError ex) {
				throw new InvalidConfigurationException(pathOf.apply("kafka." + name), "names class " + className
						+ ", which cannot be loaded (" + ex + ")",
						"Correct the class name, or add the library that has it to the application.");
			}
		}
	}

	/**
	 * Kafka's client refuses a {@code delivery.timeout.ms} set below {@code linger.ms + request.timeout.ms}
	 * when it is built (and raises it silently when it is not set).
	 */
	private static void checkDeliveryTimeout(Map<String, Object> settings, UnaryOperator<String> pathOf) {
		if (settings.get(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG) == null) {
			return;
		}
		long deliveryTimeout = ((Number) value(settings, ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG)).longValue();
		// As Kafka computes it: linger.ms capped to an int first, the sum too.
		long linger = Math.min(((Number) value(settings, ProducerConfig.LINGER_MS_CONFIG)).longValue(),
				Integer.MAX_VALUE);
		long requestTimeout = ((Number) value(settings, ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG)).longValue();
		long least = Math.min(linger + requestTimeout, Integer.MAX_VALUE);
		if (deliveryTimeout < least) {
			throw new InvalidConfigurationException(pathOf.apply("kafka." + ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG),
					"is " + deliveryTimeout + " ms, below linger.ms + request.timeout.ms (" + linger + " + "
							+ requestTimeout + " ms), which Kafka's client refuses",
					"Raise delivery.timeout.ms to at least " + least
							+ " ms, or lower linger.ms or request.timeout.ms.");
		}
	}

	/** Kafka takes a batch.size above buffer.memory, then cannot allocate a batch for any message. */
	private static void checkBatchFitsTheBuffer(Map<String, Object> settings, UnaryOperator<String> pathOf) {
		int batchSize = (Integer) value(settings, ProducerConfig.BATCH_SIZE_CONFIG);
		long bufferMemory = (Long) value(settings, ProducerConfig.BUFFER_MEMORY_CONFIG);
		if (batchSize > bufferMemory) {
			throw new InvalidConfigurationException(pathOf.apply("kafka." + ProducerConfig.BATCH_SIZE_CONFIG),
					"is " + batchSize + " bytes, above buffer.memory (" + bufferMemory + " bytes, "
							+ ((settings.get(ProducerConfig.BUFFER_MEMORY_CONFIG) != null)
									? pathOf.apply("kafka." + ProducerConfig.BUFFER_MEMORY_CONFIG) : "Kafka's default")
							+ "): Kafka could not allocate a batch and would refuse every message",
					"Lower batch.size, or raise buffer.memory above it.");
		}
	}

	/**
	 * The combinations Kafka's client refuses when it is built (kafka-clients 4.1's {@code ProducerConfig}
	 * checks them after each value): with idempotence on (the default) more than 5 requests in flight per
	 * connection; idempotence set on explicitly with {@code retries} 0 or {@code acks} other than all (which
	 * otherwise turn it off); a {@code transactional.id} without idempotence.
	 */
	private static void checkIdempotence(Map<String, Object> settings, UnaryOperator<String> pathOf) {
		String offBy = null;
		if ((Boolean) value(settings, ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG)) {
			String acks = (String) value(settings, ProducerConfig.ACKS_CONFIG);
			if ((Integer) value(settings, ProducerConfig.RETRIES_CONFIG) == 0) {
				offBy = ProducerConfig.RETRIES_CONFIG;
			}
			else if (!acks.equals("all") && !acks.equals("-1")) {
				offBy = ProducerConfig.ACKS_CONFIG;
			}
			if (offBy != null && settings.get(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG) != null) {
				throw new InvalidConfigurationException(pathOf.apply("kafka." + offBy), "is "
						+ value(settings, offBy) + ", which Kafka's idempotent producer cannot work with, and "
						+ "enable.idempotence is set to true (" + pathOf.apply("kafka.enable.idempotence") + ")",
						"Remove " + offBy + " (idempotence needs acks=all and retries above 0), or remove "
								+ "enable.idempotence.");
			}
			int inFlight = (Integer) value(settings, ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION);
			if (inFlight > 5) {
				throw new InvalidConfigurationException(
						pathOf.apply("kafka." + ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION),
						"is " + inFlight + ", above the 5 requests per connection Kafka's idempotent producer "
								+ "keeps in order (idempotence is on unless enable.idempotence is false)",
						"Set it to 5 or less, or set enable.idempotence to false (without a transactional.id).");
			}
		}
		else {
			offBy = ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG;
		}
		if (settings.get(ProducerConfig.TRANSACTIONAL_ID_CONFIG) != null && offBy != null) {
			throw new InvalidConfigurationException(pathOf.apply("kafka." + ProducerConfig.TRANSACTIONAL_ID_CONFIG),
					"needs idempotence, which " + offBy + "=" + value(settings, offBy) + " ("
							+ pathOf.apply("kafka." + offBy) + ") turns off",
					"Remove " + offBy + " (transactions need idempotence, acks=all and retries above 0), or remove "
							+ "transactional.id.");
		}
	}

	/** The setting's value as Kafka parses it, or Kafka's default. */
	private static Object value(Map<String, Object> settings, String name) {
		Object value = settings.get(name);
		ConfigDef.ConfigKey key = KEYS.get(name);
		return (value != null) ? ConfigDef.parseType(name, value, key.type) : key.defaultValue;
	}

}
