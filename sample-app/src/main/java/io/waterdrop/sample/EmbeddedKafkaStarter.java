package io.waterdrop.sample;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.utils.Exit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.boot.context.event.ApplicationFailedEvent;
import org.springframework.boot.context.event.ApplicationPreparedEvent;
import org.springframework.context.ApplicationEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.context.support.GenericApplicationContext;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;
import org.springframework.kafka.test.EmbeddedKafkaKraftBroker;

/**
 * Starts a real KRaft broker inside this JVM when no {@code spring.kafka.bootstrap-servers} is configured,
 * so that the sample runs with one command on a machine without Kafka. The broker is a bean of the context
 * and is stopped with it, after every producer has been closed by the lifecycle.
 * <p>
 * Kafka's test kit deletes the broker's temporary directories from a JVM shutdown hook of its own. On
 * Ctrl-C (SIGTERM) the JVM runs that hook at the same time as Spring's, which is still closing the
 * producers and then the broker, so the broker would find its files gone and log errors. The deletions are
 * therefore collected when the broker starts and run after the broker has stopped.
 */
class EmbeddedKafkaStarter implements ApplicationListener<ApplicationEvent> {

	private static final Logger logger = LoggerFactory.getLogger(EmbeddedKafkaStarter.class);

	static final String BOOTSTRAP_SERVERS = "spring.kafka.bootstrap-servers";

	private EmbeddedBroker broker;

	@Override
	public void onApplicationEvent(ApplicationEvent event) {
		if (event instanceof ApplicationEnvironmentPreparedEvent prepared) {
			startIfNoBrokerConfigured(prepared.getEnvironment());
		}
		else if (event instanceof ApplicationPreparedEvent prepared && this.broker != null
				&& prepared.getApplicationContext() instanceof GenericApplicationContext context) {
			context.registerBean("embeddedKafkaBroker", EmbeddedBroker.class, () -> this.broker);
		}
		else if (event instanceof ApplicationFailedEvent && this.broker != null) {
			this.broker.destroy(); // also when the context was never prepared
		}
	}

	private void startIfNoBrokerConfigured(ConfigurableEnvironment environment) {
		String configured = environment.getProperty(BOOTSTRAP_SERVERS);
		if (configured != null && !configured.isBlank()) {
			logger.info("Using the Kafka broker at {}", configured);
			return;
		}
		if (!environment.getProperty("sample.embedded-kafka", Boolean.class, true)) {
			return; // the broker comes from elsewhere, e.g. a @ServiceConnection container
		}
		this.broker = EmbeddedBroker.start();
		String servers = this.broker.servers();
		environment.getPropertySources()
			.addFirst(new MapPropertySource("embeddedKafka", Map.of(BOOTSTRAP_SERVERS, servers)));
		logger.info("No {} given: started an embedded Kafka broker at {}", BOOTSTRAP_SERVERS, servers);
	}

	/** The broker, and the deletions of its directories, run once it has stopped. */
	static final class EmbeddedBroker implements DisposableBean {

		private final EmbeddedKafkaKraftBroker broker;

		private final List<Runnable> deletions;

		private boolean destroyed;

		private EmbeddedBroker(EmbeddedKafkaKraftBroker broker, List<Runnable> deletions) {
			this.broker = broker;
			this.deletions = deletions;
		}

		static EmbeddedBroker start() {
			EmbeddedKafkaKraftBroker broker = new EmbeddedKafkaKraftBroker(1, 1);
			broker.brokerProperties(Map.of("auto.create.topics.enable", "true",
					"transaction.state.log.replication.factor", "1", "transaction.state.log.min.isr", "1",
					"offsets.topic.num.partitions", "1"));
			List<Runnable> deletions = new ArrayList<>();
			// Kafka's own hook for deleting what the test kit creates: kept, to run after the broker stopped.
			Exit.setShutdownHookAdder((name, hook) -> deletions.add(hook));
			try {
				broker.afterPropertiesSet();
			}
			finally {
				Exit.resetShutdownHookAdder();
			}
			loadGroupCoordinator(broker.getBrokersAsString());
			return new EmbeddedBroker(broker, deletions);
		}

		/**
		 * Has the broker create and load its consumer offsets topic now, before the application (and its
		 * {@code OrderListener}) starts: the first group lookup does it, in the background, and a broker
		 * stopped while it is loading (a shutdown right after start-up) logs errors.
		 */
		private static void loadGroupCoordinator(String servers) {
			try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, servers))) {
				admin.describeConsumerGroups(List.of("sample-order-listener")).all().get(60, TimeUnit.SECONDS);
			}
			catch (ExecutionException ex) {
				if (!(ex.getCause() instanceof GroupIdNotFoundException)) { // not found: the coordinator answered
					logger.warn("The embedded broker's group coordinator is not ready yet: " + ex.getCause());
				}
			}
			catch (TimeoutException ex) {
				logger.warn("The embedded broker's group coordinator is not ready yet: " + ex);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}

		String servers() {
			return this.broker.getBrokersAsString();
		}

		@Override
		public synchronized void destroy() {
			if (this.destroyed) {
				return;
			}
			this.destroyed = true;
			this.broker.destroy();
			this.deletions.forEach(Runnable::run);
		}

	}

}
