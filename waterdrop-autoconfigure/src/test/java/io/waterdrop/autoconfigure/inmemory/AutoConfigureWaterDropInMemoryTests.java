package io.waterdrop.autoconfigure.inmemory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link AutoConfigureWaterDropInMemory} on a test class: no {@code waterdrop.in-memory} property, no broker
 * (nothing listens at the configured address), and the producers deliver to the {@link InMemoryKafka} bean.
 */
@SpringBootTest(webEnvironment = WebEnvironment.NONE,
		properties = { "spring.kafka.bootstrap-servers=127.0.0.1:1", "waterdrop.producers.orders.kafka.acks=all" })
@AutoConfigureWaterDropInMemory
@ExtendWith(OutputCaptureExtension.class)
@Timeout(60)
class AutoConfigureWaterDropInMemoryTests {

	@Autowired
	@Qualifier("orders")
	Producer orders;

	@Autowired
	InMemoryKafka kafka;

	@Test
	void producersDeliverInMemoryWithoutAWarning(CapturedOutput output) {
		assertThat(this.orders.produceSync(Message.of("orders", "in memory")).offset()).isZero();
		assertThat(this.kafka.payloads("orders")).containsExactly("in memory");
		assertThat(output).doesNotContain("waterdrop.in-memory is true outside a test");
	}

	@SpringBootConfiguration
	@EnableAutoConfiguration
	static class App {

	}

}
