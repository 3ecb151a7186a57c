package io.waterdrop.autoconfigure.inmemory;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;

import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropProducerCustomizer;
import io.waterdrop.testing.InMemoryKafka;

/**
 * With {@code waterdrop.in-memory=true} (WaterDrop's {@code deliver: false}), every WaterDrop producer of
 * the context stores its messages in one {@link InMemoryKafka} bean instead of sending them, with realistic
 * reports; inject the bean in a {@code @SpringBootTest} to assert what was produced. Boot's own Kafka
 * beans are untouched.
 */
@AutoConfiguration(before = WaterDropAutoConfiguration.class)
@ConditionalOnProperty(name = "waterdrop.in-memory", havingValue = "true")
public final class WaterDropInMemoryAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	InMemoryKafka waterdropInMemoryKafka() {
		return new InMemoryKafka();
	}

	@Bean
	WaterDropProducerCustomizer waterdropInMemoryClients(InMemoryKafka inMemoryKafka) {
		return (producerName, builder) -> builder.clientFactory(inMemoryKafka);
	}

}
