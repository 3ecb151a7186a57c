package io.waterdrop.docs;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import io.waterdrop.DeliveryFailedException;
import io.waterdrop.InvalidMessageException;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropEventListener;
import io.waterdrop.autoconfigure.inmemory.WaterDropInMemoryAutoConfiguration;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;
import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Documented beans that only compiling them would not prove usable: each started in a context with the
 * producers the docs give them.
 */
@Timeout(60)
class ConfigurationSnippetsContextTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class,
				WaterDropLifecycleAutoConfiguration.class, WaterDropInMemoryAutoConfiguration.class))
		.withPropertyValues("waterdrop.in-memory=true");

	/** The dead-letter listener of configuration.md beside the producer entry it injects (names must not clash). */
	@Test
	void theExtensionsStartBesideTheProducersTheyUse() {
		this.runner.withUserConfiguration(ConfigurationSnippets.MoreExtensions.class)
			.withPropertyValues("waterdrop.producers.orders.max-in-flight=10",
					"waterdrop.producers.deadLetters.max-in-flight=10")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertThat(context).hasSingleBean(WaterDropEventListener.class);
				assertThat(context.getBean("deadLetters")).isInstanceOf(Producer.class);
			});
	}

	/**
	 * The dead-letter listener forwards an undelivered message once, although a failed produceSync publishes
	 * error.occurred twice with it (message.delivery, then message.produce_sync from the call), and a refused
	 * message not at all (its caller has the exception).
	 */
	@Test
	void theDeadLetterListenerForwardsAnUndeliveredMessageOnce() {
		this.runner.withUserConfiguration(ConfigurationSnippets.MoreExtensions.class)
			.withPropertyValues("waterdrop.producers.orders.max-in-flight=10",
					"waterdrop.producers.deadLetters.max-in-flight=10")
			.run((context) -> {
				Producer orders = context.getBean("orders", Producer.class);
				List<ErrorType> published = new CopyOnWriteArrayList<>();
				orders.monitor().subscribe(ProducerEvent.ErrorOccurred.class, (error) -> published.add(error.type()));
				// orders has one partition: Kafka's client (and InMemoryKafka) fails partition 5 on delivery; the
				// forward keeps the partition.
				context.getBean(InMemoryKafka.class).topic("orders", 1).topic("dead-letters", 6);
				Message undeliverable = Message.builder("orders").partition(5).payload("lost").build();
				Message invalid = Message.builder("orders").partition(-1).payload("bad").build();
				assertThatExceptionOfType(DeliveryFailedException.class)
					.isThrownBy(() -> orders.produceSync(undeliverable));
				assertThatExceptionOfType(InvalidMessageException.class).isThrownBy(() -> orders.produceAsync(invalid));
				// Both events of the failed produceSync were published before it threw, and each forward was sent
				// (InMemoryKafka stores a record as it is sent).
				assertThat(published).containsExactly(ErrorType.DELIVERY, ErrorType.MESSAGE_PRODUCE_SYNC,
						ErrorType.MESSAGE_PRODUCE_ASYNC);
				assertThat(context.getBean(InMemoryKafka.class).payloads("dead-letters")).containsExactly("lost");
			});
	}

}
