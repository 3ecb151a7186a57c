package io.waterdrop.autoconfigure.health;

import java.time.Clock;
import java.time.Duration;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.SearchStrategy;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthContributor;
import org.springframework.context.annotation.Bean;

import io.waterdrop.InvalidConfigurationException;
import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.ProducerBeans;
import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropProducers;
import io.waterdrop.autoconfigure.WaterDropProperties;
import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;

/**
 * Auto-configuration for the {@code waterdrop} health component: one entry per {@link Producer} bean of
 * the context (not of its ancestors) and per runtime producer of the context, from cached state only (see {@link ProducerHealthIndicator}). Turned off with
 * {@code management.health.waterdrop.enabled=false}; replaced by a bean named
 * {@code waterdropHealthContributor} of the application's.
 */
@AutoConfiguration(after = WaterDropAutoConfiguration.class,
		beforeName = "org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration")
@ConditionalOnClass(HealthContributor.class)
@ConditionalOnBean(WaterDropProducers.class)
@ConditionalOnEnabledHealthIndicator("waterdrop")
public final class WaterDropHealthContributorAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean(name = "waterdropHealthContributor", search = SearchStrategy.CURRENT)
	HealthContributor waterdropHealthContributor(ListableBeanFactory beanFactory, WaterDropProperties properties) {
		Duration failureWindow = properties.getHealth().getFailureWindow();
		if (failureWindow == null || failureWindow.isZero() || failureWindow.isNegative()) {
			// Zero reads as "down at the first failure", yet no run of failures could ever outlast it.
			String was = (failureWindow != null) ? failureWindow.toMillis() + " ms" : "empty";
			throw new InvalidConfigurationException("waterdrop.health.failure-window",
					"must be positive but was " + was,
					"Set it to how long deliveries may keep failing before the entry is DOWN, e.g. 30s or 1m.");
		}
		WaterDropHealthContributor contributor = new WaterDropHealthContributor(
				ProducerBeans.of(beanFactory, true), failureWindow, Clock.systemUTC());
		// This context's own runtime producers only, as its own producer beans.
		beanFactory.getBeansOfType(WaterDropRuntimeProducers.class, false, true)
			.values()
			.forEach((runtime) -> runtime.subscribe(contributor));
		return contributor;
	}

}
