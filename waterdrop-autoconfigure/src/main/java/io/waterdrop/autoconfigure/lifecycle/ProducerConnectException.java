package io.waterdrop.autoconfigure.lifecycle;

import java.util.Collection;
import java.util.List;
import java.util.stream.Collectors;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.jspecify.annotations.Nullable;

import io.waterdrop.Producer;

/**
 * A producer failed to connect while the context started: its Kafka client could not be created, or, for
 * a transactional producer, {@code initTransactions} failed (timed out waiting for the transaction
 * coordinator, typically). Every producer of the context has been closed when it is thrown.
 */
final class ProducerConnectException extends RuntimeException {

	private static final long serialVersionUID = 1L;

	private final String producerName;

	private final @Nullable String settings;

	private final String bootstrapServers;

	private final @Nullable String transactionalId;

	private final List<String> closed;

	ProducerConnectException(String producerName, @Nullable String settings, Producer producer,
			List<String> connectedBefore, RuntimeException cause) {
		super("WaterDrop producer '" + producerName + "' failed to connect to Kafka at "
				+ bootstrapServers(producer) + ": " + cause, cause);
		this.producerName = producerName;
		this.settings = settings;
		this.bootstrapServers = bootstrapServers(producer);
		Object transactionalId = producer.config().kafka().get(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
		this.transactionalId = (transactionalId != null) ? transactionalId.toString() : null;
		this.closed = List.copyOf(connectedBefore);
	}

	private static String bootstrapServers(Producer producer) {
		Object servers = producer.config().kafka().get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
		if (servers instanceof Collection<?> list) {
			return list.stream().map(String::valueOf).collect(Collectors.joining(","));
		}
		return (servers != null) ? servers.toString() : "(no bootstrap.servers set)";
	}

	String producerName() {
		return this.producerName;
	}

	/**
	 * Where its own settings are: a {@code waterdrop.producers} entry's path (a pool's for its members),
	 * {@code waterdrop} for the default producer, {@code null} for a producer the application built itself.
	 */
	@Nullable String settings() {
		return this.settings;
	}

	String bootstrapServers() {
		return this.bootstrapServers;
	}

	@Nullable String transactionalId() {
		return this.transactionalId;
	}

	/** The producers that had connected before this one failed; closed again since. */
	List<String> closed() {
		return this.closed;
	}

}
