package io.waterdrop.instrumentation;

import java.util.ArrayList;
import java.util.List;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the hot paths ask the monitor ({@link Monitor#wants}) follows the subscriptions exactly, and a
 * failing listener or latency recorder neither stops the others nor goes unreported.
 */
class MonitorTests {

	private static final long ACKNOWLEDGED = Monitor.bit(ProducerEvent.MessageAcknowledged.class);

	private static final long ERROR = Monitor.bit(ProducerEvent.ErrorOccurred.class);

	private final Monitor monitor = new Monitor("orders");

	@Test
	void wantsOnlyTheEventTypesSomebodyListensTo() {
		assertThat(this.monitor.wants(ACKNOWLEDGED | ERROR | Monitor.LATENCY_BIT)).isFalse();

		Monitor.Subscription acknowledged = this.monitor.subscribe(ProducerEvent.MessageAcknowledged.class,
				(event) -> {
				});
		assertThat(this.monitor.wants(ACKNOWLEDGED)).isTrue();
		assertThat(this.monitor.wants(ERROR | Monitor.LATENCY_BIT)).isFalse();

		Monitor.Subscription everything = this.monitor.subscribe((event) -> {
		});
		assertThat(this.monitor.wants(ERROR)).isTrue();
		assertThat(this.monitor.wants(Monitor.LATENCY_BIT)).as("a listener of every event records no latency")
			.isFalse();

		everything.close();
		assertThat(this.monitor.wants(ERROR)).isFalse();
		assertThat(this.monitor.wants(ACKNOWLEDGED)).isTrue();
		acknowledged.close();
		assertThat(this.monitor.wants(ACKNOWLEDGED)).isFalse();
	}

	@Test
	void aLatencyRecorderIsWantedWithoutAnyEventType() {
		Monitor.Subscription recorder = this.monitor.subscribeLatency((nanos) -> {
		});
		assertThat(this.monitor.wants(Monitor.LATENCY_BIT)).isTrue();
		assertThat(this.monitor.wants(~Monitor.LATENCY_BIT)).as("no event type is wanted for it").isFalse();
		assertThat(this.monitor.isListening(ProducerEvent.MessageAcknowledged.class)).isFalse();

		recorder.close();
		assertThat(this.monitor.wants(Monitor.LATENCY_BIT)).isFalse();
	}

	@Test
	void everyRecorderReceivesTheLatencyInSubscriptionOrder() {
		List<String> received = new ArrayList<>();
		this.monitor.subscribeLatency((nanos) -> received.add("first " + nanos));
		Monitor.Subscription second = this.monitor.subscribeLatency((nanos) -> received.add("second " + nanos));

		this.monitor.recordLatency(42);
		second.close();
		this.monitor.recordLatency(7);

		assertThat(received).containsExactly("first 42", "second 42", "first 7");
	}

	@Test
	void aFailingRecorderIsReportedToListenersAndTheOthersStillRecord() {
		List<Long> recorded = new ArrayList<>();
		List<ProducerEvent.ErrorOccurred> errors = new ArrayList<>();
		this.monitor.subscribe(ProducerEvent.ErrorOccurred.class, errors::add);
		this.monitor.subscribeLatency((nanos) -> {
			throw new IllegalStateException("registry gone");
		});
		this.monitor.subscribeLatency(recorded::add);

		this.monitor.recordLatency(42);

		assertThat(recorded).containsExactly(42L);
		assertThat(errors).singleElement().satisfies((error) -> {
			assertThat(error.type()).isEqualTo(ErrorType.LISTENER);
			assertThat(error.error()).hasMessage("registry gone");
		});
	}

	@Test
	void aFailingListenerIsReportedToTheOthersOnce() {
		List<ProducerEvent.ErrorOccurred> errors = new ArrayList<>();
		List<Event> seen = new ArrayList<>();
		this.monitor.subscribe((event) -> {
			throw new IllegalStateException("listener broken");
		});
		this.monitor.subscribe(ProducerEvent.ErrorOccurred.class, errors::add);
		this.monitor.subscribe(ProducerEvent.Closed.class, seen::add);

		ProducerEvent.Closed closed = new ProducerEvent.Closed("orders");
		this.monitor.publish(closed);

		assertThat(seen).containsExactly(closed);
		assertThat(errors).singleElement().satisfies((error) -> {
			assertThat(error.type()).isEqualTo(ErrorType.LISTENER);
			assertThat(error.error()).hasMessage("listener broken");
		});
	}


	/** One that fails on every message would flood the log from the polling thread: later failures go to DEBUG. */
	@Test
	void aListenerFailingOnEveryEventIsLoggedAtWarnOnceThenAtDebug() {
		ListAppender<ILoggingEvent> logs = new ListAppender<>();
		Logger logger = ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(Monitor.class);
		Level level = logger.getLevel();
		logger.setLevel(Level.DEBUG);
		logs.start();
		logger.addAppender(logs);
		try {
			List<ProducerEvent.ErrorOccurred> errors = new ArrayList<>();
			this.monitor.subscribe(ProducerEvent.Closed.class, (event) -> {
				throw new IllegalStateException("listener broken");
			});
			this.monitor.subscribe(ProducerEvent.ErrorOccurred.class, errors::add);

			for (int i = 0; i < 3; i++) {
				this.monitor.publish(new ProducerEvent.Closed("orders"));
			}

			assertThat(logs.list).extracting(ILoggingEvent::getLevel).containsExactly(Level.WARN, Level.DEBUG,
					Level.DEBUG);
			assertThat(logs.list.get(0).getFormattedMessage()).isEqualTo(
					"Listener of producer 'orders' failed on producer.closed; its later failures are logged at DEBUG");
			assertThat(errors).hasSize(3);
		}
		finally {
			logger.detachAppender(logs);
			logs.stop();
			logger.setLevel(level);
		}
	}

}
