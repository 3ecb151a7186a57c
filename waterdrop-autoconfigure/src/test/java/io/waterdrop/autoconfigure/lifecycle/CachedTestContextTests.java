package io.waterdrop.autoconfigure.lifecycle;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.ClassOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestClassOrder;
import org.junit.jupiter.api.Timeout;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.context.ApplicationContext;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerStatus;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two test classes share one cached context, and a test class with another context runs between them, so
 * Spring's test framework pauses the shared context (its default pause mode, on a context switch) and
 * restarts it for the second class. The producers it holds must still work then, and while it is paused it
 * holds no polling thread (a dedicated Poller's, a thread-mode producer's). No
 * {@code @DirtiesContext}: a paused context is reused as is.
 */
@TestClassOrder(ClassOrderer.OrderAnnotation.class)
@Timeout(60)
class CachedTestContextTests {

	static ApplicationContext shared;

	static Producer sharedOrders;

	/** The shared context's polling threads: its dedicated Poller's, and its thread-mode producer's. */
	static List<String> pollingThreads;

	/** The shared producer's lifecycle events from the first class on: the pause must show in them. */
	static final List<String> lifecycleEvents = new CopyOnWriteArrayList<>();

	@Nested
	@Order(1)
	@SpringBootTest(classes = App.class, webEnvironment = WebEnvironment.NONE,
			properties = { "waterdrop.in-memory=true", "waterdrop.producers.orders.max-in-flight=10",
					"waterdrop.pollers.critical.poll-timeout=1s", "waterdrop.producers.orders.polling.poller=critical",
					"waterdrop.producers.cached-legacy.polling.mode=thread" })
	class FirstUserOfTheSharedContext {

		@Autowired
		ApplicationContext context;

		@Autowired
		@Qualifier("orders")
		Producer orders;

		@Autowired
		@Qualifier("cached-legacy") // a name no other test's producer has: threads are counted by name
		Producer legacy;

		@Test
		void produces() {
			assertThat(this.orders.produceSync(Message.of("orders", "first")).offset()).isZero();
			this.legacy.produceSync(Message.of("cached-legacy", "first"));
			pollingThreads = List.of(this.orders.config().poller().threadName(), this.legacy.pollerName());
			assertThat(pollingThreads).allSatisfy((name) -> assertThat(liveThreadsNamed(name)).isOne());
			shared = this.context;
			sharedOrders = this.orders;
			this.orders.monitor().subscribe((event) -> {
				if (event.name().startsWith("producer.")) {
					lifecycleEvents.add(event.name());
				}
			});
		}

	}

	@Nested
	@Order(2)
	@SpringBootTest(classes = App.class, webEnvironment = WebEnvironment.NONE,
			properties = { "waterdrop.in-memory=true", "waterdrop.producers.other.max-in-flight=10" })
	class AnotherContextInBetween {

		@Autowired
		@Qualifier("other")
		Producer other;

		@Test
		void produces() {
			assertThat(this.other.produceSync(Message.of("other", "between")).offset()).isZero();
		}

		@Test
		void thePausedContextHoldsNoPollingThread() {
			await().atMost(Duration.ofSeconds(30))
				.untilAsserted(() -> assertThat(pollingThreads).allSatisfy((name) -> assertThat(liveThreadsNamed(name))
					.as("live threads named %s", name)
					.isZero()));
		}

	}

	@Nested
	@Order(3)
	@SpringBootTest(classes = App.class, webEnvironment = WebEnvironment.NONE,
			properties = { "waterdrop.in-memory=true", "waterdrop.producers.orders.max-in-flight=10",
					"waterdrop.pollers.critical.poll-timeout=1s", "waterdrop.producers.orders.polling.poller=critical",
					"waterdrop.producers.cached-legacy.polling.mode=thread" })
	class SecondUserOfTheSharedContext {

		@Autowired
		ApplicationContext context;

		@Autowired
		@Qualifier("orders")
		Producer orders;

		@Autowired
		InMemoryKafka kafka;

		@Test
		void producesWithTheSameProducerAfterThePause() {
			assertThat(this.context).as("the cached context").isSameAs(shared);
			assertThat(this.orders).isSameAs(sharedOrders);
			assertThat(this.orders.produceSync(Message.of("orders", "second")).offset()).isEqualTo(1);
			assertThat(this.orders.status()).isEqualTo(ProducerStatus.CONNECTED);
			assertThat(lifecycleEvents).as("the pause disconnected the producer, the restart connected it again")
				.containsSubsequence("producer.disconnected", "producer.connected");
			assertThat(this.kafka.payloads("orders")).containsExactly("first", "second");
			assertThat(liveThreadsNamed(pollingThreads.get(0))).as("the dedicated Poller's thread, back").isOne();
		}

	}

	static long liveThreadsNamed(String name) {
		return Thread.getAllStackTraces().keySet().stream().filter((thread) -> thread.getName().equals(name)).count();
	}

	@SpringBootConfiguration
	@EnableAutoConfiguration
	static class App {

	}

}
