package io.waterdrop.autoconfigure.lifecycle;

import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.ConfigException;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.core.env.Environment;

/**
 * Reports a producer that could not connect at start-up: which one, the broker it tried, what Kafka said
 * (the whole chain of causes: Kafka wraps what refused its client's construction), and the ways out. A
 * client Kafka refused to build is a configuration error (a class in a list setting, a key store, a JAAS
 * setting, a host name, a combination such as a transactional id without idempotence), whatever the broker;
 * otherwise the broker address, transactions on the broker, the in-memory switch for tests. With that switch
 * on, a producer that still tried Kafka is one the application built itself, which the switch cannot reach.
 */
class ProducerConnectFailureAnalyzer extends AbstractFailureAnalyzer<ProducerConnectException> {

	/** How many causes the description shows at most. */
	private static final int CAUSES_SHOWN = 5;

	private final Environment environment;

	ProducerConnectFailureAnalyzer(Environment environment) {
		this.environment = environment;
	}

	@Override
	protected FailureAnalysis analyze(Throwable rootFailure, ProducerConnectException cause) {
		String name = cause.producerName();
		Throwable kafka = (cause.getCause() != null) ? cause.getCause() : cause;
		if (refusedItsSettings(kafka)) {
			return settingsRefused(name, kafka, cause);
		}
		StringBuilder description = new StringBuilder("WaterDrop producer '").append(name)
			.append("' could not connect to Kafka.\n\n");
		description.append("    Bootstrap servers: ").append(cause.bootstrapServers()).append('\n');
		if (cause.transactionalId() != null) {
			description.append("    Transactional id: ").append(cause.transactionalId()).append('\n');
		}
		appendCauses(description, kafka);
		if (!cause.closed().isEmpty()) {
			description.append("\n\nThe producers connected before it were closed again: ")
				.append(String.join(", ", cause.closed()))
				.append('.');
		}
		StringBuilder action = new StringBuilder("Check that a Kafka broker is reachable at ")
			.append(cause.bootstrapServers())
			.append((cause.settings() != null)
					? ": it is set by spring.kafka.bootstrap-servers (or Boot's KafkaConnectionDetails, e.g. "
							+ "Testcontainers' @ServiceConnection)"
							+ sources(cause, "bootstrap.servers", ", waterdrop.kafka.bootstrap.servers", " or ")
					: ": the application built this producer, with the bootstrap.servers of its own ProducerConfig")
			.append('.');
		if (cause.transactionalId() != null) {
			action.append(" This producer is transactional: its connect waits up to Kafka's max.block.ms (60s by "
					+ "default) for the transaction coordinator, which needs a broker that can host the transaction "
					+ "state log (transaction.state.log.replication.factor and min.isr no more than its brokers) "
					+ "and, with ACLs, write access to transactional id '")
				.append(cause.transactionalId())
				.append("'.");
		}
		if (this.environment.getProperty("waterdrop.in-memory", Boolean.class, false)) {
			action.append(" waterdrop.in-memory is on, but it reaches only the producers the starter builds (under "
					+ "waterdrop.producers, pools' members, runtime producers): '")
				.append(name)
				.append("' is a Producer the application built itself. In tests, build it with "
						+ "clientFactory(inMemoryKafka) from the InMemoryKafka bean, or declare it under "
						+ "waterdrop.producers.")
				.append(name)
				.append('.');
		}
		else {
			action.append(" In tests without a broker, set waterdrop.in-memory=true or annotate the test class with "
					+ "@AutoConfigureWaterDropInMemory.");
		}
		return new FailureAnalysis(description.toString(), action.toString(), cause);
	}

	/**
	 * The settings besides Boot's that give a producer of the starter Kafka's {@code key}: the shared layer and
	 * its entry's (a pool member's are its pool's), the shared layer alone for the default producer.
	 */
	private static String sources(ProducerConnectException cause, String key, String shared, String or) {
		String settings = cause.settings();
		if (settings.equals("waterdrop")) {
			return or + shared.substring(2);
		}
		return shared + or + settings + ".kafka." + key;
	}

	/** Kafka's client constructor wraps whatever refused it in this message; a {@link ConfigException} says so too. */
	private static boolean refusedItsSettings(Throwable kafka) {
		for (Throwable each = kafka; each != null; each = (each.getCause() != each) ? each.getCause() : null) {
			if (each instanceof ConfigException || (each instanceof KafkaException && each.getMessage() != null
					&& each.getMessage().startsWith("Failed to construct kafka producer"))) {
				return true;
			}
		}
		return false;
	}

	private static FailureAnalysis settingsRefused(String name, Throwable kafka, ProducerConnectException cause) {
		StringBuilder description = new StringBuilder("WaterDrop producer '").append(name)
			.append("' could not build its Kafka client: Kafka refused its settings.\n\n");
		appendCauses(description, kafka);
		if (!cause.closed().isEmpty()) {
			description.append("\n\nThe producers connected before it were closed again: ")
				.append(String.join(", ", cause.closed()))
				.append('.');
		}
		String from = (cause.settings() != null)
				? "spring.kafka.producer.*" + sources(cause, "*", ", waterdrop.kafka.*", " or ")
				: "the ProducerConfig the application built this producer with";
		String action = "Correct the Kafka setting the reason names. It comes from " + from
				+ "; Kafka checks some settings (classes in "
				+ "list settings, key stores, JAAS settings, host names, settings that need each other) only when "
				+ "it builds the client.";
		return new FailureAnalysis(description.toString(), action, cause);
	}

	/** "Reason: ..." then a "Caused by: ..." line per cause, as far as {@value #CAUSES_SHOWN}. */
	private static void appendCauses(StringBuilder description, Throwable kafka) {
		Throwable each = kafka;
		for (int shown = 0; each != null && shown < CAUSES_SHOWN; shown++) {
			description.append((shown == 0) ? "    Reason: " : "\n    Caused by: ")
				.append(each.getClass().getName())
				.append(": ")
				.append(each.getMessage());
			each = (each.getCause() != each) ? each.getCause() : null;
		}
	}

}
