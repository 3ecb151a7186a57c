package io.waterdrop.autoconfigure;

import org.springframework.kafka.test.EmbeddedKafkaKraftBroker;

/**
 * One real KRaft broker inside the test JVM, started on first use and shared by every test class (about
 * 3 s to start), removed when the JVM exits.
 */
public final class TestBroker {

	private static EmbeddedKafkaKraftBroker broker;

	private TestBroker() {
	}

	public static synchronized String bootstrapServers() {
		if (broker == null) {
			EmbeddedKafkaKraftBroker started = new EmbeddedKafkaKraftBroker(1, 1, "orders", "audit", "legacy",
					"events");
			// One broker: the transaction state log (default replication 3, min ISR 2) must fit on it.
			started.brokerProperty("transaction.state.log.replication.factor", "1");
			started.brokerProperty("transaction.state.log.min.isr", "1");
			started.afterPropertiesSet();
			Runtime.getRuntime().addShutdownHook(new Thread(started::destroy, "test-broker-shutdown"));
			broker = started;
		}
		return broker.getBrokersAsString();
	}

}
