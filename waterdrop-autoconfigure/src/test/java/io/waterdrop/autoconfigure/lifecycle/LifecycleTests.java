package io.waterdrop.autoconfigure.lifecycle;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropEventListener;
import io.waterdrop.autoconfigure.TestBroker;
import io.waterdrop.autoconfigure.Threads;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;
import io.waterdrop.Producer;
import io.waterdrop.ProducerStatus;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.Poller;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Start and shutdown order of producers and Pollers relative to the web server's phases.
 */
@Timeout(60)
class LifecycleTests {

	/** Boot's web server start/stop phase (graceful shutdown is 1024 higher, so stops earlier). */
	private static final int WEB_SERVER_PHASE = SmartLifecycle.DEFAULT_PHASE - 2048;

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class, WaterDropLifecycleAutoConfiguration.class))
		.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers(),
				"waterdrop.pollers.critical.poll-timeout=1s", "waterdrop.producers.orders.polling.poller=critical",
				"waterdrop.producers.legacy.polling.mode=thread");

	@Test
	void phasesPutProducersAfterTheWebServerAndPollersAfterProducers() {
		assertThat(ProducersLifecycle.PHASE).isLessThan(WEB_SERVER_PHASE);
		assertThat(PollersLifecycle.PHASE).isLessThan(ProducersLifecycle.PHASE);
		this.runner.run((context) -> {
			assertThat(context.getBean(ProducersLifecycle.class).getPhase()).isEqualTo(ProducersLifecycle.PHASE);
			assertThat(context.getBean(PollersLifecycle.class).getPhase()).isEqualTo(PollersLifecycle.PHASE);
		});
	}

	@Test
	void producersAreConnectedWhileTheWebServerRunsAndClosedBeforeThePollersStop() {
		this.runner.withUserConfiguration(Probes.class).run((context) -> {
			Probes probes = context.getBean(Probes.class);
			Poller critical = context.getBean("criticalPoller", Poller.class);
			assertThat(probes.webServerStart).containsOnly(ProducerStatus.CONNECTED);
			context.close();
			assertThat(probes.webServerStop).containsOnly(ProducerStatus.CONNECTED);
			assertThat(probes.betweenProducersAndPollers).containsOnly(ProducerStatus.CLOSED);
			assertThat(probes.closingThreads).containsExactlyInAnyOrder("waterdrop.close-orders",
					"waterdrop.close-legacy");
			assertThat(critical.isRunning()).isFalse();
			assertThat(Threads.waterdrop()).doesNotContain(critical.threadName(), "waterdrop.dispatch-legacy");
			assertThat(Threads.kafkaNetworkThread("orders")).isFalse();
			assertThat(Threads.kafkaNetworkThread("legacy")).isFalse();
		});
	}

	@Configuration(proxyBeanMethods = false)
	static class Probes {

		final List<ProducerStatus> webServerStart = new CopyOnWriteArrayList<>();

		final List<ProducerStatus> webServerStop = new CopyOnWriteArrayList<>();

		final List<ProducerStatus> betweenProducersAndPollers = new CopyOnWriteArrayList<>();

		final List<String> closingThreads = new CopyOnWriteArrayList<>();

		@Bean
		SmartLifecycle webServerProbe(ObjectProvider<Map<String, Producer>> producers) {
			return new Probe(WEB_SERVER_PHASE, () -> record(producers, this.webServerStart),
					() -> record(producers, this.webServerStop));
		}

		@Bean
		SmartLifecycle betweenProbe(ObjectProvider<Map<String, Producer>> producers) {
			return new Probe((ProducersLifecycle.PHASE + PollersLifecycle.PHASE) / 2, () -> {
			}, () -> record(producers, this.betweenProducersAndPollers));
		}

		@Bean
		WaterDropEventListener closingThreadRecorder() {
			return (event) -> {
				if (event instanceof ProducerEvent.Closing) {
					this.closingThreads.add(Thread.currentThread().getName());
				}
			};
		}

		private static void record(ObjectProvider<Map<String, Producer>> producers, List<ProducerStatus> statuses) {
			producers.getObject().values().forEach((producer) -> statuses.add(producer.status()));
		}

	}

	static final class Probe implements SmartLifecycle {

		private final int phase;

		private final Runnable onStart;

		private final Runnable onStop;

		private volatile boolean running;

		Probe(int phase, Runnable onStart, Runnable onStop) {
			this.phase = phase;
			this.onStart = onStart;
			this.onStop = onStop;
		}

		@Override
		public void start() {
			this.onStart.run();
			this.running = true;
		}

		@Override
		public void stop() {
			this.onStop.run();
			this.running = false;
		}

		@Override
		public boolean isRunning() {
			return this.running;
		}

		@Override
		public int getPhase() {
			return this.phase;
		}

	}

}
