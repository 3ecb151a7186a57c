package io.waterdrop.autoconfigure.lifecycle;

import java.time.Duration;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.SearchStrategy;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.DependsOn;
import org.springframework.context.annotation.Role;
import org.springframework.core.env.Environment;

import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropEventListener;
import io.waterdrop.autoconfigure.WaterDropProducers;
import io.waterdrop.autoconfigure.WaterDropProperties;
import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;

/**
 * Auto-configuration of the lifecycle of the context's WaterDrop producers and Pollers: producers are
 * connected on start; when the context closes they are drained in its shutdown phase, closed, each with its
 * {@code close-timeout}, when the context destroys them (after the beans that depend on them; also when it
 * fails to start), and then the Pollers are waited for.
 *
 * @see ProducersLifecycle
 * @see PollersLifecycle
 */
@AutoConfiguration(after = WaterDropAutoConfiguration.class)
@ConditionalOnBean(WaterDropProducers.class)
public final class WaterDropLifecycleAutoConfiguration {

	/** Spring Boot's default of {@code spring.lifecycle.timeout-per-shutdown-phase}. */
	static final Duration DEFAULT_SHUTDOWN_PHASE_TIMEOUT = Duration.ofSeconds(30);

	/**
	 * Depends on the Pollers' lifecycle so that it is created with the post-processors, before every
	 * application bean and producer: the context destroys its beans in the reverse order, so the Pollers are
	 * waited for after all of them, without tying any producer's destruction to it.
	 */
	@Bean
	@DependsOn(PollersLifecycle.BEAN_NAME)
	static ProducerCloser waterdropProducerCloser(ObjectProvider<WaterDropProperties> properties) {
		return new ProducerCloser(properties);
	}

	@Bean(ProducersLifecycle.BEAN_NAME)
	ProducersLifecycle waterdropProducersLifecycle(ConfigurableApplicationContext context,
			ObjectProvider<WaterDropEventListener> listeners, WaterDropProperties properties, Environment environment,
			ProducerCloser closer) {
		Duration phaseTimeout = Binder.get(environment)
			.bind("spring.lifecycle.timeout-per-shutdown-phase", Duration.class)
			.orElse(DEFAULT_SHUTDOWN_PHASE_TIMEOUT);
		ProducersLifecycle lifecycle = new ProducersLifecycle(context, listeners, properties.isLogErrors(),
				new CloseTimeouts(properties), phaseTimeout);
		closer.drainWith(lifecycle);
		return lifecycle;
	}

	@Bean
	@ConditionalOnBean(value = WaterDropRuntimeProducers.class, search = SearchStrategy.CURRENT)
	RuntimeProducersLifecycle waterdropRuntimeProducersLifecycle(ConfigurableApplicationContext context,
			WaterDropRuntimeProducers producers) {
		return new RuntimeProducersLifecycle(context, producers);
	}

	@Bean(PollersLifecycle.BEAN_NAME)
	@Role(BeanDefinition.ROLE_INFRASTRUCTURE) // created for a post-processor: not to be post-processed
	static PollersLifecycle waterdropPollersLifecycle(ConfigurableListableBeanFactory beanFactory) {
		return new PollersLifecycle(beanFactory);
	}

}
