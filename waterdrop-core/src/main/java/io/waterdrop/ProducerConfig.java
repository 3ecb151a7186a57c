package io.waterdrop;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;

import io.waterdrop.instrumentation.DeliveryObserver;
import io.waterdrop.instrumentation.EventListener;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingMode;

/**
 * Everything a {@link Producer} is built from. Immutable and validated when built: an invalid value throws
 * an {@link InvalidConfigurationException} that names the setting and how to fix it.
 * <p>
 * Property names in messages are the ones the Spring Boot starter uses below {@code waterdrop.producers.<id>}.
 */
public final class ProducerConfig {

	public static final int DEFAULT_MAX_PAYLOAD_SIZE = 1_000_012;

	public static final Duration DEFAULT_MAX_WAIT_TIMEOUT = Duration.ofSeconds(180);

	public static final Duration DEFAULT_STATISTICS_INTERVAL = Duration.ofSeconds(5);

	public static final Duration DEFAULT_MAX_TIME = Duration.ofMillis(100);

	public static final Duration DEFAULT_MIN_TIME = Duration.ofMillis(1);

	/** Fenced: another instance with the same transactional.id is newer; reloading would fence it back. */
	public static final Set<Class<? extends Throwable>> DEFAULT_NON_RELOADABLE_ERRORS = Set
		.of(ProducerFencedException.class, InvalidProducerEpochException.class);

	public static final int DEFAULT_MAX_RELOAD_ATTEMPTS = 10;

	public static final Duration DEFAULT_RELOAD_BACKOFF = Duration.ofSeconds(1);

	public static final int DEFAULT_MAX_ATTEMPTS_ON_TRANSACTION_COMMAND = 3;

	public static final Duration DEFAULT_SLOW_CALLBACK_THRESHOLD = Duration.ofMillis(50);

	public static final int DEFAULT_MAX_IN_FLIGHT = 100_000;

	public static final Duration DEFAULT_WAIT_TIMEOUT_ON_QUEUE_FULL = Duration.ofSeconds(10);

	private static final AtomicInteger defaultIds = new AtomicInteger();

	private final String id;

	private final Map<String, Object> kafka;

	private final Serializer<?> keySerializer;

	private final Serializer<?> payloadSerializer;

	private final int maxPayloadSize;

	private final Duration maxWaitTimeout;

	private final Duration statisticsInterval;

	private final PollingMode pollingMode;

	private final Poller poller;

	private final Duration maxTime;

	private final Duration minTime;

	private final Duration pollTimeout;

	private final Duration slowCallbackThreshold;

	private final int maxInFlight;

	private final boolean waitOnQueueFull;

	private final Duration waitTimeoutOnQueueFull;

	private final boolean reloadOnTransactionFatalError;

	private final Set<Class<? extends Throwable>> nonReloadableErrors;

	private final int maxReloadAttempts;

	private final Duration reloadBackoff;

	private final int maxAttemptsOnTransactionCommand;

	private final List<EventListener> listeners;

	private final Duration idleDisconnectTimeout;

	private final boolean reloadOnIdempotentFatalError;

	private final DeliveryObserver observer;

	private final TransactionJoiner transactionJoiner;

	private final Function<Map<String, Object>, org.apache.kafka.clients.producer.Producer<byte[], byte[]>> clientFactory;

	private ProducerConfig(Builder builder) {
		this.id = (builder.id != null) ? builder.id : "waterdrop-" + defaultIds.incrementAndGet();
		this.kafka = Map.copyOf(builder.kafka);
		this.keySerializer = builder.keySerializer;
		this.payloadSerializer = builder.payloadSerializer;
		this.maxPayloadSize = builder.maxPayloadSize;
		this.maxWaitTimeout = builder.maxWaitTimeout;
		this.statisticsInterval = builder.statisticsInterval;
		this.pollingMode = builder.pollingMode;
		this.poller = builder.poller;
		this.maxTime = builder.maxTime;
		this.minTime = builder.minTime;
		this.pollTimeout = builder.pollTimeout;
		this.slowCallbackThreshold = builder.slowCallbackThreshold;
		this.maxInFlight = builder.maxInFlight;
		this.waitOnQueueFull = builder.waitOnQueueFull;
		this.waitTimeoutOnQueueFull = builder.waitTimeoutOnQueueFull;
		this.reloadOnTransactionFatalError = builder.reloadOnTransactionFatalError;
		this.nonReloadableErrors = copyOfErrorClasses(builder.nonReloadableErrors);
		this.maxReloadAttempts = builder.maxReloadAttempts;
		this.reloadBackoff = builder.reloadBackoff;
		this.maxAttemptsOnTransactionCommand = builder.maxAttemptsOnTransactionCommand;
		this.listeners = List.copyOf(builder.listeners);
		this.idleDisconnectTimeout = builder.idleDisconnectTimeout;
		this.reloadOnIdempotentFatalError = builder.reloadOnIdempotentFatalError;
		this.observer = builder.observer;
		this.transactionJoiner = builder.transactionJoiner;
		this.clientFactory = builder.clientFactory;
		validate();
	}

	/** An empty element (a trailing comma in a list of class names) is refused, not a NullPointerException. */
	private static Set<Class<? extends Throwable>> copyOfErrorClasses(Set<Class<? extends Throwable>> errors) {
		if (errors == null || errors.stream().anyMatch(Objects::isNull)) {
			invalid("non-reloadable-errors", (errors == null) ? "has no value" : "has an empty element",
					"Name exception classes, fully qualified and separated by commas, or leave it unset for the "
							+ "defaults.");
		}
		return Set.copyOf(errors);
	}

	private void validate() {
		if (this.id.isBlank()) {
			invalid("id", "a producer id must not be blank", "Give the producer a name such as 'orders'.");
		}
		if (this.maxPayloadSize < 1) {
			invalid("max-payload-size", "must be at least 1 byte but was " + this.maxPayloadSize,
					"Set it to a positive size; the default is " + DEFAULT_MAX_PAYLOAD_SIZE + ".");
		}
		requirePositive("max-wait-timeout", this.maxWaitTimeout);
		if (this.maxInFlight < 1) {
			invalid("max-in-flight", "must be at least 1 but was " + this.maxInFlight,
					"Set it to a positive count; the default is " + DEFAULT_MAX_IN_FLIGHT + ".");
		}
		requirePositive("wait-timeout-on-queue-full", this.waitTimeoutOnQueueFull);
		// Checked first: each is added to the polling thread's clock in nanoseconds (toNanos throws beyond ~292
		// years), or, reload-backoff, waited out by a transaction's thread; an idle-disconnect-timeout that long is
		// taken as "never", which it means.
		requireAtMostADay("statistics-interval", this.statisticsInterval, "Set it to 0 to turn statistics off, or ");
		requireAtMostADay("polling.fd.max-time", this.maxTime, "Set it to ");
		requireAtMostADay("polling.slow-callback-threshold", this.slowCallbackThreshold, "Set it to ");
		requireAtMostADay("reload-backoff", this.reloadBackoff, "Set it to ");
		if (this.statisticsInterval == null || this.statisticsInterval.isNegative()
				|| (!this.statisticsInterval.isZero() && this.statisticsInterval.toMillis() < 100)) {
			invalid("statistics-interval", "must be 0 (off) or at least 100 ms but was " + describe(this.statisticsInterval),
					"Set it to 0 to turn statistics off, or to 100 ms or more.");
		}
		if (this.pollingMode == null) {
			invalid("polling.mode", "must be 'fd' or 'thread'", "Set polling.mode to fd (the default) or thread.");
		}
		requireAtLeastOneMilli("polling.fd.max-time", this.maxTime);
		if (this.idleDisconnectTimeout == null || this.idleDisconnectTimeout.isNegative()) {
			invalid("idle-disconnect-timeout", "must be 0 (off) or more but was " + describe(this.idleDisconnectTimeout),
					"Set it to 0 to keep the Kafka client connected, or to a duration such as 5m.");
		}
		if (this.maxReloadAttempts < 1) {
			invalid("max-reload-attempts", "must be at least 1 but was " + this.maxReloadAttempts,
					"Set it to a positive count (default 10), or turn reloading off with "
							+ "reload-on-transaction-fatal-error: false.");
		}
		if (this.reloadBackoff == null || this.reloadBackoff.isNegative()) {
			invalid("reload-backoff", "must be 0 or more but was " + describe(this.reloadBackoff),
					"Set it to a duration such as 1s (the default).");
		}
		for (Class<?> error : this.nonReloadableErrors) {
			if (!Throwable.class.isAssignableFrom(error)) { // a binding of class names need not check the bound
				invalid("non-reloadable-errors", "names " + error.getName() + ", which is not an exception class",
						"Name exception classes, fully qualified (the defaults are Kafka's ProducerFencedException and "
								+ "InvalidProducerEpochException).");
			}
		}
		if (this.maxAttemptsOnTransactionCommand < 1) {
			invalid("max-attempts-on-transaction-command",
					"must be at least 1 but was " + this.maxAttemptsOnTransactionCommand,
					"Set it to a positive count (default 3).");
		}
		if (this.minTime == null || this.minTime.isNegative() || this.minTime.compareTo(this.maxTime) > 0) {
			invalid("polling.fd.min-time", "must be between 0 and polling.fd.max-time (" + describe(this.maxTime)
					+ ") but was " + describe(this.minTime),
					"Set it to about 1 ms (the default), or raise polling.fd.max-time.");
		}
		requireAtLeastOneMilli("polling.thread.poll-timeout", this.pollTimeout);
		requireAtMostADay("polling.thread.poll-timeout", this.pollTimeout, "Set it to ");
		requirePositive("polling.slow-callback-threshold", this.slowCallbackThreshold);
		if (this.pollingMode == PollingMode.THREAD && this.poller != null) {
			invalid("polling.poller", "a Poller was named but polling.mode is 'thread'; Pollers only serve fd mode",
					"Remove polling.poller, or set polling.mode to fd.");
		}
		if (this.keySerializer == null || this.payloadSerializer == null || this.clientFactory == null) {
			invalid("serializers", "key serializer, payload serializer and client factory are required",
					"Leave them unset to use the defaults.");
		}
	}

	/** Not longer than {@link PollerConfig#LONGEST}; {@code null} is left to the property's own check. */
	private static void requireAtMostADay(String property, Duration value, String actionStart) {
		if (value != null && value.compareTo(PollerConfig.LONGEST) > 0) {
			invalid(property, "must be at most 1 day but was " + describe(value), actionStart + "1d or less.");
		}
	}

	private static void requirePositive(String property, Duration value) {
		if (value == null || value.isZero() || value.isNegative()) {
			invalid(property, "must be positive but was " + describe(value), "Set a positive duration such as 100ms.");
		}
	}

	private static void requireAtLeastOneMilli(String property, Duration value) {
		if (value == null || value.toMillis() < 1) {
			invalid(property, "must be at least 1 ms but was " + describe(value), "Set it to 1ms or more.");
		}
	}

	/** Milliseconds, exact: 0.5 ms is not "0 ms" (which would contradict a rule such as "0 (off) or ..."). */
	private static String describe(Duration value) {
		if (value == null) {
			return "not set";
		}
		return BigDecimal.valueOf(value.getSeconds())
			.scaleByPowerOfTen(3)
			.add(BigDecimal.valueOf(value.getNano(), 6))
			.stripTrailingZeros()
			.toPlainString() + " ms";
	}

	private static void invalid(String property, String description, String action) {
		throw new InvalidConfigurationException(property, description, action);
	}

	public static Builder builder() {
		return new Builder();
	}

	/** Producer id: the client id unless {@code client.id} is set, and the name in events and metrics. */
	public String id() {
		return this.id;
	}

	/** Kafka client properties passed through to kafka-clients (serializers are WaterDrop's own). */
	public Map<String, Object> kafka() {
		return this.kafka;
	}

	public Serializer<?> keySerializer() {
		return this.keySerializer;
	}

	public Serializer<?> payloadSerializer() {
		return this.payloadSerializer;
	}

	/** Largest serialized payload accepted, in bytes (default 1,000,012). */
	public int maxPayloadSize() {
		return this.maxPayloadSize;
	}

	/**
	 * Longest a synchronous call waits for its delivery report, a transactional call for another thread's
	 * transaction to end ({@link TransactionWaitTimeoutException}), and the default close timeout (180 s).
	 */
	public Duration maxWaitTimeout() {
		return this.maxWaitTimeout;
	}

	/** How often {@code statistics.emitted} is published while somebody listens (5 s; 0 = off). */
	public Duration statisticsInterval() {
		return this.statisticsInterval;
	}

	public PollingMode pollingMode() {
		return this.pollingMode;
	}

	/** The Poller to register with in fd mode: the configured one, else the global one. */
	public Poller poller() {
		return (this.poller != null) ? this.poller : Poller.global();
	}

	/** Longest drain slice per Poller cycle in fd mode (100 ms). */
	public Duration maxTime() {
		return this.maxTime;
	}

	/**
	 * Shortest drain slice in fd mode before the producer yields to another producer of its Poller that
	 * became ready (1 ms); at most {@link #maxTime()}.
	 */
	public Duration minTime() {
		return this.minTime;
	}

	/** How long a thread-mode dispatch thread waits for a signal before periodic work (1 s). */
	public Duration pollTimeout() {
		return this.pollTimeout;
	}

	/** Dispatch of one report longer than this publishes {@code callback.slow} (50 ms). */
	public Duration slowCallbackThreshold() {
		return this.slowCallbackThreshold;
	}

	/**
	 * Most messages accepted and not yet dispatched (100,000): bounds the memory a producer holds however slow
	 * the broker or the callbacks are.
	 */
	public int maxInFlight() {
		return this.maxInFlight;
	}

	/** Whether a produce call waits for a free slot when {@link #maxInFlight()} is reached (true). */
	public boolean waitOnQueueFull() {
		return this.waitOnQueueFull;
	}

	/** Longest a produce call waits for a free slot before a {@link QueueFullException} (10 s). */
	public Duration waitTimeoutOnQueueFull() {
		return this.waitTimeoutOnQueueFull;
	}

	/**
	 * Whether a transactional producer rebuilds its Kafka client after a fatal error such as being fenced
	 * (true), so that it keeps working; otherwise it stays broken and every transaction fails. A commit or abort
	 * that keeps timing out rebuilds it either way: that is how its transaction is settled.
	 */
	public boolean reloadOnTransactionFatalError() {
		return this.reloadOnTransactionFatalError;
	}

	/**
	 * Whether an idempotent (non-transactional) producer rebuilds its Kafka client after a fatal error such as
	 * an authorization or unsupported-version error (false), as Ruby WaterDrop's
	 * {@code reload_on_idempotent_fatal_error}; {@link #maxReloadAttempts()} and {@link #reloadBackoff()} apply.
	 */
	public boolean reloadOnIdempotentFatalError() {
		return this.reloadOnIdempotentFatalError;
	}

	/**
	 * Fatal errors after which a transactional producer is not rebuilt although
	 * {@link #reloadOnTransactionFatalError()} is on (found in the cause chain, subclasses included). By
	 * default being fenced: a newer instance with the same {@code transactional.id} exists, and rebuilding
	 * this one would fence that one in turn.
	 */
	public Set<Class<? extends Throwable>> nonReloadableErrors() {
		return this.nonReloadableErrors;
	}

	/**
	 * Rebuilds after fatal errors in a row (without a committed transaction, or for an idempotent producer an
	 * acknowledgement, between them) before giving up (10). A transactional client rebuilt because a commit or
	 * abort kept timing out is not counted: the broker was slow or away, or the caller was interrupted.
	 */
	public int maxReloadAttempts() {
		return this.maxReloadAttempts;
	}

	/**
	 * Pause before a counted rebuild (see {@link #maxReloadAttempts()}) that follows another one without a
	 * committed transaction between them (1 s).
	 */
	public Duration reloadBackoff() {
		return this.reloadBackoff;
	}

	/**
	 * Attempts of a transactional command (commit, abort) that timed out; Kafka accepts only a retry of the
	 * same command then (3).
	 */
	public int maxAttemptsOnTransactionCommand() {
		return this.maxAttemptsOnTransactionCommand;
	}

	/**
	 * How long a producer may sit idle (nothing produced, nothing in flight) before its polling thread's
	 * periodic work closes its Kafka client; {@link Duration#ZERO} (the default) keeps it connected.
	 */
	public Duration idleDisconnectTimeout() {
		return this.idleDisconnectTimeout;
	}

	/** Observes every message from send to outcome (tracing); {@code null} when none is set. */
	public DeliveryObserver observer() {
		return this.observer;
	}

	/** Lets a transactional producer's work join an outer (e.g. Spring) transaction; {@code null} when none. */
	public TransactionJoiner transactionJoiner() {
		return this.transactionJoiner;
	}

	/** Listeners subscribed to every event of the producer from its creation on ({@code producer.created} too). */
	public List<EventListener> listeners() {
		return this.listeners;
	}

	Function<Map<String, Object>, org.apache.kafka.clients.producer.Producer<byte[], byte[]>> clientFactory() {
		return this.clientFactory;
	}

	/** The properties the Kafka client is created with: {@link #kafka()}, the byte serializers and a client id. */
	Map<String, Object> clientProperties() {
		Map<String, Object> properties = new LinkedHashMap<>(this.kafka);
		properties.putIfAbsent(org.apache.kafka.clients.producer.ProducerConfig.CLIENT_ID_CONFIG, this.id);
		properties.put(org.apache.kafka.clients.producer.ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
				ByteArraySerializer.class);
		properties.put(org.apache.kafka.clients.producer.ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
				ByteArraySerializer.class);
		return properties;
	}

	/** Builds a {@link ProducerConfig}. Not thread-safe. */
	public static final class Builder {

		private String id;

		private final Map<String, Object> kafka = new LinkedHashMap<>();

		private Serializer<?> keySerializer = new DefaultSerializer();

		private Serializer<?> payloadSerializer = new DefaultSerializer();

		private int maxPayloadSize = DEFAULT_MAX_PAYLOAD_SIZE;

		private Duration maxWaitTimeout = DEFAULT_MAX_WAIT_TIMEOUT;

		private Duration statisticsInterval = DEFAULT_STATISTICS_INTERVAL;

		private PollingMode pollingMode = PollingMode.FD;

		private Poller poller;

		private Duration maxTime = DEFAULT_MAX_TIME;

		private Duration minTime = DEFAULT_MIN_TIME;

		private Duration pollTimeout = PollerConfig.DEFAULT_POLL_TIMEOUT;

		private Duration slowCallbackThreshold = DEFAULT_SLOW_CALLBACK_THRESHOLD;

		private int maxInFlight = DEFAULT_MAX_IN_FLIGHT;

		private boolean waitOnQueueFull = true;

		private Duration waitTimeoutOnQueueFull = DEFAULT_WAIT_TIMEOUT_ON_QUEUE_FULL;

		private boolean reloadOnTransactionFatalError = true;

		private Set<Class<? extends Throwable>> nonReloadableErrors = DEFAULT_NON_RELOADABLE_ERRORS;

		private int maxReloadAttempts = DEFAULT_MAX_RELOAD_ATTEMPTS;

		private Duration reloadBackoff = DEFAULT_RELOAD_BACKOFF;

		private int maxAttemptsOnTransactionCommand = DEFAULT_MAX_ATTEMPTS_ON_TRANSACTION_COMMAND;

		private final List<EventListener> listeners = new ArrayList<>();

		private Duration idleDisconnectTimeout = Duration.ZERO;

		private boolean reloadOnIdempotentFatalError;

		private DeliveryObserver observer;

		private TransactionJoiner transactionJoiner;

		private Function<Map<String, Object>, org.apache.kafka.clients.producer.Producer<byte[], byte[]>> clientFactory = KafkaProducer::new;

		private Builder() {
		}

		public Builder id(String id) {
			this.id = id;
			return this;
		}

		/** Adds Kafka client properties (later calls win). */
		public Builder kafka(Map<String, ?> properties) {
			properties.forEach(this::kafka);
			return this;
		}

		/** Adds a Kafka client property; one without a name or value is refused here, not as it is built. */
		public Builder kafka(String name, Object value) {
			if (name == null) {
				invalid("kafka", "has a setting without a name", "Give every Kafka setting its name.");
			}
			if (value == null) {
				invalid("kafka." + name, "has no value", "Give it a value, or leave it out for Kafka's default.");
			}
			this.kafka.put(name, value);
			return this;
		}

		/**
		 * Serializer for message keys; default: String as UTF-8, byte[] as is ({@link Serializers#defaults()};
		 * {@link Serializers#defaultsOr} adds one for other types).
		 */
		public Builder keySerializer(Serializer<?> keySerializer) {
			this.keySerializer = keySerializer;
			return this;
		}

		/**
		 * Serializer for payloads; default: String as UTF-8, byte[] as is ({@link Serializers#defaults()};
		 * {@link Serializers#defaultsOr} adds one for other types, such as JSON for records and POJOs).
		 */
		public Builder payloadSerializer(Serializer<?> payloadSerializer) {
			this.payloadSerializer = payloadSerializer;
			return this;
		}

		public Builder maxPayloadSize(int maxPayloadSize) {
			this.maxPayloadSize = maxPayloadSize;
			return this;
		}

		public Builder maxWaitTimeout(Duration maxWaitTimeout) {
			this.maxWaitTimeout = maxWaitTimeout;
			return this;
		}

		public Builder statisticsInterval(Duration statisticsInterval) {
			this.statisticsInterval = statisticsInterval;
			return this;
		}

		public Builder pollingMode(PollingMode pollingMode) {
			this.pollingMode = pollingMode;
			return this;
		}

		/** A dedicated Poller (fd mode only); unset means the global one. */
		public Builder poller(Poller poller) {
			this.poller = poller;
			return this;
		}

		public Builder maxTime(Duration maxTime) {
			this.maxTime = maxTime;
			return this;
		}

		/** Shortest slice before yielding to a waiting producer of the same Poller (fd mode). */
		public Builder minTime(Duration minTime) {
			this.minTime = minTime;
			return this;
		}

		public Builder pollTimeout(Duration pollTimeout) {
			this.pollTimeout = pollTimeout;
			return this;
		}

		public Builder slowCallbackThreshold(Duration slowCallbackThreshold) {
			this.slowCallbackThreshold = slowCallbackThreshold;
			return this;
		}

		public Builder maxInFlight(int maxInFlight) {
			this.maxInFlight = maxInFlight;
			return this;
		}

		public Builder waitOnQueueFull(boolean waitOnQueueFull) {
			this.waitOnQueueFull = waitOnQueueFull;
			return this;
		}

		public Builder waitTimeoutOnQueueFull(Duration waitTimeoutOnQueueFull) {
			this.waitTimeoutOnQueueFull = waitTimeoutOnQueueFull;
			return this;
		}

		public Builder reloadOnTransactionFatalError(boolean reloadOnTransactionFatalError) {
			this.reloadOnTransactionFatalError = reloadOnTransactionFatalError;
			return this;
		}

		public Builder nonReloadableErrors(Set<Class<? extends Throwable>> nonReloadableErrors) {
			this.nonReloadableErrors = nonReloadableErrors;
			return this;
		}

		public Builder maxReloadAttempts(int maxReloadAttempts) {
			this.maxReloadAttempts = maxReloadAttempts;
			return this;
		}

		public Builder reloadBackoff(Duration reloadBackoff) {
			this.reloadBackoff = reloadBackoff;
			return this;
		}

		/** Observes every message from send to outcome, e.g. to trace it across Kafka. */
		public Builder observer(DeliveryObserver observer) {
			this.observer = observer;
			return this;
		}

		/**
		 * Lets a transactional producer's work join a transaction managed elsewhere (a Spring transaction)
		 * instead of running in one of its own; see {@link TransactionJoiner}.
		 */
		public Builder transactionJoiner(TransactionJoiner transactionJoiner) {
			this.transactionJoiner = transactionJoiner;
			return this;
		}

		public Builder reloadOnIdempotentFatalError(boolean reloadOnIdempotentFatalError) {
			this.reloadOnIdempotentFatalError = reloadOnIdempotentFatalError;
			return this;
		}

		/** Closes the Kafka client after this long idle; 0 (the default) never does. */
		public Builder idleDisconnectTimeout(Duration idleDisconnectTimeout) {
			this.idleDisconnectTimeout = idleDisconnectTimeout;
			return this;
		}

		/**
		 * Subscribes a listener to every event of the producer before it publishes any, so that it sees
		 * {@code producer.created} too; later listeners subscribe through {@code producer.monitor()}.
		 */
		public Builder listener(EventListener listener) {
			this.listeners.add(listener);
			return this;
		}

		public Builder maxAttemptsOnTransactionCommand(int maxAttemptsOnTransactionCommand) {
			this.maxAttemptsOnTransactionCommand = maxAttemptsOnTransactionCommand;
			return this;
		}

		/**
		 * Creates the Kafka client from the final properties (byte-array serializers included). Defaults to
		 * {@code new KafkaProducer<>(properties)}; the Spring starter plugs in spring-kafka's factory, tests
		 * may plug in a {@code MockProducer}.
		 */
		public Builder clientFactory(
				Function<Map<String, Object>, org.apache.kafka.clients.producer.Producer<byte[], byte[]>> clientFactory) {
			this.clientFactory = clientFactory;
			return this;
		}

		public ProducerConfig build() {
			return new ProducerConfig(this);
		}

	}

}
