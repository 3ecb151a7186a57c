package io.waterdrop.autoconfigure.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.core.MicrometerProducerListener;

import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropProducers;
import io.waterdrop.instrumentation.micrometer.WaterDropMetrics;
import io.waterdrop.polling.Poller;

/**
 * Auto-configuration for WaterDrop's meters, when a {@link MeterRegistry} bean exists.
 * <p>
 * Defines {@code waterdropMetrics}, a {@link WaterDropMetrics} binder over every producer of
 * {@link WaterDropProducers} and every {@link Poller} bean, which Boot binds to the registry like any
 * {@code MeterBinder} bean; and, for Kafka's own client metrics ({@code kafka.producer.*}) that Boot's
 * {@code KafkaMetricsAutoConfiguration} adds through its producer-factory customizer, one rescan thread for
 * the clients of every producer instead of a thread per client ({@link SharedKafkaClientMetrics}).
 */
@AutoConfiguration(after = WaterDropAutoConfiguration.class,
		afterName = { "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
				"org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration" })
@ConditionalOnClass({ MeterRegistry.class, WaterDropMetrics.class })
@ConditionalOnBean({ MeterRegistry.class, WaterDropProducers.class })
public final class WaterDropMetricsAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	WaterDropMetrics waterdropMetrics(WaterDropProducers producers, ObjectProvider<Poller> pollers) {
		return new WaterDropMetrics(producers.asMap().values(), pollers.orderedStream().toList());
	}

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass({ KafkaClientMetrics.class, MicrometerProducerListener.class })
	static class KafkaClientMetricsConfiguration {

		@Bean
		@ConditionalOnMissingBean
		SharedKafkaClientMetrics waterdropKafkaClientMetrics(MeterRegistry registry) {
			return new SharedKafkaClientMetrics(registry, SharedKafkaClientMetrics.DEFAULT_RESCAN_INTERVAL);
		}

	}

}
