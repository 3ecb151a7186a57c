package io.waterdrop.sample;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A web app that produces through WaterDrop: see {@code application.yml} for its producers and Pollers and
 * {@link MessagesController} for what to curl. Without {@code spring.kafka.bootstrap-servers} it starts a
 * real Kafka broker in this JVM first ({@link EmbeddedKafkaStarter}).
 */
@SpringBootApplication
public class SampleApplication {

	public static void main(String[] args) {
		start(args);
	}

	static ConfigurableApplicationContext start(String... args) {
		SpringApplication application = new SpringApplication(SampleApplication.class);
		application.addListeners(new EmbeddedKafkaStarter());
		return application.run(args);
	}

}
