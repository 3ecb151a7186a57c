package io.waterdrop.autoconfigure.endpoint;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import org.springframework.boot.actuate.endpoint.OperationResponseBody;
import org.springframework.boot.actuate.endpoint.SanitizableData;
import org.springframework.boot.actuate.endpoint.Sanitizer;
import org.springframework.boot.actuate.endpoint.SanitizingFunction;
import org.springframework.boot.actuate.endpoint.Show;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;

import io.waterdrop.Producer;
import io.waterdrop.ProducerStats;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerStats;
import io.waterdrop.polling.PollingMode;

/**
 * The {@code waterdrop} Actuator endpoint: every Poller (thread, state, producers, wake-ups, drains, loop
 * errors) and every producer (polling, status, in-flight messages, pending reports, counters and its Kafka
 * settings).
 * <p>
 * Kafka settings are the ones WaterDrop hands to the client (Kafka's own defaults aside). Like Boot's
 * {@code configprops} and {@code env} endpoints, their values are shown only as {@code show-values} allows
 * ({@code management.endpoint.waterdrop.show-values}, {@link Show#NEVER} by default: every value reads
 * {@value SanitizableData#SANITIZED_VALUE}, the keys are listed); this read operation, when not over HTTP
 * (JMX), takes {@link Show#WHEN_AUTHORIZED} as shown, over HTTP {@link WaterDropEndpointWebExtension} checks
 * the user and the configured roles. Values that are shown are still sanitized the way Boot's endpoints
 * sanitize with {@link SanitizingFunction}s: values of keys that are likely sensitive (ending with
 * {@code password}, {@code secret}, {@code key}, {@code token}, containing {@code credentials}, URIs,
 * {@code vcap_services}), of {@code sasl.jaas.config} and of keys ending with {@code user.info} always show as
 * {@value SanitizableData#SANITIZED_VALUE}, then the application's {@link SanitizingFunction} beans apply.
 * Values that are neither text, numbers, booleans, classes nor lists of those (an SSL bundle, say) show as
 * their type only.
 * <p>
 * Threading: reads counters and states that are safe to read from any thread; nothing blocks.
 */
@Endpoint(id = "waterdrop")
public final class WaterDropEndpoint {

	private static final SanitizingFunction KAFKA_SECRETS = SanitizingFunction.sanitizeValue()
		.ifLikelySensitive()
		.ifKeyEquals("sasl.jaas.config")
		.ifKeyEndsWith("user.info")
		.ifKeyEndsWith("passphrase");

	private final Map<String, Producer> producers;

	private final List<Poller> pollers;

	private final Sanitizer sanitizer;

	private final Show showValues;

	/**
	 * Creates the endpoint.
	 * @param producers the producers to show, by name
	 * @param pollers the Pollers to show
	 * @param sanitizingFunctions functions applied to Kafka settings after the built-in ones, in order
	 * @param showValues when to show the values of Kafka settings
	 */
	public WaterDropEndpoint(Map<String, Producer> producers, List<Poller> pollers,
			List<SanitizingFunction> sanitizingFunctions, Show showValues) {
		this.producers = producers;
		this.pollers = pollers;
		List<SanitizingFunction> functions = new ArrayList<>();
		functions.add(KAFKA_SECRETS); // first: nothing the application adds can reveal a secret again
		functions.addAll(sanitizingFunctions);
		this.sanitizer = new Sanitizer(functions);
		this.showValues = showValues;
	}

	/**
	 * Creates the endpoint showing no value of a Kafka setting ({@link Show#NEVER}).
	 * @param producers the producers to show, by name
	 * @param pollers the Pollers to show
	 * @param sanitizingFunctions functions applied to Kafka settings after the built-in ones, in order
	 */
	public WaterDropEndpoint(Map<String, Producer> producers, List<Poller> pollers,
			List<SanitizingFunction> sanitizingFunctions) {
		this(producers, pollers, sanitizingFunctions, Show.NEVER);
	}

	@ReadOperation
	public WaterDropDescriptor waterdrop() {
		return waterdrop(this.showValues.isShown(true));
	}

	WaterDropDescriptor waterdrop(boolean showUnsanitized) {
		Map<String, PollerDescriptor> pollers = new LinkedHashMap<>();
		this.pollers.forEach((poller) -> pollers.put(poller.name(), describe(poller)));
		Map<String, ProducerDescriptor> producers = new LinkedHashMap<>();
		this.producers.forEach((name, producer) -> producers.put(name, describe(producer, showUnsanitized)));
		return new WaterDropDescriptor(pollers, producers);
	}

	private static PollerDescriptor describe(Poller poller) {
		PollerStats stats = poller.stats();
		Map<String, Long> wakeups = new LinkedHashMap<>();
		wakeups.put("signal", stats.signalWakeups());
		wakeups.put("timeout", stats.timeoutWakeups());
		Duration drainTime = Duration.ofMillis(TimeUnit.NANOSECONDS.toMillis(stats.drainNanos()));
		return new PollerDescriptor(poller.threadName(), poller.isRunning(),
				List.copyOf(new TreeSet<>(poller.producerIds())), print(poller.config().pollTimeout()), wakeups,
				stats.drains(), print(drainTime), stats.exhaustedDrains(), stats.yieldedDrains(), stats.loopErrors());
	}

	private ProducerDescriptor describe(Producer producer, boolean showUnsanitized) {
		Map<String, Object> polling = new LinkedHashMap<>();
		polling.put("mode", ProducerDescriptions.mode(producer));
		String poller = ProducerDescriptions.poller(producer);
		if (poller != null) {
			polling.put("poller", poller);
		}
		if (producer.config().pollingMode() == PollingMode.FD) {
			polling.put("maxTime", print(producer.config().maxTime()));
		}
		else {
			polling.put("pollTimeout", print(producer.config().pollTimeout()));
		}
		polling.put("slowCallbackThreshold", print(producer.config().slowCallbackThreshold()));
		ProducerStats stats = producer.stats();
		Map<String, Long> counters = new LinkedHashMap<>();
		counters.put("producedSync", stats.producedSync());
		counters.put("producedAsync", stats.producedAsync());
		counters.put("acknowledged", stats.acknowledged());
		counters.put("failed", stats.failed());
		counters.put("purged", stats.purged());
		counters.put("slowCallbacks", stats.slowCallbacks());
		return new ProducerDescriptor(producer.status().name(), polling, producer.inFlight(),
				producer.config().maxInFlight(), producer.queueSize(), counters, kafkaSettings(producer, showUnsanitized));
	}

	private Map<String, Object> kafkaSettings(Producer producer, boolean showUnsanitized) {
		Map<String, Object> settings = new TreeMap<>(producer.config().kafka());
		// As the core creates the client: its id by default, and always bytes (Boot's layer may name
		// serializers meant for its KafkaTemplate).
		settings.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, producer.id());
		settings.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
		settings.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
		Map<String, Object> sanitized = new LinkedHashMap<>();
		settings.forEach((key, value) -> sanitized.put(key,
				this.sanitizer.sanitize(new SanitizableData(null, key, displayable(value)), showUnsanitized)));
		return sanitized;
	}

	/** A value fit to show: an object's text could hold anything (key material in an SSL bundle). */
	private static Object displayable(Object value) {
		if (value instanceof CharSequence text) {
			return text.toString();
		}
		if (value instanceof Number || value instanceof Boolean) {
			return value;
		}
		if (value instanceof Class<?> type) {
			return type.getName();
		}
		if (value instanceof Collection<?> values) {
			return values.stream().map(WaterDropEndpoint::displayable).toList();
		}
		return "(" + value.getClass().getName() + ")";
	}

	private static String print(Duration duration) {
		return ProducerDescriptions.duration(duration);
	}

	/**
	 * The endpoint's answer.
	 * @param pollers every Poller bean by name
	 * @param producers every producer by bean name
	 */
	public record WaterDropDescriptor(Map<String, PollerDescriptor> pollers,
			Map<String, ProducerDescriptor> producers) implements OperationResponseBody {
	}

	/**
	 * One Poller.
	 * @param threadName name its thread has whenever it runs
	 * @param running whether its thread runs (it does while it serves a producer)
	 * @param producers ids of the producers it serves now
	 * @param pollTimeout how long it waits for a signal before its periodic work runs anyway
	 * @param wakeups selector wake-ups by cause: {@code signal} (a producer's reports) or {@code timeout}
	 * @param drains drain slices served
	 * @param drainTime total time spent in drain slices, in whole milliseconds
	 * @param exhaustedDrains slices that used up a producer's max-time with reports still waiting
	 * @param yieldedDrains slices ended after min-time because another producer was waiting
	 * @param loopErrors failures of the polling loop itself
	 */
	public record PollerDescriptor(String threadName, boolean running, List<String> producers, String pollTimeout,
			Map<String, Long> wakeups, long drains, String drainTime, long exhaustedDrains, long yieldedDrains,
			long loopErrors) {
	}

	/**
	 * One producer.
	 * @param status {@code CONFIGURED}, {@code CONNECTED}, {@code CLOSING} or {@code CLOSED}
	 * @param polling mode, poller (Poller or dispatch thread), max-time (fd) or poll-timeout (thread), and
	 * slow-callback threshold
	 * @param inFlight messages accepted whose report has not been dispatched
	 * @param maxInFlight most messages it holds in flight
	 * @param pendingReports reports received from Kafka, waiting for the polling thread
	 * @param counters messages produced (sync, async), acknowledged, failed and purged; slow callbacks
	 * @param kafka Kafka settings handed to the client, their values shown as {@code show-values} allows and
	 * sanitized
	 */
	public record ProducerDescriptor(String status, Map<String, Object> polling, long inFlight, int maxInFlight,
			int pendingReports, Map<String, Long> counters, Map<String, Object> kafka) {
	}

}
