package io.waterdrop.autoconfigure.lifecycle;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Reports a producer that could not connect at start-up: which one, the broker it tried, what Kafka said,
 * and the ways out (the broker address, transactions on the broker, the in-memory switch for tests).
 */
class ProducerConnectFailureAnalyzer extends AbstractFailureAnalyzer<ProducerConnectException> {

	@Override
	protected FailureAnalysis analyze(Throwable rootFailure, ProducerConnectException cause) {
		String name = cause.producerName();
		Throwable kafka = (cause.getCause() != null) ? cause.getCause() : cause;
		StringBuilder description = new StringBuilder("WaterDrop producer '").append(name)
			.append("' could not connect to Kafka.\n\n");
		description.append("    Bootstrap servers: ").append(cause.bootstrapServers()).append('\n');
		if (cause.transactionalId() != null) {
			description.append("    Transactional id: ").append(cause.transactionalId()).append('\n');
		}
		description.append("    Reason: ").append(kafka.getClass().getName()).append(": ").append(kafka.getMessage());
		if (!cause.closed().isEmpty()) {
			description.append("\n\nThe producers connected before it were closed again: ")
				.append(String.join(", ", cause.closed()))
				.append('.');
		}
		StringBuilder action = new StringBuilder("Check that a Kafka broker is reachable at ")
			.append(cause.bootstrapServers())
			.append(": it is set by spring.kafka.bootstrap-servers (or Boot's KafkaConnectionDetails, e.g. "
					+ "Testcontainers' @ServiceConnection), waterdrop.kafka.bootstrap.servers or waterdrop.producers.")
			.append(name)
			.append(".kafka.bootstrap.servers.");
		if (cause.transactionalId() != null) {
			action.append(" This producer is transactional: its connect waits up to Kafka's max.block.ms (60s by "
					+ "default) for the transaction coordinator, which needs a broker that can host the transaction "
					+ "state log (transaction.state.log.replication.factor and min.isr no more than its brokers) "
					+ "and, with ACLs, write access to transactional id '")
				.append(cause.transactionalId())
				.append("'.");
		}
		action.append(" In tests without a broker, set waterdrop.in-memory=true or annotate the test class with "
				+ "@AutoConfigureWaterDropInMemory.");
		return new FailureAnalysis(description.toString(), action.toString(), cause);
	}

}
