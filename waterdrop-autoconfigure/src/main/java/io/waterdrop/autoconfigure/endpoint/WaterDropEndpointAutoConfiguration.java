package io.waterdrop.autoconfigure.endpoint;

import java.util.List;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.autoconfigure.endpoint.expose.EndpointExposure;
import org.springframework.boot.actuate.endpoint.SanitizingFunction;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.SearchStrategy;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

import io.waterdrop.autoconfigure.ProducerBeans;
import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropProducers;
import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;
import io.waterdrop.polling.Poller;

/**
 * Auto-configuration for the {@code waterdrop} Actuator endpoint ({@link WaterDropEndpoint}), when it is
 * available: accessible and exposed, e.g. with {@code management.endpoints.web.exposure.include=waterdrop};
 * over HTTP with its {@link WaterDropEndpointWebExtension}. It describes the producer and Poller beans of the
 * context and its runtime producers; {@code management.endpoint.waterdrop.show-values} and {@code roles}
 * ({@link WaterDropEndpointProperties}) decide who sees the values of their Kafka settings.
 */
@AutoConfiguration(after = WaterDropAutoConfiguration.class)
@ConditionalOnClass({ Endpoint.class, ConditionalOnAvailableEndpoint.class })
@ConditionalOnBean(WaterDropProducers.class)
@ConditionalOnAvailableEndpoint(WaterDropEndpoint.class)
@EnableConfigurationProperties(WaterDropEndpointProperties.class)
public final class WaterDropEndpointAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean(search = SearchStrategy.CURRENT)
	WaterDropEndpoint waterdropEndpoint(ListableBeanFactory beanFactory,
			ObjectProvider<SanitizingFunction> sanitizingFunctions, WaterDropEndpointProperties properties) {
		return new WaterDropEndpoint(new ProducersView(ProducerBeans.of(beanFactory, true),
				beanFactory.getBeansOfType(WaterDropRuntimeProducers.class, false, true).values()),
				List.copyOf(beanFactory.getBeansOfType(Poller.class, false, true).values()),
				sanitizingFunctions.orderedStream().toList(), properties.getShowValues());
	}

	@Bean
	@ConditionalOnMissingBean(search = SearchStrategy.CURRENT)
	@ConditionalOnBean(WaterDropEndpoint.class)
	@ConditionalOnAvailableEndpoint(exposure = EndpointExposure.WEB)
	WaterDropEndpointWebExtension waterdropEndpointWebExtension(WaterDropEndpoint endpoint,
			WaterDropEndpointProperties properties) {
		return new WaterDropEndpointWebExtension(endpoint, properties.getShowValues(), properties.getRoles());
	}

}
