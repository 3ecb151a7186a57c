package io.waterdrop.docs;

import java.time.Duration;
import java.util.List;

import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.stereotype.Service;

import io.waterdrop.DeliveryHandle;
import io.waterdrop.DeliveryReport;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerConfig;
import io.waterdrop.autoconfigure.WaterDropEventListener;
import io.waterdrop.instrumentation.Event;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.instrumentation.micrometer.WaterDropMetrics;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingMode;

/**
 * The Java code shown in docs/*.md, compiled here (outside the sample's package, so that the sample does
 * not pick these components up). {@code DocsSnippetsTests} checks that every Java block in
 * the docs appears in one of the tagged regions of these files, so the docs cannot drift from code that
 * compiles.
 */
final class GettingStartedSnippets {

	private GettingStartedSnippets() {
	}

	// tag::inject[]
	@Service
	static class OrderEvents {

		private final Producer producer;

		OrderEvents(Producer producer) {
			this.producer = producer;
		}

		DeliveryReport orderPlaced(String orderId, String json) {
			return this.producer.produceSync(Message.builder("orders").key(orderId).payload(json).build());
		}

	}
	// end::inject[]

	static void async(Producer producer, String json, Logger log) {
		// tag::async[]
		DeliveryHandle handle = producer.produceAsync(Message.of("audit", json), (report, failure) -> {
			// Runs on the Poller thread: keep it short, never block here.
			if (failure != null) {
				log.warn("Not delivered: {}", failure.getMessage());
			}
		});
		// Waiting is optional; the handle is also a Future.
		DeliveryReport report = handle.await(Duration.ofSeconds(5));
		// end::async[]
		log.info("{}", report);
	}

	// tag::qualifier[]
	@Service
	static class Checkout {

		private final Producer orders;

		private final Producer audit;

		Checkout(@Qualifier("orders") Producer orders, @Qualifier("audit") Producer audit) {
			this.orders = orders;
			this.audit = audit;
		}

	}
	// end::qualifier[]

	// tag::listener[]
	@Service
	static class SlowCallbackAlarm implements WaterDropEventListener {

		private static final Logger log = LoggerFactory.getLogger(SlowCallbackAlarm.class);

		@Override
		public void onEvent(Event event) {
			if (event instanceof ProducerEvent.SlowCallback slow) {
				log.warn("Producer {} blocked {} for {}", slow.producerId(), slow.pollingThread(), slow.duration());
			}
		}

		@Override
		public boolean appliesTo(String producerName) {
			return !producerName.equals("legacy");
		}

	}
	// end::listener[]

	static void plainJava() {
		// tag::plain-java[]
		Producer producer = new Producer(ProducerConfig.builder()
			.id("orders")
			.kafka("bootstrap.servers", "localhost:9092")
			.kafka("acks", "all")
			.pollingMode(PollingMode.FD)          // the default
			.maxTime(Duration.ofMillis(100))      // drain budget per Poller cycle
			.build());
		producer.monitor()
			.subscribe(ProducerEvent.MessageAcknowledged.class,
					(acknowledged) -> System.out.println(acknowledged.report()));
		producer.produceSync(Message.of("orders", "{\"id\":1}"));
		producer.close(); // dispatches every outstanding report first
		// end::plain-java[]
	}

	static void plainJavaMetrics(Producer orders, Producer audit, Poller critical, MeterRegistry registry) {
		new WaterDropMetrics(List.of(orders, audit), List.of(Poller.global(), critical)).bindTo(registry);
	}

	static void dedicatedPoller() {
		// tag::dedicated-poller[]
		Poller critical = new Poller(PollerConfig.named("critical"));     // thread waterdrop.poller#1-critical
		Producer payments = new Producer(ProducerConfig.builder()
				.id("payments")
				.kafka("bootstrap.servers", "localhost:9092")
				.poller(critical)                 // fd mode only; naming a Poller in thread mode is an error
				.maxTime(Duration.ofMillis(200))  // more time per cycle than its neighbours
				.build());
		// end::dedicated-poller[]
		payments.close();
	}

}
