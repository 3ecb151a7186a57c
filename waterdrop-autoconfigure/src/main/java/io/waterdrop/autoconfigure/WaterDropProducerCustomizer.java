package io.waterdrop.autoconfigure;

import io.waterdrop.ProducerConfig;

/**
 * Callback that customizes the configuration of every producer the auto-configuration builds, after the
 * {@code waterdrop.*} properties are applied and before the configuration is validated and built.
 * Customizer beans are applied in {@link org.springframework.core.annotation.Order order}.
 * <p>
 * Typical uses: payload and key serializers, or settings that depend on other beans. Kafka client
 * properties are better set under {@code waterdrop.kafka} or {@code waterdrop.producers.<name>.kafka}.
 */
@FunctionalInterface
public interface WaterDropProducerCustomizer {

	/**
	 * Customizes the configuration of one producer.
	 * @param producerName name of the producer, which is also its bean name (a runtime producer's name, which has
	 * no bean) and default id
	 * @param builder the configuration being built
	 */
	void customize(String producerName, ProducerConfig.Builder builder);

}
