package io.waterdrop.autoconfigure;

import java.util.Map;

import org.springframework.beans.factory.BeanFactoryUtils;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.SearchStrategy;
import org.springframework.boot.context.properties.ConfigurationPropertiesBindHandlerAdvisor;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.bind.PropertySourcesPlaceholdersResolver;
import org.springframework.boot.kafka.autoconfigure.DefaultKafkaProducerFactoryCustomizer;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.kafka.autoconfigure.KafkaConnectionDetails;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.core.env.Environment;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;

import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.transaction.WaterDropTransactionManager;
import io.waterdrop.polling.Poller;

/**
 * Auto-configuration for WaterDrop producers and Pollers.
 * <p>
 * Defines a {@link Producer} bean per {@code waterdrop.producers} entry (bean name = entry name), or the
 * single {@code waterdropProducer} when there is none and no {@link Producer} bean is visible to the context
 * (its own or an ancestor's); a {@link Poller} bean {@code <name>Poller} per {@code waterdrop.pollers} entry,
 * plus {@code waterdropPoller}, the JVM-wide {@link Poller#global() global Poller} (or, with
 * {@code waterdrop.pollers.global.*} set, a Poller of this context with those settings); and the
 * {@link WaterDropProducers} lookup of this context. The lifecycle that connects and closes the producers is
 * {@code WaterDropLifecycleAutoConfiguration}'s. Boot's own {@code ProducerFactory} and {@code KafkaTemplate}
 * are left alone: no spring-kafka type is exposed as a bean.
 *
 * @see WaterDropProperties
 */
@AutoConfiguration(after = KafkaAutoConfiguration.class)
@ConditionalOnClass({ Producer.class, DefaultKafkaProducerFactory.class, KafkaProperties.class })
@EnableConfigurationProperties(WaterDropProperties.class)
public final class WaterDropAutoConfiguration {

	static final String GLOBAL_POLLER_BEAN_NAME = "waterdropPoller";

	/** The name of the global Poller, and of the {@code waterdrop.pollers} entry that configures it. */
	static final String GLOBAL_POLLER_NAME = "global";

	static final String DEFAULT_PRODUCER_BEAN_NAME = "waterdropProducer";

	static final String ASSEMBLER_BEAN_NAME = "waterdropProducerAssembler";

	/** The name of the {@link WaterDropRuntimeProducers} bean. */
	public static final String RUNTIME_PRODUCERS_BEAN_NAME = "waterdropRuntimeProducers";

	/** The name of the {@link WaterDropProducers} bean. */
	public static final String PRODUCERS_BEAN_NAME = "waterdropProducers";

	/**
	 * Bean names taken by this auto-configuration and the metrics, health and endpoint ones, for the
	 * collision check of entry names. Not the default {@code waterdropProducer}'s (nor its transaction
	 * manager's): it exists only without entries.
	 */
	static final Map<String, String> FIXED_BEAN_NAMES = Map.ofEntries(
			Map.entry(GLOBAL_POLLER_BEAN_NAME, "the global Poller bean"),
			Map.entry(PRODUCERS_BEAN_NAME, "the WaterDropProducers bean"),
			Map.entry(RUNTIME_PRODUCERS_BEAN_NAME, "the WaterDropRuntimeProducers bean"),
			Map.entry("waterdropRuntimeProducersLifecycle", "an internal bean"),
			Map.entry("waterdropPoolMetrics", "the TransactionalPoolMetrics bean"),
			Map.entry("waterdropRuntimeProducerMetrics", "an internal bean"),
			Map.entry(ASSEMBLER_BEAN_NAME, "an internal bean"),
			Map.entry("waterdropProducersLifecycle", "an internal bean"),
			Map.entry("waterdropPollersLifecycle", "an internal bean"),
			Map.entry("waterdropProducerCloser", "an internal bean"),
			Map.entry("waterdropEmptyEntryBinding", "an internal bean"),
			Map.entry("waterdropMetrics", "the WaterDropMetrics bean"),
			Map.entry("waterdropKafkaClientMetrics", "an internal bean"),
			Map.entry("waterdropHealthContributor", "the health contributor bean"),
			Map.entry("waterdropEndpoint", "the Actuator endpoint bean"),
			Map.entry("waterdropEndpointWebExtension", "the Actuator endpoint's web extension bean"));

	/**
	 * Binds the entries of {@link WaterDropProperties} written empty from the settings other sources give them
	 * (see {@link EmptyEntryBindHandler}), and the Kafka settings' lists written indexed as one value each (see
	 * {@link KafkaSettingLists}). Static: Boot looks advisors up when it binds the first
	 * {@code @ConfigurationProperties} bean, possibly before this configuration exists.
	 */
	@Bean
	static ConfigurationPropertiesBindHandlerAdvisor waterdropEmptyEntryBinding(Environment environment) {
		PropertySourcesPlaceholdersResolver placeholders = new PropertySourcesPlaceholdersResolver(environment);
		return (parent) -> new KafkaSettingLists(new EmptyEntryBindHandler(parent, placeholders));
	}

	@Configuration(proxyBeanMethods = false)
	static class PollerConfiguration {

		/**
		 * The JVM-wide global Poller, whose settings are fixed; with {@code waterdrop.pollers.global.*} set,
		 * a Poller of this context named {@code global} with those settings instead.
		 */
		@Bean(GLOBAL_POLLER_BEAN_NAME)
		@ConditionalOnMissingBean(name = GLOBAL_POLLER_BEAN_NAME)
		Poller waterdropPoller(WaterDropProperties properties, ProducerAssembler assembler) {
			if (properties.getPollers().containsKey(GLOBAL_POLLER_NAME)) {
				return assembler.poller(GLOBAL_POLLER_NAME);
			}
			return Poller.global();
		}

	}

	@Configuration(proxyBeanMethods = false)
	@Import(WaterDropBeanRegistrar.class)
	static class ProducerConfiguration {

		@Bean(ASSEMBLER_BEAN_NAME)
		ProducerAssembler waterdropProducerAssembler(WaterDropProperties properties,
				ObjectProvider<KafkaProperties> kafkaProperties,
				ObjectProvider<KafkaConnectionDetails> connectionDetails,
				ObjectProvider<DefaultKafkaProducerFactoryCustomizer> factoryCustomizers,
				ObjectProvider<WaterDropKafkaClientFactoryCustomizer> clientFactoryCustomizers,
				ObjectProvider<WaterDropProducerCustomizer> producerCustomizers, ApplicationContext context) {
			return new ProducerAssembler(properties, kafkaProperties, connectionDetails, factoryCustomizers,
					clientFactoryCustomizers, producerCustomizers, context);
		}

		/**
		 * Producers created at run time from {@code waterdrop.templates}; closed with the context. The
		 * destroy method is {@code close()}, a second chance for producers created while it closed.
		 */
		@Bean(RUNTIME_PRODUCERS_BEAN_NAME)
		@ConditionalOnMissingBean(search = SearchStrategy.CURRENT)
		WaterDropRuntimeProducers waterdropRuntimeProducers(ProducerAssembler assembler, WaterDropProperties properties,
				Environment environment, ObjectProvider<WaterDropEventListener> listeners,
				ListableBeanFactory beanFactory) {
			return new WaterDropRuntimeProducers(assembler, properties, environment, listeners, beanFactory);
		}

		/**
		 * Every producer bean the context can inject: its own, then its ancestors' that it does not shadow.
		 * Only this context's own are connected and closed by its lifecycle. Building it creates the producer
		 * beans first, so the context destroys it, and the beans that inject it (whose {@code @PreDestroy} may
		 * still produce), before it closes them.
		 */
		@Bean(PRODUCERS_BEAN_NAME)
		@ConditionalOnMissingBean(search = SearchStrategy.CURRENT)
		WaterDropProducers waterdropProducers(ListableBeanFactory beanFactory, WaterDropProperties properties,
				ObjectProvider<KafkaProperties> kafkaProperties) {
			WaterDropProducers producers = new WaterDropProducers(
					BeanFactoryUtils.beansOfTypeIncludingAncestors(beanFactory, Producer.class, false, true));
			TransactionIdPrefixCheck.warnIfOnlyBootsFactoryIsTransactional(beanFactory,
					kafkaProperties.getIfAvailable(), properties, producers.asMap().values());
			return producers;
		}

	}

	@Configuration(proxyBeanMethods = false)
	@Conditional(NoProducerEntriesCondition.class)
	static class DefaultProducerConfiguration {

		@Bean(DEFAULT_PRODUCER_BEAN_NAME)
		@ConditionalOnMissingBean(Producer.class)
		Producer waterdropProducer(ProducerAssembler assembler) {
			return assembler.producer(DEFAULT_PRODUCER_BEAN_NAME);
		}

		/**
		 * For {@code @Transactional("waterdropProducerTransactionManager")}; never a default candidate. Only
		 * where the producer is defined: a child context uses its parent's producer and manager.
		 */
		@Bean(name = DEFAULT_PRODUCER_BEAN_NAME + "TransactionManager", defaultCandidate = false)
		@ConditionalOnBean(name = DEFAULT_PRODUCER_BEAN_NAME, search = SearchStrategy.CURRENT)
		@Conditional(SharedTransactionalIdCondition.class)
		WaterDropTransactionManager waterdropProducerTransactionManager(
				@Qualifier(DEFAULT_PRODUCER_BEAN_NAME) Producer producer) {
			return new WaterDropTransactionManager(producer);
		}

	}

}
