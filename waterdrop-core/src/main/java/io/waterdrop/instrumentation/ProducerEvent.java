package io.waterdrop.instrumentation;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.waterdrop.DeliveryReport;
import io.waterdrop.Message;

/**
 * Events about one producer. Every record carries the id of the producer it concerns.
 */
public sealed interface ProducerEvent extends Event {

	/** Id of the producer the event concerns. */
	String producerId();

	/** How a message was handed to the producer. */
	enum Mode {

		SYNC, ASYNC;

		String suffix() {
			return (this == SYNC) ? "sync" : "async";
		}

	}

	/** {@code producer.connected}: the Kafka client exists and polling has started. */
	record Connected(String producerId) implements ProducerEvent {
		@Override
		public String name() {
			return "producer.connected";
		}
	}

	/** {@code producer.closing}: close began; new messages are refused from now on. */
	record Closing(String producerId) implements ProducerEvent {
		@Override
		public String name() {
			return "producer.closing";
		}
	}

	/** {@code producer.closed}: every report was dispatched and the client released. */
	record Closed(String producerId) implements ProducerEvent {
		@Override
		public String name() {
			return "producer.closed";
		}
	}

	/** {@code message.produced_sync} / {@code message.produced_async}: one message was accepted for sending. */
	record MessageProduced(String producerId, Mode mode, Message message) implements ProducerEvent {
		@Override
		public String name() {
			return "message.produced_" + this.mode.suffix();
		}
	}

	/** {@code messages.produced_sync} / {@code messages.produced_async}: a batch was accepted for sending. */
	record MessagesProduced(String producerId, Mode mode, List<Message> messages) implements ProducerEvent {
		@Override
		public String name() {
			return "messages.produced_" + this.mode.suffix();
		}
	}

	/**
	 * {@code message.acknowledged}: the broker acknowledged a message and its report was dispatched.
	 * {@code latency} runs from the produce call to this dispatch.
	 */
	record MessageAcknowledged(String producerId, DeliveryReport report, Duration latency) implements ProducerEvent {
		@Override
		public String name() {
			return "message.acknowledged";
		}
	}

	/** {@code message.purged}: the message was removed undelivered by a forced close. */
	record MessagePurged(String producerId, Message message, Object label) implements ProducerEvent {
		@Override
		public String name() {
			return "message.purged";
		}
	}

	/**
	 * {@code error.occurred}: something failed. {@code message} and {@code label} are set when the error
	 * concerns one message, otherwise {@code null}.
	 */
	record ErrorOccurred(String producerId, ErrorType type, Throwable error, Message message, Object label)
			implements ProducerEvent {
		@Override
		public String name() {
			return "error.occurred";
		}
	}

	/**
	 * {@code statistics.emitted}: a periodic snapshot of the Kafka client's metrics, keyed
	 * {@code group:name} plus tags, e.g. {@code producer-metrics:record-send-rate}. Computed only while
	 * somebody listens for this event.
	 */
	record StatisticsEmitted(String producerId, Map<String, Object> statistics) implements ProducerEvent {
		@Override
		public String name() {
			return "statistics.emitted";
		}
	}

	/**
	 * {@code callback.slow}: dispatching one report (completing its handle, running dependent callbacks and
	 * listeners) took longer than the producer's slow-callback threshold. On a shared Poller this delays
	 * every other producer on it.
	 */
	record SlowCallback(String producerId, String pollingThread, Duration duration, Duration threshold)
			implements ProducerEvent {
		@Override
		public String name() {
			return "callback.slow";
		}
	}

}
