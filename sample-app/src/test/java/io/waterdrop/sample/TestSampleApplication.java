package io.waterdrop.sample;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.testcontainers.service.connection.ServiceConnection;
import org.springframework.context.annotation.Bean;
import org.testcontainers.kafka.KafkaContainer;

/**
 * Runs the sample against Kafka in a Docker container, for machines with Docker:
 * {@code ./mvnw -pl sample-app spring-boot:test-run}. The container's address reaches Boot's and WaterDrop's
 * Kafka settings through {@code @ServiceConnection} ({@code KafkaConnectionDetails}); no property needed.
 */
public class TestSampleApplication {

	public static void main(String[] args) {
		SpringApplication.from(SampleApplication::main)
			.with(KafkaContainerConfiguration.class)
			.run("--sample.embedded-kafka=false");
	}

	@TestConfiguration(proxyBeanMethods = false)
	static class KafkaContainerConfiguration {

		@Bean
		@ServiceConnection
		KafkaContainer kafkaContainer() {
			return new KafkaContainer("apache/kafka-native:4.1.2");
		}

	}

}
