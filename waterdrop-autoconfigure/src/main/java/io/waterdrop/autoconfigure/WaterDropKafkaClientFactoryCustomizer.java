package io.waterdrop.autoconfigure;

import org.springframework.kafka.core.DefaultKafkaProducerFactory;

/**
 * Callback that customizes the spring-kafka factory behind one WaterDrop Kafka client, after every
 * {@link org.springframework.boot.kafka.autoconfigure.DefaultKafkaProducerFactoryCustomizer} has run and
 * before the client is created. Unlike those customizers it sees WaterDrop's factories only, never Boot's
 * own: use it to add a producer post-processor or a factory listener to WaterDrop's clients alone.
 * Customizer beans are applied in {@link org.springframework.core.annotation.Order order}.
 * <p>
 * The factory creates exactly one client and is not a bean; serializers set on it are ignored (WaterDrop
 * hands its clients bytes).
 */
@FunctionalInterface
public interface WaterDropKafkaClientFactoryCustomizer {

	/**
	 * Customizes the factory of one client.
	 * @param producerName name of the WaterDrop producer the client is for
	 * @param factory the factory, customized by Boot's customizers already
	 */
	void customize(String producerName, DefaultKafkaProducerFactory<byte[], byte[]> factory);

}
