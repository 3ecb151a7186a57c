package io.waterdrop.autoconfigure.health;

import java.time.Clock;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthContributor;
import org.springframework.context.annotation.Bean;

import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropProducers;
import io.waterdrop.autoconfigure.WaterDropProperties;

/**
 * Auto-configuration for the {@code waterdrop} health component: one entry per producer of
 * {@link WaterDropProducers}, from cached state only (see {@link ProducerHealthIndicator}). Turned off with
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
	@ConditionalOnMissingBean(name = "waterdropHealthContributor")
	HealthContributor waterdropHealthContributor(WaterDropProducers producers, WaterDropProperties properties) {
		return new WaterDropHealthContributor(producers.asMap(), properties.getHealth().getFailureWindow(),
				Clock.systemUTC());
	}

}
