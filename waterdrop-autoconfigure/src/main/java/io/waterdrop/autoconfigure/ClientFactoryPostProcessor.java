package io.waterdrop.autoconfigure;

import org.springframework.kafka.core.DefaultKafkaProducerFactory;

/**
 * Adjusts the spring-kafka factory behind one WaterDrop Kafka client after every
 * {@link org.springframework.boot.kafka.autoconfigure.DefaultKafkaProducerFactoryCustomizer} has run, and
 * before the client is created. Unlike those customizers it sees WaterDrop's factories only, never Boot's
 * own.
 */
@FunctionalInterface
interface ClientFactoryPostProcessor {

	/**
	 * Post-processes the factory of one client.
	 * @param factory the factory, customized already
	 */
	void postProcess(DefaultKafkaProducerFactory<byte[], byte[]> factory);

}
