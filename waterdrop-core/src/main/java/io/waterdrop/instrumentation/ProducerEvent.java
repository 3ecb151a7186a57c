package io.waterdrop.instrumentation;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

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

	/** {@code producer.created}: the producer object exists (no Kafka client yet). */
	record Created(String producerId) implements ProducerEvent {
		@Override
		public String name() {
			return "producer.created";
		}
	}

	/**
	 * {@code producer.configured}: the settings were checked and the Kafka client is about to be created (the
	 * first connect, and each reconnect). Published holding the producer's lifecycle lock, as
	 * {@code producer.connected} and {@code producer.disconnecting} are, so that listeners see them in order
	 * with the close's events: a listener of these must not wait for another thread that connects,
	 * disconnects, purges or closes the same producer (that thread waits for the lock the listener holds).
	 */
	record Configured(String producerId) implements ProducerEvent {
		@Override
		public String name() {
			return "producer.configured";
		}
	}

	/** {@code producer.connected}: the Kafka client exists and polling has started (under the lock, see above). */
	record Connected(String producerId) implements ProducerEvent {
		@Override
		public String name() {
			return "producer.connected";
		}
	}

	/** {@code producer.disconnecting}: an idle producer is closing its Kafka client (under the lock, see above). */
	record Disconnecting(String producerId) implements ProducerEvent {
		@Override
		public String name() {
			return "producer.disconnecting";
		}
	}

	/** {@code producer.disconnected}: the Kafka client is closed; the next message connects again. */
	record Disconnected(String producerId) implements ProducerEvent {
		@Override
		public String name() {
			return "producer.disconnected";
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
	 * {@code latencyNanos} runs from the produce call to this dispatch; it is 0 when nobody listened for this
	 * event when the message was produced (the produce time is only taken while somebody listens).
	 */
	record MessageAcknowledged(String producerId, DeliveryReport report, long latencyNanos) implements ProducerEvent {

		/** {@link #latencyNanos()} as a duration. */
		public Duration latency() {
			return Duration.ofNanos(this.latencyNanos);
		}

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

	/** {@code message.buffered}: a message was validated and buffered until the next flush. */
	record MessageBuffered(String producerId, Message message) implements ProducerEvent {
		@Override
		public String name() {
			return "message.buffered";
		}
	}

	/** {@code messages.buffered}: messages were validated and buffered until the next flush. */
	record MessagesBuffered(String producerId, List<Message> messages) implements ProducerEvent {
		@Override
		public String name() {
			return "messages.buffered";
		}
	}

	/** {@code buffer.purged}: {@code purge()} dropped the buffered messages unsent. */
	record BufferPurged(String producerId, List<Message> messages) implements ProducerEvent {
		@Override
		public String name() {
			return "buffer.purged";
		}
	}

	/** {@code buffer.flushed_sync} / {@code buffer.flushed_async}: the buffer's messages were sent. */
	record BufferFlushed(String producerId, Mode mode, List<Message> messages) implements ProducerEvent {
		@Override
		public String name() {
			return "buffer.flushed_" + this.mode.suffix();
		}
	}

	/** {@code transaction.started}. */
	record TransactionStarted(String producerId) implements ProducerEvent {
		@Override
		public String name() {
			return "transaction.started";
		}
	}

	/** {@code transaction.committed}. */
	record TransactionCommitted(String producerId) implements ProducerEvent {
		@Override
		public String name() {
			return "transaction.committed";
		}
	}

	/** {@code transaction.aborted}: rolled back, on request or after a failure. */
	record TransactionAborted(String producerId) implements ProducerEvent {
		@Override
		public String name() {
			return "transaction.aborted";
		}
	}

	/** {@code transaction.finished}: after commit or abort, always. */
	record TransactionFinished(String producerId) implements ProducerEvent {
		@Override
		public String name() {
			return "transaction.finished";
		}
	}

	/** {@code transaction.marked_as_consumed}: consumer offsets were added to the open transaction. */
	record TransactionMarkedAsConsumed(String producerId, Map<TopicPartition, OffsetAndMetadata> offsets,
			String consumerGroup) implements ProducerEvent {
		@Override
		public String name() {
			return "transaction.marked_as_consumed";
		}
	}

	/** {@code producer.reloaded}: the Kafka client was rebuilt after a fatal error. */
	record Reloaded(String producerId, Throwable cause) implements ProducerEvent {
		@Override
		public String name() {
			return "producer.reloaded";
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
