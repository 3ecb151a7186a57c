package io.waterdrop.docs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropEventListener;
import io.waterdrop.autoconfigure.inmemory.WaterDropInMemoryAutoConfiguration;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Documented beans that only compiling them would not prove usable: each started in a context with the
 * producers the docs give them.
 */
@Timeout(60)
class ConfigurationSnippetsContextTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class,
				WaterDropLifecycleAutoConfiguration.class, WaterDropInMemoryAutoConfiguration.class))
		.withPropertyValues("waterdrop.in-memory=true");

	/** The dead-letter listener of configuration.md beside the producer entry it injects (names must not clash). */
	@Test
	void theExtensionsStartBesideTheProducersTheyUse() {
		this.runner.withUserConfiguration(ConfigurationSnippets.MoreExtensions.class)
			.withPropertyValues("waterdrop.producers.orders.max-in-flight=10",
					"waterdrop.producers.deadLetters.max-in-flight=10")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertThat(context).hasSingleBean(WaterDropEventListener.class);
				assertThat(context.getBean("deadLetters")).isInstanceOf(Producer.class);
			});
	}

}
