package io.waterdrop.autoconfigure.inmemory;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.annotation.Configuration;
import org.springframework.test.context.junit.jupiter.SpringJUnitConfig;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Test methods sharing one context each see only what they, and their {@code @BeforeEach}, produced: the
 * in-memory Kafka is cleared before each, as Boot resets mocks.
 */
@SpringJUnitConfig(InMemoryKafkaResetTestExecutionListenerTests.Config.class)
@AutoConfigureWaterDropInMemory
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(60)
class InMemoryKafkaResetTestExecutionListenerTests {

	@Autowired
	Producer producer;

	@Autowired
	InMemoryKafka kafka;

	@BeforeEach
	void produceAFixture() {
		this.producer.produceSync(Message.of("orders", "fixture"));
	}

	@Test
	@Order(1)
	void aFirstTestSeesItsOwnMessages() {
		this.producer.produceSync(Message.of("orders", "first"));
		assertThat(this.kafka.payloads("orders")).containsExactly("fixture", "first");
	}

	@Test
	@Order(2)
	void aSecondTestInTheSameContextSeesOnlyItsOwn() {
		long offset = this.producer.produceSync(Message.of("orders", "second")).offset();
		assertThat(this.kafka.payloads("orders")).containsExactly("fixture", "second");
		assertThat(offset).as("offsets start again too").isEqualTo(1);
	}

	@Configuration(proxyBeanMethods = false)
	static class Config {

	}

}
