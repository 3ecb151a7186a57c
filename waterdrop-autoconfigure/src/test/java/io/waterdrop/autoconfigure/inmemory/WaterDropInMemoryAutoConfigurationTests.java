package io.waterdrop.autoconfigure.inmemory;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import io.waterdrop.DeliveryReport;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code waterdrop.in-memory=true} swaps every producer's Kafka client for the {@link InMemoryKafka} bean. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
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
	}

}
