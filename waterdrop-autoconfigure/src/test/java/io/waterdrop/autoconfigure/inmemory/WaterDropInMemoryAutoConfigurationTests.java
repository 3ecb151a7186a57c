package io.waterdrop.autoconfigure.inmemory;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.core.env.MapPropertySource;

import io.waterdrop.DeliveryReport;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code waterdrop.in-memory=true} swaps every producer's Kafka client for the {@link InMemoryKafka} bean. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@ExtendWith(OutputCaptureExtension.class)
class WaterDropInMemoryAutoConfigurationTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class, WaterDropLifecycleAutoConfiguration.class,
				WaterDropInMemoryAutoConfiguration.class))
		// No broker listens here: only the in-memory client can deliver.
		.withPropertyValues("spring.kafka.bootstrap-servers=127.0.0.1:1");

	@Test
	void producersStoreTheirMessagesInMemoryWhenEnabled() {
		this.runner
			.withPropertyValues("waterdrop.in-memory=true", "waterdrop.producers.orders.kafka.acks=all",
					"waterdrop.producers.payments.kafka.transactional.id=tx-1")
			.run((context) -> {
				InMemoryKafka kafka = context.getBean(InMemoryKafka.class);
				DeliveryReport report = context.getBean("orders", Producer.class)
					.produceSync(Message.builder("orders").payload("one").label("l").build());
				assertThat(report.offset()).isZero();
				assertThat(report.label()).isEqualTo("l");
				context.getBean("payments", Producer.class).transaction((transaction) -> {
					transaction.produceAsync(Message.of("payments", "kept"));
					return null;
				});
				assertThat(kafka.payloads("orders")).containsExactly("one");
				assertThat(kafka.payloads("payments")).containsExactly("kept");
			});
	}

	@Test
	void realClientsAreUsedByDefault() {
		this.runner.run((context) -> assertThat(context).doesNotHaveBean(InMemoryKafka.class));
		this.runner.withPropertyValues("waterdrop.in-memory=false")
			.run((context) -> assertThat(context).doesNotHaveBean(InMemoryKafka.class));
	}

	@Test
	void warnsLoudlyOutsideATestContext(CapturedOutput output) {
		this.runner.withPropertyValues("waterdrop.in-memory=true", "waterdrop.producers.orders.kafka.acks=all")
			.run((context) -> assertThat(output).contains("waterdrop.in-memory is true outside a test: "
					+ "the WaterDrop producers [orders]")
				.contains("send NOTHING to Kafka")
				.contains("@AutoConfigureWaterDropInMemory"));
	}

	@Test
	void staysQuietInATestContext(CapturedOutput output) {
		// What Spring's test framework adds to the environment of every @SpringBootTest and test slice.
		this.runner.withPropertyValues("waterdrop.in-memory=true")
			.withInitializer((context) -> context.getEnvironment()
				.getPropertySources()
				.addFirst(new MapPropertySource("Inlined Test Properties", Map.of())))
			.run((context) -> {
				assertThat(context).hasSingleBean(InMemoryKafka.class);
				assertThat(output).doesNotContain("waterdrop.in-memory is true outside a test");
			});
	}

}
