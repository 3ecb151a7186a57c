package io.waterdrop.autoconfigure.inmemory;

import java.util.Set;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.Environment;
import org.springframework.core.env.PropertySource;

import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropProducerCustomizer;
import io.waterdrop.testing.InMemoryKafka;

/**
 * With {@code waterdrop.in-memory=true} (WaterDrop's {@code deliver: false}), every producer the starter
 * builds stores its messages in one {@link InMemoryKafka} bean instead of sending them, with realistic
 * reports; inject the bean in a {@code @SpringBootTest} to assert what was produced. Boot's own Kafka
 * beans, and {@code Producer} beans the application builds itself, are untouched. In tests,
 * {@link AutoConfigureWaterDropInMemory @AutoConfigureWaterDropInMemory} on the test class switches it on.
 * <p>
 * Every message is "acknowledged" and then dropped, so outside a test context a warning says so at
 * start-up, loudly. A test context is one whose environment has the inlined test properties Spring's test
 * framework adds to every {@code @SpringBootTest} and test slice, or the properties Boot's test support maps
 * from annotations such as {@code @AutoConfigureWaterDropInMemory} (in any Spring test, a
 * {@code @SpringJUnitConfig} one too).
 */
@AutoConfiguration(before = WaterDropAutoConfiguration.class)
@ConditionalOnBooleanProperty("waterdrop.in-memory")
public final class WaterDropInMemoryAutoConfiguration {

	/** The property source Spring's test framework adds for the inlined properties of a test context. */
	static final String TEST_PROPERTIES = "Inlined Test Properties";

	/** The type of property source Boot's test support adds for {@code @PropertyMapping} annotations. */
	private static final String ANNOTATION_PROPERTIES =
			"org.springframework.boot.test.context.AnnotationsPropertySource";

	private static final Log logger = LogFactory.getLog(WaterDropInMemoryAutoConfiguration.class);

	@Bean
	@ConditionalOnMissingBean
	InMemoryKafka waterdropInMemoryKafka() {
		return new InMemoryKafka();
	}

	@Bean
	WaterDropProducerCustomizer waterdropInMemoryClients(InMemoryKafka inMemoryKafka) {
		return (producerName, builder) -> builder.clientFactory(inMemoryKafka);
	}

	@Bean
	SmartInitializingSingleton waterdropInMemoryWarning(Environment environment, ListableBeanFactory beanFactory) {
		return () -> {
			if (!isTestContext(environment)) {
				Set<String> producers = beanFactory.getBeansOfType(Producer.class, false, false).keySet();
				logger.warn("""

						**********************************************************************************
						waterdrop.in-memory is true outside a test: the WaterDrop producers %s
						send NOTHING to Kafka. Every message is stored in memory, reported as acknowledged
						and lost when the application stops. This switch is for tests; remove it from the
						application's configuration (in tests, annotate the test class with
						@AutoConfigureWaterDropInMemory instead).
						**********************************************************************************"""
					.formatted(producers));
			}
		};
	}

	private static boolean isTestContext(Environment environment) {
		if (environment instanceof ConfigurableEnvironment configurable) {
			for (PropertySource<?> source : configurable.getPropertySources()) {
				// By type name: Boot's test support is not on an application's class path.
				if (source.getName().equals(TEST_PROPERTIES)
						|| source.getClass().getName().equals(ANNOTATION_PROPERTIES)) {
					return true;
				}
			}
		}
		return false;
	}

}
