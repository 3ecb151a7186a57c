package io.waterdrop.autoconfigure.metrics;

import java.util.List;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.SearchStrategy;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Lazy;
import org.springframework.kafka.core.MicrometerProducerListener;

import io.waterdrop.Producer;
import io.waterdrop.TransactionalPool;
import io.waterdrop.autoconfigure.ProducerBeans;
import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropProducers;
import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;
import io.waterdrop.instrumentation.micrometer.TransactionalPoolMetrics;
import io.waterdrop.instrumentation.micrometer.WaterDropMetrics;
import io.waterdrop.polling.Poller;

/**
 * Auto-configuration for WaterDrop's meters, when a {@link MeterRegistry} bean exists.
 * <p>
 * Defines {@code waterdropMetrics}, a {@link WaterDropMetrics} binder over every {@link Producer} and
 * {@link Poller} bean of the context (not of its ancestors, which bind their own), which Boot binds to the
 * registry like any {@code MeterBinder} bean (a child context using its parent's registry binds it itself:
 * {@link ParentRegistryBinding}); {@code waterdropPoolMetrics} for its transactional pools; the meters of
 * each runtime producer, bound when it is created; and, for Kafka's own client metrics
 * ({@code kafka.producer.*}) that Boot's {@code KafkaMetricsAutoConfiguration} adds through its
 * producer-factory customizer, one rescan thread for the clients of every producer instead of a thread per
 * client ({@link SharedKafkaClientMetrics}).
 */
@AutoConfiguration(after = WaterDropAutoConfiguration.class,
		afterName = { "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
				"org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration" })
@ConditionalOnClass({ MeterRegistry.class, WaterDropMetrics.class })
@ConditionalOnBean({ MeterRegistry.class, WaterDropProducers.class })
public final class WaterDropMetricsAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean(search = SearchStrategy.CURRENT)
	WaterDropMetrics waterdropMetrics(ListableBeanFactory beanFactory) {
		return new WaterDropMetrics(ProducerBeans.of(beanFactory, true).values(),
				List.copyOf(beanFactory.getBeansOfType(Poller.class, false, true).values()));
	}

	/** The meters of this context's transactional pools ({@code waterdrop.producers.<name>.pool-size}). */
	@Bean
	@ConditionalOnMissingBean(name = "waterdropPoolMetrics", search = SearchStrategy.CURRENT)
	TransactionalPoolMetrics waterdropPoolMetrics(ListableBeanFactory beanFactory) {
		return new TransactionalPoolMetrics(beanFactory.getBeansOfType(TransactionalPool.class, false, true)
			.values()
			.stream()
			.filter(TransactionalPool::isReal) // not a test's @MockitoBean: no name, nothing to meter
			.toList());
	}

	/** A child context using its parent's registry binds its own binders, which Boot would not. */
	@Bean
	ParentRegistryBinding waterdropParentRegistryBinding(ListableBeanFactory beanFactory,
			ObjectProvider<MeterRegistry> registry) {
		return new ParentRegistryBinding(beanFactory, registry);
	}

	/**
	 * Binds the meters of each runtime producer of this context when it is created. Nothing asks for this bean:
	 * never lazy, or spring.main.lazy-initialization would leave runtime producers unmetered.
	 */
	@Bean
	@Lazy(false)
	RuntimeProducerMetrics waterdropRuntimeProducerMetrics(ListableBeanFactory beanFactory, MeterRegistry registry) {
		RuntimeProducerMetrics metrics = new RuntimeProducerMetrics(registry);
		beanFactory.getBeansOfType(WaterDropRuntimeProducers.class, false, true)
			.values()
			.forEach((runtime) -> runtime.subscribe(metrics));
		return metrics;
	}

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass({ KafkaClientMetrics.class, MicrometerProducerListener.class })
	static class KafkaClientMetricsConfiguration {

		@Bean
		@ConditionalOnMissingBean
		SharedKafkaClientMetrics waterdropKafkaClientMetrics() {
			return new SharedKafkaClientMetrics(SharedKafkaClientMetrics.DEFAULT_RESCAN_INTERVAL);
		}

	}

}
