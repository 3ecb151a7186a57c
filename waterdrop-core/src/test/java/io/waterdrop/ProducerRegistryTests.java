package io.waterdrop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.testing.InMemoryKafka;
import io.waterdrop.testing.KafkaTestBroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link ProducerRegistry}: producers created and removed at run time by name, in memory and against the
 * real broker.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProducerRegistryTests {

	private final InMemoryKafka kafka = new InMemoryKafka();

	private final ProducerRegistry registry = new ProducerRegistry();

	@AfterEach
	void closeRegistry() {
		this.registry.closeAll(Duration.ofSeconds(10));
	}

	@Test
	void createdProducersAreFoundByNameAndRemovedProducersAreClosed() {
		Producer first = this.registry.create("tenant-1", inMemory("tenant-1"));
		Producer second = this.registry.create("tenant-2", inMemory("tenant-2"));
		assertThat(first.status()).isEqualTo(ProducerStatus.CONFIGURED);
		assertThat(this.registry.get("tenant-1")).isSameAs(first);
		assertThat(this.registry.find("tenant-2")).containsSame(second);
		assertThat(this.registry.names()).containsExactly("tenant-1", "tenant-2");
		assertThat(this.registry.asMap()).containsOnlyKeys("tenant-1", "tenant-2");

		first.produceSync(Message.of("events", "hello"));
		assertThat(this.registry.remove("tenant-1")).isTrue();
		assertThat(first.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(this.registry.find("tenant-1")).isEmpty();
		assertThat(this.registry.remove("tenant-1")).isFalse();
		assertThatThrownBy(() -> this.registry.get("tenant-1")).isInstanceOf(NoSuchElementException.class)
			.hasMessageContaining("No producer named 'tenant-1'");
		assertThat(this.kafka.payloads("events")).containsExactly("hello");
		// The name is free again.
		assertThat(this.registry.create("tenant-1", inMemory("tenant-1"))).isNotSameAs(first);
	}

	@Test
	void aNameInUseIsRefusedAndTheFirstProducerStays() {
		Producer first = this.registry.create("tenant-1", inMemory("tenant-1"));
		assertThatIllegalStateException().isThrownBy(() -> this.registry.create("tenant-1", inMemory("tenant-1")))
			.isInstanceOf(ProducerNameInUseException.class)
			.withMessage("A producer named 'tenant-1' exists already in this registry; remove it first or choose "
					+ "another name");
		assertThat(this.registry.get("tenant-1")).isSameAs(first);
		assertThat(first.status()).isEqualTo(ProducerStatus.CONFIGURED);
		assertThatIllegalArgumentException().isThrownBy(() -> this.registry.create(" ", inMemory("x")));
	}

	@Test
	void concurrentCreationsOfOneNameMakeExactlyOneProducer() throws Exception {
		ExecutorService executor = Executors.newFixedThreadPool(8);
		try {
			for (int round = 0; round < 20; round++) {
				String name = "race-" + round;
				CountDownLatch start = new CountDownLatch(1);
				List<Future<Producer>> attempts = new ArrayList<>();
				for (int i = 0; i < 8; i++) {
					attempts.add(executor.submit(() -> {
						start.await();
						return this.registry.create(name, inMemory(name));
					}));
				}
				start.countDown();
				int created = 0;
				for (Future<Producer> attempt : attempts) {
					try {
						assertThat(attempt.get(30, TimeUnit.SECONDS)).isSameAs(this.registry.get(name));
						created++;
					}
					catch (java.util.concurrent.ExecutionException ex) {
						assertThat(ex.getCause()).isInstanceOf(IllegalStateException.class)
							.hasMessageStartingWith("A producer named '" + name + "'");
					}
				}
				assertThat(created).as(name).isEqualTo(1);
			}
		}
		finally {
			executor.shutdownNow();
		}
	}

	@Test
	void closeAllClosesEveryProducerAndRefusesNewOnes() {
		Producer first = this.registry.create("a", inMemory("a"));
		Producer second = this.registry.create("b", inMemory("b"));
		second.produceSync(Message.of("events", "x"));
		this.registry.closeAll(Duration.ofSeconds(10));
		assertThat(first.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(second.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(this.registry.size()).isZero();
		assertThat(this.registry.isClosed()).isTrue();
		assertThatIllegalStateException().isThrownBy(() -> this.registry.create("c", inMemory("c")))
			.withMessage("Cannot create producer 'c': the registry is closed");
	}

	@Test
	void runtimeProducersDeliverToTheBrokerAndReleaseTheirClientsWhenRemoved() {
		String topic = KafkaTestBroker.uniqueTopic("registry");
		KafkaTestBroker.createTopic(topic, 1);
		for (int i = 0; i < 5; i++) {
			String name = TestProducers.uniqueId("runtime");
			Producer producer = this.registry.create(name, TestProducers.config("unused").id(name).build());
			DeliveryReport report = producer.produceSync(Message.of(topic, "from " + name));
			assertThat(report.offset()).isEqualTo(i);
			assertThat(TestProducers.threadsNamed("kafka-producer-network-thread | " + name)).hasSize(1);
			assertThat(this.registry.remove(name, Duration.ofSeconds(10))).isTrue();
			assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
			assertThat(TestProducers.threadsNamed("kafka-producer-network-thread | " + name)).isEmpty();
		}
		assertThat(this.registry.size()).isZero();
	}

	/** The example of docs/configuration.md (without Spring); built, never connected. */
	@Test
	void theDocumentedExample() {
		ProducerRegistry tenants = new ProducerRegistry();
		Producer producer = tenants.create("tenant-42", ProducerConfig.builder()
			.id("tenant-42")
			.kafka("bootstrap.servers", "localhost:9092")
			.idleDisconnectTimeout(Duration.ofMinutes(5))
			.build());
		// producer.produceAsync(...) connects it; five idle minutes disconnect it again.
		tenants.remove("tenant-42");          // closes it
		tenants.close();                      // on shutdown: closes every producer left
		assertThat(producer.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(tenants.isClosed()).isTrue();
	}

	private ProducerConfig inMemory(String id) {
		return ProducerConfig.builder().id(id).clientFactory(this.kafka).build();
	}

}
