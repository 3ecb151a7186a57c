package io.waterdrop.autoconfigure.inmemory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Configuration;
import org.springframework.test.context.junit.jupiter.SpringJUnitConfig;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link AutoConfigureWaterDropInMemory} on a plain Spring test ({@code @SpringJUnitConfig}, no
 * {@code @SpringBootTest} and no inlined properties): the annotation's own property marks it a test context,
 * so the producers deliver in memory without the warning meant for applications.
 */
@SpringJUnitConfig(AutoConfigureWaterDropInMemorySpringTestTests.Config.class)
@AutoConfigureWaterDropInMemory
@ExtendWith(OutputCaptureExtension.class)
@Timeout(60)
class AutoConfigureWaterDropInMemorySpringTestTests {

	@Autowired
	Producer producer;

	@Autowired
	InMemoryKafka kafka;

	@Test
	void producersDeliverInMemoryWithoutAWarning(CapturedOutput output) {
		this.producer.produceSync(Message.of("orders", "in memory"));
		assertThat(this.kafka.payloads("orders")).containsExactly("in memory");
		assertThat(output).doesNotContain("waterdrop.in-memory is true outside a test");
	}

	@Configuration(proxyBeanMethods = false)
	static class Config {

	}

}
