package io.waterdrop.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.InitializingBean;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.StringUtils;
import org.springframework.util.unit.DataSize;

import io.waterdrop.polling.PollingMode;

/**
 * Configuration properties for WaterDrop producers and Pollers.
 * <p>
 * The top level holds the defaults of every producer; an entry under {@code waterdrop.producers} overrides
 * any of them for one producer, and inherits each key it leaves unset. Defaults are the core's
 * ({@link io.waterdrop.ProducerConfig}, {@link io.waterdrop.polling.PollerConfig}), written out here so that
 * the configuration metadata shows them.
 */
@ConfigurationProperties("waterdrop")
public class WaterDropProperties implements InitializingBean {

	/**
	 * Kafka producer settings shared by every WaterDrop producer, on top of Spring Boot's
	 * spring.kafka.producer settings and connection details.
	 */
	private final Map<String, String> kafka = new LinkedHashMap<>();

	private final Polling polling = new Polling();

	private final Health health = new Health();

	/**
	 * Largest serialized payload a producer accepts. A bare number is bytes; at most 2147483647B.
	 */
	private DataSize maxPayloadSize = DataSize.ofBytes(1_000_012);

	/**
	 * Longest a synchronous send waits for its delivery report, and a transactional producer's caller for
	 * another thread's transaction to end.
	 */
	private Duration maxWaitTimeout = Duration.ofSeconds(180);

	/**
	 * How often statistics.emitted is published while a listener receives it. 0 turns statistics off; else at
	 * least 100ms and at most 1d.
	 */
	private Duration statisticsInterval = Duration.ofSeconds(5);

	/**
	 * Most messages a producer holds accepted and not yet dispatched; bounds its memory however slow the
	 * broker or the callbacks are.
	 */
	private int maxInFlight = 100_000;

	/**
	 * Whether a produce call waits for a free slot when max-in-flight is reached, rather than failing at once.
	 */
	private boolean waitOnQueueFull = true;

	/**
	 * Longest a produce call waits for a free slot before it fails with a QueueFullException.
	 */
	private Duration waitTimeoutOnQueueFull = Duration.ofSeconds(10);

	/**
	 * Whether a transactional producer rebuilds its Kafka client after a fatal error such as being fenced.
	 */
	private boolean reloadOnTransactionFatalError = true;

	/**
	 * Longest a producer waits on shutdown for its in-flight messages before purging the rest. Keep it
	 * below spring.lifecycle.timeout-per-shutdown-phase (30s by default); start-up warns when it is not.
	 */
	private Duration closeTimeout = Duration.ofSeconds(20);

	/**
	 * How long a producer may sit idle (nothing produced, nothing in flight) before its Kafka client is closed; the next message connects again. 0 keeps it connected.
	 */
	private Duration idleDisconnectTimeout = Duration.ZERO;

	/**
	 * Whether an idempotent (non-transactional) producer rebuilds its Kafka client after a fatal error such as a cluster authorization error.
	 */
	private boolean reloadOnIdempotentFatalError = false;

	/**
	 * Client rebuilds after fatal errors in a row, without a committed transaction or an acknowledgement in
	 * between, before a producer gives up; rebuilds after a timed-out or interrupted commit or abort do not count.
	 */
	private int maxReloadAttempts = 10;

	/**
	 * Pause between counted client rebuilds in a row (see max-reload-attempts). At most 1d.
	 */
	private Duration reloadBackoff = Duration.ofSeconds(1);

	/**
	 * Attempts of a transaction commit or abort that timed out (Kafka accepts only a retry of the same call then).
	 */
	private int maxAttemptsOnTransactionCommand = 3;

	/**
	 * Fatal errors after which a transactional producer is not rebuilt (exception classes, subclasses included): by default being fenced, since a rebuilt instance would fence the newer one in turn.
	 */
	private final List<Class<? extends Throwable>> nonReloadableErrors = new ArrayList<>(List.of(ProducerFencedException.class, InvalidProducerEpochException.class));

	/**
	 * Whether every produce is observed with Micrometer Observation when an ObservationRegistry bean exists:
	 * a 'waterdrop.send' observation per message from the send to its delivery report (with a tracer, a span
	 * whose context is written into the record headers). Defaults to
	 * spring.kafka.template.observation-enabled, which is false unless set.
	 */
	private @Nullable Boolean observationEnabled;

	/**
	 * Whether every producer's error.occurred events are logged, as Boot's KafkaTemplate logs its failed sends:
	 * a failed delivery, a callback that threw, a failed transaction command, connect or client rebuild at ERROR;
	 * a refusal thrown to the caller at DEBUG. Payloads and keys are not logged; a label that is text, a number
	 * or an enum is. At most 10 failed messages (or connects) a second per producer; a line counts the rest.
	 */
	private boolean logErrors = true;

	/**
	 * Whether serializers given in code (by a WaterDropProducerCustomizer, or the customizer of a runtime
	 * producer's create) are configured with the producer's Kafka settings, as DefaultKafkaProducerFactory's
	 * configureSerializers. Turn off for serializers configured fully in code that would refuse the settings.
	 */
	private boolean configureSerializers = true;

	/**
	 * Whether every producer the starter builds stores its messages in the InMemoryKafka bean instead of
	 * sending them (for tests; WaterDrop's 'deliver: false'). Outside a test context a warning is logged at
	 * start-up. In tests, prefer @AutoConfigureWaterDropInMemory on the test class.
	 */
	private boolean inMemory;

	/**
	 * Dedicated Pollers by name, each with a thread of its own. Producers choose one with
	 * polling.poller.
	 */
	private final Map<String, PollerProperties> pollers = new LinkedHashMap<>();

	/**
	 * Producers by name; each becomes a Producer bean of that name. Without entries, a single producer
	 * named 'waterdropProducer' is defined.
	 */
	private final Map<String, ProducerProperties> producers = new LinkedHashMap<>();

	/**
	 * Templates of producers created at run time (WaterDropRuntimeProducers), by name; the same keys as a
	 * producer entry.
	 */
	private final Map<String, ProducerProperties> templates = new LinkedHashMap<>();

	/**
	 * Longest a transaction on a transactional pool (an entry with pool-size) waits for a free member.
	 */
	private Duration poolWaitTimeout = Duration.ofSeconds(10);

	public Map<String, String> getKafka() {
		return this.kafka;
	}

	public Polling getPolling() {
		return this.polling;
	}

	public Health getHealth() {
		return this.health;
	}

	public DataSize getMaxPayloadSize() {
		return this.maxPayloadSize;
	}

	public void setMaxPayloadSize(DataSize maxPayloadSize) {
		this.maxPayloadSize = maxPayloadSize;
	}

	public Duration getMaxWaitTimeout() {
		return this.maxWaitTimeout;
	}

	public void setMaxWaitTimeout(Duration maxWaitTimeout) {
		this.maxWaitTimeout = maxWaitTimeout;
	}

	public Duration getStatisticsInterval() {
		return this.statisticsInterval;
	}

	public void setStatisticsInterval(Duration statisticsInterval) {
		this.statisticsInterval = statisticsInterval;
	}

	public int getMaxInFlight() {
		return this.maxInFlight;
	}

	public void setMaxInFlight(int maxInFlight) {
		this.maxInFlight = maxInFlight;
	}

	public boolean isWaitOnQueueFull() {
		return this.waitOnQueueFull;
	}

	public void setWaitOnQueueFull(boolean waitOnQueueFull) {
		this.waitOnQueueFull = waitOnQueueFull;
	}

	public Duration getWaitTimeoutOnQueueFull() {
		return this.waitTimeoutOnQueueFull;
	}

	public void setWaitTimeoutOnQueueFull(Duration waitTimeoutOnQueueFull) {
		this.waitTimeoutOnQueueFull = waitTimeoutOnQueueFull;
	}

	public boolean isReloadOnTransactionFatalError() {
		return this.reloadOnTransactionFatalError;
	}

	public void setReloadOnTransactionFatalError(boolean reloadOnTransactionFatalError) {
		this.reloadOnTransactionFatalError = reloadOnTransactionFatalError;
	}

	public Duration getCloseTimeout() {
		return this.closeTimeout;
	}

	public void setCloseTimeout(Duration closeTimeout) {
		this.closeTimeout = closeTimeout;
	}

	public Duration getIdleDisconnectTimeout() {
		return this.idleDisconnectTimeout;
	}

	public void setIdleDisconnectTimeout(Duration idleDisconnectTimeout) {
		this.idleDisconnectTimeout = idleDisconnectTimeout;
	}

	public boolean isReloadOnIdempotentFatalError() {
		return this.reloadOnIdempotentFatalError;
	}

	public void setReloadOnIdempotentFatalError(boolean reloadOnIdempotentFatalError) {
		this.reloadOnIdempotentFatalError = reloadOnIdempotentFatalError;
	}

	public int getMaxReloadAttempts() {
		return this.maxReloadAttempts;
	}

	public void setMaxReloadAttempts(int maxReloadAttempts) {
		this.maxReloadAttempts = maxReloadAttempts;
	}

	public Duration getReloadBackoff() {
		return this.reloadBackoff;
	}

	public void setReloadBackoff(Duration reloadBackoff) {
		this.reloadBackoff = reloadBackoff;
	}

	public int getMaxAttemptsOnTransactionCommand() {
		return this.maxAttemptsOnTransactionCommand;
	}

	public void setMaxAttemptsOnTransactionCommand(int maxAttemptsOnTransactionCommand) {
		this.maxAttemptsOnTransactionCommand = maxAttemptsOnTransactionCommand;
	}

	public List<Class<? extends Throwable>> getNonReloadableErrors() {
		return this.nonReloadableErrors;
	}

	public @Nullable Boolean getObservationEnabled() {
		return this.observationEnabled;
	}

	public void setObservationEnabled(@Nullable Boolean observationEnabled) {
		this.observationEnabled = observationEnabled;
	}

	public boolean isInMemory() {
		return this.inMemory;
	}

	public void setInMemory(boolean inMemory) {
		this.inMemory = inMemory;
	}

	public boolean isLogErrors() {
		return this.logErrors;
	}

	public void setLogErrors(boolean logErrors) {
		this.logErrors = logErrors;
	}

	public boolean isConfigureSerializers() {
		return this.configureSerializers;
	}

	public void setConfigureSerializers(boolean configureSerializers) {
		this.configureSerializers = configureSerializers;
	}

	/**
	 * Drops the keys that relaxed binding added for an environment variable's spelling of an entry (the
	 * start-up check has failed already where such a key is an entry written so).
	 */
	@Override
	public void afterPropertiesSet() {
		RelaxedEntryNames.removeEnvironmentSpellings("waterdrop.pollers", this.pollers, (key) -> false);
		RelaxedEntryNames.removeEnvironmentSpellings("waterdrop.producers", this.producers, (key) -> false);
		RelaxedEntryNames.removeEnvironmentSpellings("waterdrop.templates", this.templates, (key) -> false);
	}

	public Map<String, PollerProperties> getPollers() {
		return this.pollers;
	}

	public Map<String, ProducerProperties> getProducers() {
		return this.producers;
	}

	public Map<String, ProducerProperties> getTemplates() {
		return this.templates;
	}

	public Duration getPoolWaitTimeout() {
		return this.poolWaitTimeout;
	}

	public void setPoolWaitTimeout(Duration poolWaitTimeout) {
		this.poolWaitTimeout = poolWaitTimeout;
	}

	/**
	 * Default polling settings of every producer.
	 */
	public static class Polling {

		/**
		 * Refuses a value written where the settings belong, as {@code polling: fd} for {@code polling.mode: fd}
		 * (Spring's conversion finds it by its name).
		 * @param value what was written
		 * @return never
		 */
		public static Polling valueOf(String value) {
			throw settingsExpected(value);
		}

		/**
		 * How delivery reports reach callbacks: fd (a shared Poller thread) or thread (a thread per
		 * producer).
		 */
		private PollingMode mode = PollingMode.FD;

		private final Fd fd = new Fd();

		private final ThreadMode thread = new ThreadMode();

		/**
		 * Dispatch of one delivery report taking longer than this publishes callback.slow. At most 1d.
		 */
		private Duration slowCallbackThreshold = Duration.ofMillis(50);

		public PollingMode getMode() {
			return this.mode;
		}

		public void setMode(PollingMode mode) {
			this.mode = mode;
		}

		public Fd getFd() {
			return this.fd;
		}

		public ThreadMode getThread() {
			return this.thread;
		}

		public Duration getSlowCallbackThreshold() {
			return this.slowCallbackThreshold;
		}

		public void setSlowCallbackThreshold(Duration slowCallbackThreshold) {
			this.slowCallbackThreshold = slowCallbackThreshold;
		}

	}

	/**
	 * Health contributor settings.
	 */
	public static class Health {

		/**
		 * How long deliveries (a transactional producer's transactions) may keep failing, with no message
		 * acknowledged (no transaction committed) since the first failure, before a producer's health is DOWN; a
		 * window without failures ends it.
		 */
		private Duration failureWindow = Duration.ofMinutes(1);

		public Duration getFailureWindow() {
			return this.failureWindow;
		}

		public void setFailureWindow(Duration failureWindow) {
			this.failureWindow = failureWindow;
		}

	}

	/**
	 * Defaults of fd mode.
	 */
	public static class Fd {

		/**
		 * Longest time a Poller spends on one producer's reports per cycle before serving the next one. At least
		 * 1ms, at most 1d.
		 */
		private Duration maxTime = Duration.ofMillis(100);

		/**
		 * Shortest time a Poller spends on one producer's reports before it yields to another producer that
		 * became ready meanwhile; at most max-time.
		 */
		private Duration minTime = Duration.ofMillis(1);

		public Duration getMaxTime() {
			return this.maxTime;
		}

		public void setMaxTime(Duration maxTime) {
			this.maxTime = maxTime;
		}

		public Duration getMinTime() {
			return this.minTime;
		}

		public void setMinTime(Duration minTime) {
			this.minTime = minTime;
		}

	}

	/**
	 * Defaults of thread mode.
	 */
	public static class ThreadMode {

		/**
		 * How long a producer's dispatch thread waits for a report before its periodic work runs anyway.
		 */
		private Duration pollTimeout = Duration.ofSeconds(1);

		public Duration getPollTimeout() {
			return this.pollTimeout;
		}

		public void setPollTimeout(Duration pollTimeout) {
			this.pollTimeout = pollTimeout;
		}

	}

	/**
	 * Settings of one dedicated Poller.
	 */
	public static class PollerProperties {

		/**
		 * The entry written without settings ({@code critical:} in YAML binds the empty string): all defaults.
		 * Spring's conversion finds it by its name, so it works with an application's own
		 * {@code conversionService} bean too. An empty YAML map ({@code critical: {}}) defines nothing: Spring
		 * Boot's YAML loader drops it.
		 * @param empty the entry's value, which must be blank
		 * @return an entry with all defaults
		 */
		public static PollerProperties valueOf(String empty) {
			requireNoValue(empty);
			return new PollerProperties();
		}

		/**
		 * How long the Poller waits without a signal before its periodic work runs anyway.
		 */
		private Duration pollTimeout = Duration.ofSeconds(1);

		/**
		 * First pause after a failure of the polling loop.
		 */
		private Duration backoffMin = Duration.ofMillis(100);

		/**
		 * Longest pause after consecutive failures of the polling loop.
		 */
		private Duration backoffMax = Duration.ofSeconds(30);

		public Duration getPollTimeout() {
			return this.pollTimeout;
		}

		public void setPollTimeout(Duration pollTimeout) {
			this.pollTimeout = pollTimeout;
		}

		public Duration getBackoffMin() {
			return this.backoffMin;
		}

		public void setBackoffMin(Duration backoffMin) {
			this.backoffMin = backoffMin;
		}

		public Duration getBackoffMax() {
			return this.backoffMax;
		}

		public void setBackoffMax(Duration backoffMax) {
			this.backoffMax = backoffMax;
		}

	}

	/**
	 * Settings of one producer. Every key left unset takes the top-level waterdrop value.
	 */
	public static class ProducerProperties {

		/**
		 * The entry written without settings ({@code orders:} in YAML): all defaults, as
		 * {@link PollerProperties#valueOf(String)}.
		 * @param empty the entry's value, which must be blank
		 * @return an entry with all defaults
		 */
		public static ProducerProperties valueOf(String empty) {
			requireNoValue(empty);
			return new ProducerProperties();
		}

		/**
		 * Kafka producer settings of this producer, on top of waterdrop.kafka.
		 */
		private final Map<String, String> kafka = new LinkedHashMap<>();

		private final ProducerPolling polling = new ProducerPolling();

		/**
		 * Largest serialized payload the producer accepts. Defaults to waterdrop.max-payload-size.
		 */
		private @Nullable DataSize maxPayloadSize;

		/**
		 * Longest a synchronous send waits for its delivery report, and a transactional producer's caller for
		 * another thread's transaction to end. Defaults to waterdrop.max-wait-timeout.
		 */
		private @Nullable Duration maxWaitTimeout;

		/**
		 * How often statistics.emitted is published while a listener receives it; 0 turns statistics off.
		 * Defaults to waterdrop.statistics-interval.
		 */
		private @Nullable Duration statisticsInterval;

		/**
		 * Most messages the producer holds accepted and not yet dispatched. Defaults to
		 * waterdrop.max-in-flight.
		 */
		private @Nullable Integer maxInFlight;

		/**
		 * Whether a produce call waits for a free slot when max-in-flight is reached. Defaults to
		 * waterdrop.wait-on-queue-full.
		 */
		private @Nullable Boolean waitOnQueueFull;

		/**
		 * Longest a produce call waits for a free slot. Defaults to waterdrop.wait-timeout-on-queue-full.
		 */
		private @Nullable Duration waitTimeoutOnQueueFull;

		/**
		 * Whether the producer, if transactional, rebuilds its Kafka client after a fatal error. Defaults to
		 * waterdrop.reload-on-transaction-fatal-error.
		 */
		private @Nullable Boolean reloadOnTransactionFatalError;

		/**
		 * Longest the producer waits on shutdown for its in-flight messages before purging the rest.
		 * Defaults to waterdrop.close-timeout.
		 */
		private @Nullable Duration closeTimeout;

		/**
		 * Whether this producer is the primary Producer bean, the one injected where a Producer is injected
		 * without a qualifier. At most one entry may be primary.
		 */
		private boolean primary;

		/**
		 * How long this producer may sit idle before its Kafka client is closed. Defaults to waterdrop.idle-disconnect-timeout.
		 */
		private @Nullable Duration idleDisconnectTimeout;

		/**
		 * Whether this idempotent producer rebuilds its Kafka client after a fatal error. Defaults to waterdrop.reload-on-idempotent-fatal-error.
		 */
		private @Nullable Boolean reloadOnIdempotentFatalError;

		/**
		 * Client rebuilds after fatal errors in a row before this producer gives up. Defaults to
		 * waterdrop.max-reload-attempts.
		 */
		private @Nullable Integer maxReloadAttempts;

		/**
		 * Pause between this producer's client rebuilds in a row. Defaults to waterdrop.reload-backoff.
		 */
		private @Nullable Duration reloadBackoff;

		/**
		 * Attempts of this producer's timed-out transaction commits and aborts. Defaults to waterdrop.max-attempts-on-transaction-command.
		 */
		private @Nullable Integer maxAttemptsOnTransactionCommand;

		/**
		 * Fatal errors after which this transactional producer is not rebuilt. Defaults to waterdrop.non-reloadable-errors.
		 */
		private @Nullable List<Class<? extends Throwable>> nonReloadableErrors;

		/**
		 * Whether this producer's sends are observed with Micrometer Observation. Defaults to
		 * waterdrop.observation-enabled.
		 */
		private @Nullable Boolean observationEnabled;

		public @Nullable Boolean getObservationEnabled() {
			return this.observationEnabled;
		}

		public void setObservationEnabled(@Nullable Boolean observationEnabled) {
			this.observationEnabled = observationEnabled;
		}

		/**
		 * Makes this transactional entry a pool of that many producers (transactional.id and bean name
		 * suffixed -0 to -N-1), so that as many transactions run at the same time. Unset: one producer.
		 */
		private @Nullable Integer poolSize;

		/**
		 * Longest a transaction on this pool waits for a free member. Defaults to
		 * waterdrop.pool-wait-timeout.
		 */
		private @Nullable Duration poolWaitTimeout;

		public Map<String, String> getKafka() {
			return this.kafka;
		}

		public ProducerPolling getPolling() {
			return this.polling;
		}

		public @Nullable DataSize getMaxPayloadSize() {
			return this.maxPayloadSize;
		}

		public void setMaxPayloadSize(@Nullable DataSize maxPayloadSize) {
			this.maxPayloadSize = maxPayloadSize;
		}

		public @Nullable Duration getMaxWaitTimeout() {
			return this.maxWaitTimeout;
		}

		public void setMaxWaitTimeout(@Nullable Duration maxWaitTimeout) {
			this.maxWaitTimeout = maxWaitTimeout;
		}

		public @Nullable Duration getStatisticsInterval() {
			return this.statisticsInterval;
		}

		public void setStatisticsInterval(@Nullable Duration statisticsInterval) {
			this.statisticsInterval = statisticsInterval;
		}

		public @Nullable Integer getMaxInFlight() {
			return this.maxInFlight;
		}

		public void setMaxInFlight(@Nullable Integer maxInFlight) {
			this.maxInFlight = maxInFlight;
		}

		public @Nullable Boolean getWaitOnQueueFull() {
			return this.waitOnQueueFull;
		}

		public void setWaitOnQueueFull(@Nullable Boolean waitOnQueueFull) {
			this.waitOnQueueFull = waitOnQueueFull;
		}

		public @Nullable Duration getWaitTimeoutOnQueueFull() {
			return this.waitTimeoutOnQueueFull;
		}

		public void setWaitTimeoutOnQueueFull(@Nullable Duration waitTimeoutOnQueueFull) {
			this.waitTimeoutOnQueueFull = waitTimeoutOnQueueFull;
		}

		public @Nullable Boolean getReloadOnTransactionFatalError() {
			return this.reloadOnTransactionFatalError;
		}

		public void setReloadOnTransactionFatalError(@Nullable Boolean reloadOnTransactionFatalError) {
			this.reloadOnTransactionFatalError = reloadOnTransactionFatalError;
		}

		public @Nullable Duration getCloseTimeout() {
			return this.closeTimeout;
		}

		public void setCloseTimeout(@Nullable Duration closeTimeout) {
			this.closeTimeout = closeTimeout;
		}

		public @Nullable Duration getIdleDisconnectTimeout() {
			return this.idleDisconnectTimeout;
		}

		public void setIdleDisconnectTimeout(@Nullable Duration idleDisconnectTimeout) {
			this.idleDisconnectTimeout = idleDisconnectTimeout;
		}

		public @Nullable Boolean getReloadOnIdempotentFatalError() {
			return this.reloadOnIdempotentFatalError;
		}

		public void setReloadOnIdempotentFatalError(@Nullable Boolean reloadOnIdempotentFatalError) {
			this.reloadOnIdempotentFatalError = reloadOnIdempotentFatalError;
		}

		public @Nullable Integer getMaxReloadAttempts() {
			return this.maxReloadAttempts;
		}

		public void setMaxReloadAttempts(@Nullable Integer maxReloadAttempts) {
			this.maxReloadAttempts = maxReloadAttempts;
		}

		public @Nullable Duration getReloadBackoff() {
			return this.reloadBackoff;
		}

		public void setReloadBackoff(@Nullable Duration reloadBackoff) {
			this.reloadBackoff = reloadBackoff;
		}

		public @Nullable Integer getMaxAttemptsOnTransactionCommand() {
			return this.maxAttemptsOnTransactionCommand;
		}

		public void setMaxAttemptsOnTransactionCommand(@Nullable Integer maxAttemptsOnTransactionCommand) {
			this.maxAttemptsOnTransactionCommand = maxAttemptsOnTransactionCommand;
		}

		public @Nullable List<Class<? extends Throwable>> getNonReloadableErrors() {
			return this.nonReloadableErrors;
		}

		public void setNonReloadableErrors(@Nullable List<Class<? extends Throwable>> nonReloadableErrors) {
			this.nonReloadableErrors = nonReloadableErrors;
		}

		public boolean isPrimary() {
			return this.primary;
		}

		public @Nullable Integer getPoolSize() {
			return this.poolSize;
		}

		public void setPoolSize(@Nullable Integer poolSize) {
			this.poolSize = poolSize;
		}

		public @Nullable Duration getPoolWaitTimeout() {
			return this.poolWaitTimeout;
		}

		public void setPoolWaitTimeout(@Nullable Duration poolWaitTimeout) {
			this.poolWaitTimeout = poolWaitTimeout;
		}

		public void setPrimary(boolean primary) {
			this.primary = primary;
		}

	}

	/**
	 * Polling settings of one producer. Every key left unset takes the waterdrop.polling value.
	 */
	public static class ProducerPolling {

		/**
		 * Refuses a value written where the settings belong, as {@link Polling#valueOf(String)}.
		 * @param value what was written
		 * @return never
		 */
		public static ProducerPolling valueOf(String value) {
			throw settingsExpected(value);
		}

		/**
		 * How delivery reports reach callbacks: fd or thread. Defaults to waterdrop.polling.mode.
		 */
		private @Nullable PollingMode mode;

		/**
		 * Name of the dedicated Poller (an entry of waterdrop.pollers) serving this producer; fd mode only.
		 * Unset means the global Poller.
		 */
		private @Nullable String poller;

		private final ProducerFd fd = new ProducerFd();

		private final ProducerThreadMode thread = new ProducerThreadMode();

		/**
		 * Dispatch of one delivery report taking longer than this publishes callback.slow. Defaults to
		 * waterdrop.polling.slow-callback-threshold.
		 */
		private @Nullable Duration slowCallbackThreshold;

		public @Nullable PollingMode getMode() {
			return this.mode;
		}

		public void setMode(@Nullable PollingMode mode) {
			this.mode = mode;
		}

		public @Nullable String getPoller() {
			return this.poller;
		}

		public void setPoller(@Nullable String poller) {
			this.poller = poller;
		}

		public ProducerFd getFd() {
			return this.fd;
		}

		public ProducerThreadMode getThread() {
			return this.thread;
		}

		public @Nullable Duration getSlowCallbackThreshold() {
			return this.slowCallbackThreshold;
		}

		public void setSlowCallbackThreshold(@Nullable Duration slowCallbackThreshold) {
			this.slowCallbackThreshold = slowCallbackThreshold;
		}

	}

	/**
	 * Fd-mode settings of one producer.
	 */
	public static class ProducerFd {

		/**
		 * Longest time a Poller spends on this producer's reports per cycle. Defaults to
		 * waterdrop.polling.fd.max-time.
		 */
		private @Nullable Duration maxTime;

		/**
		 * Shortest time a Poller spends on this producer's reports before yielding to another producer that
		 * became ready. Defaults to waterdrop.polling.fd.min-time.
		 */
		private @Nullable Duration minTime;

		public @Nullable Duration getMaxTime() {
			return this.maxTime;
		}

		public void setMaxTime(@Nullable Duration maxTime) {
			this.maxTime = maxTime;
		}

		public @Nullable Duration getMinTime() {
			return this.minTime;
		}

		public void setMinTime(@Nullable Duration minTime) {
			this.minTime = minTime;
		}

	}

	/**
	 * Thread-mode settings of one producer.
	 */
	public static class ProducerThreadMode {

		/**
		 * How long the dispatch thread waits for a report before its periodic work runs anyway. Defaults to
		 * waterdrop.polling.thread.poll-timeout.
		 */
		private @Nullable Duration pollTimeout;

		public @Nullable Duration getPollTimeout() {
			return this.pollTimeout;
		}

		public void setPollTimeout(@Nullable Duration pollTimeout) {
			this.pollTimeout = pollTimeout;
		}

	}

	private static IllegalArgumentException settingsExpected(String value) {
		String written = value.trim();
		boolean mode = Arrays.stream(PollingMode.values()).anyMatch((known) -> known.name().equalsIgnoreCase(written));
		return new IllegalArgumentException("polling takes settings such as mode or fd.max-time, not the value '"
				+ value + "'" + (mode ? ": write polling.mode: " + written : ""));
	}

	private static void requireNoValue(String value) {
		if (StringUtils.hasText(value)) {
			throw new IllegalArgumentException(
					"an entry takes settings such as poll-timeout or kafka.acks, not the value '" + value + "'");
		}
	}

}
