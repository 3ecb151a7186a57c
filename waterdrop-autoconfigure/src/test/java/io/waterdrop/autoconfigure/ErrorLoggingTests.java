package io.waterdrop.autoconfigure;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.inmemory.WaterDropInMemoryAutoConfiguration;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * As Boot's {@code KafkaTemplate} logs its failed sends, every producer the starter manages, runtime ones
 * too, logs its {@code error.occurred} events ({@code waterdrop.log-errors}, on by default): here a callback
 * that throws, which nothing else would report. Off, nothing is logged.
 */
@ExtendWith(OutputCaptureExtension.class)
@Timeout(120)
class ErrorLoggingTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class,
				WaterDropInMemoryAutoConfiguration.class, WaterDropLifecycleAutoConfiguration.class))
		.withPropertyValues("waterdrop.in-memory=true", "waterdrop.producers.orders.max-in-flight=10",
				"waterdrop.templates.tenant.max-in-flight=10");

	@Test
	void errorsOfBeanAndRuntimeProducersAreLoggedByDefault(CapturedOutput output) {
		this.runner.run((context) -> {
			Producer orders = context.getBean("orders", Producer.class);
			Producer tenant = context.getBean(WaterDropRuntimeProducers.class).create("tenant-1", "tenant");

			throwingCallback(orders);
			throwingCallback(tenant);

			await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(output)
				.contains("Producer 'orders': callbacks.delivery.error of a message to 't' failed: "
						+ "java.lang.IllegalStateException: callback failed (simulated)")
				.contains("Producer 'tenant-1': callbacks.delivery.error"));
		});
	}

	@Test
	void noErrorIsLoggedWhenLogErrorsIsOff(CapturedOutput output) {
		this.runner.withPropertyValues("waterdrop.log-errors=false").run((context) -> {
			Producer orders = context.getBean("orders", Producer.class);

			throwingCallback(orders);
			orders.produceSync(Message.of("t", "after")); // reports are dispatched in order: the callback ran

			assertThat(output).doesNotContain("callbacks.delivery.error");
		});
	}

	private static void throwingCallback(Producer producer) {
		producer.produceAsync(Message.of("t", "m"), (report, failure) -> {
			throw new IllegalStateException("callback failed (simulated)");
		});
	}

}
