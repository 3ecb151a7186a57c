package io.waterdrop.sample;

import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
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
 * and is destroyed with it, after every producer has been closed by the lifecycle.
 */
class EmbeddedKafkaStarter implements ApplicationListener<ApplicationEvent> {

	private static final Logger logger = LoggerFactory.getLogger(EmbeddedKafkaStarter.class);

	static final String BOOTSTRAP_SERVERS = "spring.kafka.bootstrap-servers";

	private EmbeddedKafkaKraftBroker broker;

	@Override
	public void onApplicationEvent(ApplicationEvent event) {
		if (event instanceof ApplicationEnvironmentPreparedEvent prepared) {
			startIfNoBrokerConfigured(prepared.getEnvironment());
		}
		else if (event instanceof ApplicationPreparedEvent prepared && this.broker != null
				&& prepared.getApplicationContext() instanceof GenericApplicationContext context) {
			context.registerBean("embeddedKafkaBroker", EmbeddedKafkaKraftBroker.class, () -> this.broker,
					(definition) -> definition.setDestroyMethodName("destroy"));
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
		this.broker = new EmbeddedKafkaKraftBroker(1, 1);
		this.broker.brokerProperties(Map.of("auto.create.topics.enable", "true", "transaction.state.log.replication.factor",
					"1", "transaction.state.log.min.isr", "1"));
		this.broker.afterPropertiesSet();
		String servers = this.broker.getBrokersAsString();
		environment.getPropertySources()
			.addFirst(new MapPropertySource("embeddedKafka", Map.of(BOOTSTRAP_SERVERS, servers)));
		logger.info("No {} given: started an embedded Kafka broker at {}", BOOTSTRAP_SERVERS, servers);
	}

}
