package io.waterdrop.autoconfigure.lifecycle;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.context.annotation.Bean;

import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropEventListener;
import io.waterdrop.autoconfigure.WaterDropProducers;
import io.waterdrop.autoconfigure.WaterDropProperties;
import io.waterdrop.polling.Poller;

/**
 * Auto-configuration of the lifecycle of WaterDrop's producers and Pollers: producers are connected on
 * start and closed on shutdown, then the Pollers are waited for.
 */
@AutoConfiguration(after = WaterDropAutoConfiguration.class)
@ConditionalOnBean(WaterDropProducers.class)
public final class WaterDropLifecycleAutoConfiguration {

	@Bean
	static EventListenerSubscriber waterdropEventListenerSubscriber(
			ObjectProvider<WaterDropEventListener> listeners) {
		return new EventListenerSubscriber(listeners);
	}

	@Bean
	ProducersLifecycle waterdropProducersLifecycle(WaterDropProducers producers, WaterDropProperties properties) {
		return new ProducersLifecycle(producers, properties);
	}

	@Bean
	PollersLifecycle waterdropPollersLifecycle(ObjectProvider<Poller> pollers, WaterDropProperties properties) {
		return new PollersLifecycle(pollers, properties.getCloseTimeout());
	}

}
