package io.waterdrop.benchmarks.support;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * The Kafka settings every variant in a scenario shares, so that they differ only in the client under test.
 *
 * @param bootstrapServers the broker
 * @param acks the producers' {@code acks}
 * @param partitions partitions of each topic created
 * @param brokerPid the broker's process id, to read its CPU time ({@link HostCpu}); -1 when it is not a
 * process of this host
 */
public record ClientSettings(String bootstrapServers, String acks, int partitions, long brokerPid) {

	/**
	 * Producer properties (without serializers).
	 * @param lingerMs {@code linger.ms}, or {@code null} for the client's default (5 ms in Kafka 4)
	 */
	public Map<String, Object> producer(String clientId, Integer lingerMs) {
		Map<String, Object> properties = new LinkedHashMap<>();
		properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, this.bootstrapServers);
		properties.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
		properties.put(ProducerConfig.ACKS_CONFIG, this.acks);
		if (lingerMs != null) {
			properties.put(ProducerConfig.LINGER_MS_CONFIG, lingerMs);
		}
		return properties;
	}

	/** The port of the (first) broker in {@link #bootstrapServers()}. */
	public int brokerPort() {
		String first = this.bootstrapServers.split(",")[0].trim();
		return Integer.parseInt(first.substring(first.lastIndexOf(':') + 1));
	}

	/**
	 * Deletes the topics; the broker removes their files a minute later. Throughput trials write hundreds of
	 * megabytes each: without this, a full run would fill the disk.
	 */
	public void deleteTopics(Collection<String> names) {
		try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, this.bootstrapServers))) {
			admin.deleteTopics(names).all().get();
		}
		catch (ExecutionException ex) {
			throw new IllegalStateException("Could not delete topics " + names, ex.getCause());
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted while deleting topics", ex);
		}
	}

	/** Creates the topics (replication factor 1), each with {@link #partitions()} partitions. */
	public void createTopics(Collection<String> names) {
		List<NewTopic> topics = names.stream().map((name) -> new NewTopic(name, this.partitions, (short) 1)).toList();
		try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, this.bootstrapServers))) {
			admin.createTopics(topics).all().get();
		}
		catch (ExecutionException ex) {
			throw new IllegalStateException("Could not create topics " + names, ex.getCause());
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted while creating topics", ex);
		}
	}

}
