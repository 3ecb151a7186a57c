package io.waterdrop.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.serialization.Serializer;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.BeanFactoryUtils;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.kafka.autoconfigure.DefaultKafkaProducerFactoryCustomizer;
import org.springframework.boot.kafka.autoconfigure.KafkaConnectionDetails;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.boot.kafka.autoconfigure.SslBundleSslEngineFactory;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.context.ApplicationContext;
import org.springframework.util.ClassUtils;
import org.springframework.util.StringUtils;
import org.springframework.util.unit.DataSize;

import io.waterdrop.InvalidConfigurationException;
import io.waterdrop.Producer;
import io.waterdrop.ProducerConfig;
import io.waterdrop.TransactionalPool;
import io.waterdrop.autoconfigure.WaterDropProperties.PollerProperties;
import io.waterdrop.autoconfigure.WaterDropProperties.ProducerPolling;
import io.waterdrop.autoconfigure.WaterDropProperties.ProducerProperties;
import io.waterdrop.autoconfigure.observation.WaterDropObservations;
import io.waterdrop.autoconfigure.transaction.SpringTransactionJoiner;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingMode;

/**
 * Builds producers and dedicated Pollers from {@link WaterDropProperties}: the factory behind the
 * {@code <name>} producer beans and {@code <name>Poller} Poller beans.
 * <p>
 * Kafka settings are layered, later wins: Boot's {@code spring.kafka.producer.*} properties, Boot's
 * {@link KafkaConnectionDetails} for producers, {@code waterdrop.kafka.*}, the producer's own
 * {@code kafka.*}. {@code key.serializer} and {@code value.serializer} among them become the producer's
 * serializers ({@link ProducerSerializers}), the client always gets bytes. Every other setting is the producer's own value if set, else the top-level one. An
 * invalid value fails with an {@link InvalidConfigurationException} naming the key where it was set.
 */
final class ProducerAssembler implements DisposableBean {

	private static final String PREFIX = "waterdrop.";

	private static final String KEY_SERIALIZER = org.apache.kafka.clients.producer.ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG;

	private static final String VALUE_SERIALIZER = org.apache.kafka.clients.producer.ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG;

	/** Whether spring-tx is present, so that transactional producers join Spring-managed transactions. */
	private static final boolean SPRING_TX_PRESENT = ClassUtils.isPresent(
			"org.springframework.transaction.support.TransactionSynchronizationManager",
			ProducerAssembler.class.getClassLoader());

	/** Boot's adapter of spring.kafka.* to KafkaConnectionDetails, package-private. */
	private static final String BOOT_CONNECTION_DETAILS =
			"org.springframework.boot.kafka.autoconfigure.PropertiesKafkaConnectionDetails";

	/** Kafka settings that must differ between clients: duplicates clash, or fence each other. */
	private static final Set<String> PER_CLIENT_SETTINGS = Set.of(CommonClientConfigs.CLIENT_ID_CONFIG,
			org.apache.kafka.clients.producer.ProducerConfig.TRANSACTIONAL_ID_CONFIG);

	private final WaterDropProperties properties;

	private final ObjectProvider<KafkaProperties> kafkaProperties;

	private final ObjectProvider<KafkaConnectionDetails> connectionDetails;

	private final ObjectProvider<DefaultKafkaProducerFactoryCustomizer> factoryCustomizers;

	private final ObjectProvider<WaterDropKafkaClientFactoryCustomizer> clientFactoryCustomizers;

	private final ObjectProvider<WaterDropProducerCustomizer> producerCustomizers;

	private final ApplicationContext context;

	private final ProducerSerializers serializers;

	/** The transactional ids of the context's own producers (not runtime ones), and which producer has each. */
	private final Map<String, String> transactionalIds = new ConcurrentHashMap<>();

	/** The client ids of the context's own producers (not runtime ones), and which producer has each. */
	private final Map<String, ClientIdHolder> clientIds = new ConcurrentHashMap<>();

	ProducerAssembler(WaterDropProperties properties, ObjectProvider<KafkaProperties> kafkaProperties,
			ObjectProvider<KafkaConnectionDetails> connectionDetails,
			ObjectProvider<DefaultKafkaProducerFactoryCustomizer> factoryCustomizers,
			ObjectProvider<WaterDropKafkaClientFactoryCustomizer> clientFactoryCustomizers,
			ObjectProvider<WaterDropProducerCustomizer> producerCustomizers, ApplicationContext context) {
		this.properties = properties;
		this.kafkaProperties = kafkaProperties;
		this.connectionDetails = connectionDetails;
		this.factoryCustomizers = factoryCustomizers;
		this.clientFactoryCustomizers = clientFactoryCustomizers;
		this.producerCustomizers = producerCustomizers;
		this.context = context;
		this.serializers = new ProducerSerializers(context);
	}

	/** Closes the serializers made from class names, after the producers (which depend on this bean). */
	@Override
	public void destroy() {
		this.serializers.close();
	}

	/**
	 * Closes the serializers made for a configuration no longer in use: a runtime producer removed, or one
	 * whose creation failed after its configuration was built.
	 */
	void releaseSerializers(ProducerConfig config) {
		this.serializers.release(config.keySerializer(), config.payloadSerializer());
	}

	/**
	 * The property path of an entry of the map {@code path} ({@code waterdrop.producers}), for messages:
	 * {@code <path>.<name>}, or {@code <path>[<name>]} for a name with a dot, which only the brackets keep one
	 * element ({@code waterdrop.producers.tenant.eu} would be the entry {@code tenant}).
	 */
	static String entryPath(String path, String name) {
		return (name.indexOf('.') < 0) ? path + "." + name : path + "[" + name + "]";
	}

	static String producerPrefix(String name) {
		return entryPath(PREFIX + "producers", name) + ".";
	}

	static String pollerPrefix(String name) {
		return entryPath(PREFIX + "pollers", name) + ".";
	}

	static String pollerBeanName(String pollerName) {
		return pollerName + "Poller";
	}

	/** The dedicated Poller defined as {@code waterdrop.pollers.<name>}. */
	Poller poller(String name) {
		PollerProperties poller = this.properties.getPollers().getOrDefault(name, new PollerProperties());
		try {
			return new Poller(new PollerConfig(name, poller.getPollTimeout(), poller.getBackoffMin(),
					poller.getBackoffMax()));
		}
		catch (InvalidConfigurationException ex) {
			throw new InvalidConfigurationException(pollerPrefix(name) + ex.property(), reason(ex), ex.action());
		}
	}

	/**
	 * The producer defined as {@code waterdrop.producers.<name>}; with no such entry, one made of the
	 * top-level settings alone.
	 */
	Producer producer(String name) {
		ProducerProperties own = this.properties.getProducers().getOrDefault(name, new ProducerProperties());
		if (own.getPoolWaitTimeout() != null) { // else ignored, unchecked
			throw new InvalidConfigurationException(producerPrefix(name) + "pool-wait-timeout",
					"applies to transactional pools only, but this entry has no pool-size",
					"Remove it, or set " + producerPrefix(name) + "pool-size to make the entry a pool.");
		}
		return claimIds(name, name, producer(name, own, producerPrefix(name), (builder, kafka) -> {
		}));
	}

	/** The producer of the context (not a runtime one) that has this {@code transactional.id}, if any. */
	@Nullable String transactionalIdHolder(String transactionalId) {
		return this.transactionalIds.get(transactionalId);
	}

	/**
	 * Refuses a {@code client.id} or a {@code transactional.id} that another producer of the context already has
	 * (for the producer {@code name}, set up by the entry {@code entry}): Kafka's meters and JMX beans of the two
	 * clients would clash, and a second {@code initTransactions} would fence the first for good. Where the ids
	 * come from does not matter (an entry, {@code waterdrop.kafka}, or Boot's
	 * {@code spring.kafka.producer.properties} and {@code spring.kafka.properties}, which every producer shares).
	 */
	private Producer claimIds(String entry, String name, Producer producer) {
		Object setClientId = producer.config().kafka().get(CommonClientConfigs.CLIENT_ID_CONFIG);
		String clientId = (setClientId != null) ? setClientId.toString() : name;
		String clientIdProperty = producerPrefix(entry) + "kafka.client.id";
		ClientIdHolder clientIdHolder = this.clientIds.putIfAbsent(clientId,
				new ClientIdHolder(name, (setClientId != null) ? clientIdProperty : null));
		if (clientIdHolder != null && !clientIdHolder.producer().equals(name)) {
			producer.close(Duration.ZERO);
			// Named where the id is set: this producer's own default clashes with the other's setting
			throw new InvalidConfigurationException(
					(setClientId == null && clientIdHolder.property() != null) ? clientIdHolder.property()
							: clientIdProperty,
					"gives producer '" + name + "' the client.id '" + clientId + "', which producer '"
							+ clientIdHolder.producer()
							+ "' has too: Kafka's client meters, JMX beans and logs would mix them",
					"Give every producer a client.id of its own under waterdrop.producers.<name>.kafka, or none (a "
							+ "producer's client.id is then its name; a pool's members derive theirs as "
							+ "<id>-<index>).");
		}
		Object id = producer.config()
			.kafka()
			.get(org.apache.kafka.clients.producer.ProducerConfig.TRANSACTIONAL_ID_CONFIG);
		if (id == null) {
			return producer;
		}
		String holder = this.transactionalIds.putIfAbsent(id.toString(), name);
		if (holder != null && !holder.equals(name)) {
			producer.close(Duration.ZERO);
			throw new InvalidConfigurationException(producerPrefix(entry) + "kafka.transactional.id",
					"gives producer '" + name + "' the transactional.id '" + id + "', which producer '" + holder
							+ "' has too: each would fence the other",
					"Give every producer a transactional.id of its own under waterdrop.producers.<name>.kafka (a "
							+ "pool's members derive theirs as <id>-<index>); do not set it in waterdrop.kafka, "
							+ "spring.kafka.producer.properties or spring.kafka.properties, which every producer "
							+ "shares.");
		}
		return producer;
	}

	/**
	 * A producer named {@code name} made of {@code own} over the top-level settings: a producer entry, a pool
	 * member, a runtime producer's template with its overrides. {@code ownPrefix} is where {@code own} is set
	 * (for messages); {@code adjust} gets the builder and the layered Kafka settings (read-only) once those
	 * are applied, before the {@link WaterDropProducerCustomizer}s.
	 */
	Producer producer(String name, ProducerProperties own, String ownPrefix,
			BiConsumer<ProducerConfig.Builder, Map<String, Object>> adjust) {
		AtomicReference<@Nullable Producer> built = new AtomicReference<>();
		return remember(built, new Producer(config(name, own, ownPrefix, adjust, built, true)));
	}

	/**
	 * The configuration of a runtime producers' template as its settings make it, to check them at start-up.
	 * Without the {@link WaterDropProducerCustomizer}s: they are called with a producer's name, at each create.
	 */
	ProducerConfig templateConfig(String template, ProducerProperties own, String ownPrefix) {
		return config(template, own, ownPrefix, (builder, kafka) -> {
		}, new AtomicReference<>(), false);
	}

	/**
	 * The configuration; {@code built} must be given the producer made of it, for what needs the producer
	 * itself later (the observation's Poller tag).
	 */
	ProducerConfig config(String name, ProducerProperties own, String ownPrefix,
			BiConsumer<ProducerConfig.Builder, Map<String, Object>> adjust, AtomicReference<@Nullable Producer> built) {
		return config(name, own, ownPrefix, adjust, built, true);
	}

	private ProducerConfig config(String name, ProducerProperties own, String ownPrefix,
			BiConsumer<ProducerConfig.Builder, Map<String, Object>> adjust, AtomicReference<@Nullable Producer> built,
			boolean customize) {
		Origins origins = new Origins(ownPrefix);
		WaterDropProperties.Polling shared = this.properties.getPolling();
		ProducerPolling polling = own.getPolling();
		ProducerConfig.Builder builder = ProducerConfig.builder().id(name);
		PollingMode mode = origins.pick("polling.mode", polling.getMode(), shared.getMode());
		builder.pollingMode(mode);
		builder.maxPayloadSize(bytes(origins, "max-payload-size",
				origins.pick("max-payload-size", own.getMaxPayloadSize(), this.properties.getMaxPayloadSize())));
		builder.maxWaitTimeout(origins.pick("max-wait-timeout", own.getMaxWaitTimeout(),
				this.properties.getMaxWaitTimeout()));
		builder.statisticsInterval(origins.pick("statistics-interval", own.getStatisticsInterval(),
				this.properties.getStatisticsInterval()));
		builder.maxInFlight(origins.pick("max-in-flight", own.getMaxInFlight(), this.properties.getMaxInFlight()));
		builder.waitOnQueueFull(origins.pick("wait-on-queue-full", own.getWaitOnQueueFull(),
				this.properties.isWaitOnQueueFull()));
		builder.waitTimeoutOnQueueFull(origins.pick("wait-timeout-on-queue-full", own.getWaitTimeoutOnQueueFull(),
				this.properties.getWaitTimeoutOnQueueFull()));
		builder.reloadOnTransactionFatalError(origins.pick("reload-on-transaction-fatal-error",
				own.getReloadOnTransactionFatalError(), this.properties.isReloadOnTransactionFatalError()));
		builder.maxTime(origins.pick("polling.fd.max-time", polling.getFd().getMaxTime(),
				shared.getFd().getMaxTime()));
		builder.minTime(origins.pick("polling.fd.min-time", polling.getFd().getMinTime(),
				shared.getFd().getMinTime()));
		builder.idleDisconnectTimeout(origins.pick("idle-disconnect-timeout", own.getIdleDisconnectTimeout(),
				this.properties.getIdleDisconnectTimeout()));
		builder.reloadOnIdempotentFatalError(origins.pick("reload-on-idempotent-fatal-error",
				own.getReloadOnIdempotentFatalError(), this.properties.isReloadOnIdempotentFatalError()));
		builder.maxReloadAttempts(origins.pick("max-reload-attempts", own.getMaxReloadAttempts(),
				this.properties.getMaxReloadAttempts()));
		builder.reloadBackoff(origins.pick("reload-backoff", own.getReloadBackoff(),
				this.properties.getReloadBackoff()));
		builder.maxAttemptsOnTransactionCommand(origins.pick("max-attempts-on-transaction-command",
				own.getMaxAttemptsOnTransactionCommand(), this.properties.getMaxAttemptsOnTransactionCommand()));
		builder.nonReloadableErrors(new LinkedHashSet<>(origins.pick("non-reloadable-errors",
				own.getNonReloadableErrors(), this.properties.getNonReloadableErrors())));
		builder.pollTimeout(origins.pick("polling.thread.poll-timeout", polling.getThread().getPollTimeout(),
				shared.getThread().getPollTimeout()));
		builder.slowCallbackThreshold(origins.pick("polling.slow-callback-threshold",
				polling.getSlowCallbackThreshold(), shared.getSlowCallbackThreshold()));
		checkCloseTimeout(origins, own);
		checkModeSettings(origins, polling, mode);
		if (mode == PollingMode.FD) {
			builder.poller(poller(origins, polling.getPoller()));
		}
		Map<String, Object> kafka = kafkaSettings(origins, own);
		// WaterDrop serializes, so that it refuses what cannot be serialized before queueing: the client gets bytes.
		Object keySerializer = kafka.remove(KEY_SERIALIZER);
		Object valueSerializer = kafka.remove(VALUE_SERIALIZER);
		KafkaSettingsCheck.check(kafka, origins::pathOf);
		builder.kafka(kafka);
		Serializer<?> key = this.serializers.serializer(keySerializer, true, Collections.unmodifiableMap(kafka),
				origins.pathOf("kafka." + KEY_SERIALIZER), origins.ownPrefix + "kafka." + KEY_SERIALIZER);
		Serializer<?> payload;
		try {
			payload = this.serializers.serializer(valueSerializer, false, Collections.unmodifiableMap(kafka),
					origins.pathOf("kafka." + VALUE_SERIALIZER), origins.ownPrefix + "kafka." + VALUE_SERIALIZER);
		}
		catch (RuntimeException | Error ex) {
			this.serializers.release(key);
			throw ex;
		}
		builder.keySerializer(key);
		builder.payloadSerializer(payload);
		ProducerConfig config;
		try {
			config = customized(name, own, builder, origins, kafka, adjust, built, customize);
		}
		catch (RuntimeException | Error ex) { // no producer will close them
			this.serializers.release(key, payload);
			throw ex;
		}
		// Replaced by the caller's adjustment or a customizer: made for this producer, and no one's now.
		boolean keyGiven = config.keySerializer() != key;
		boolean payloadGiven = config.payloadSerializer() != payload;
		if (keyGiven) {
			this.serializers.release(key);
		}
		if (payloadGiven) {
			this.serializers.release(payload);
		}
		if (this.properties.isConfigureSerializers()) {
			try {
				if (keyGiven) {
					configureGiven(config.keySerializer(), true, kafka, origins);
				}
				if (payloadGiven) {
					configureGiven(config.payloadSerializer(), false, kafka, origins);
				}
			}
			catch (RuntimeException | Error ex) { // no producer will close those made here
				this.serializers.release(config.keySerializer(), config.payloadSerializer());
				throw ex;
			}
		}
		return config;
	}

	/**
	 * Configures a serializer given in code with the producer's Kafka settings, as DefaultKafkaProducerFactory
	 * configures the serializers it is given: a JSON key serializer then names its type in the key's header,
	 * and spring.json.* settings reach it.
	 */
	private static void configureGiven(Serializer<?> serializer, boolean isKey, Map<String, Object> kafka,
			Origins origins) {
		try {
			// Named as the producer's own setting would be: whatever the settings say, this one is not theirs.
			ProducerSerializers.configure(serializer, Collections.unmodifiableMap(kafka), isKey,
					origins.ownPrefix + "kafka." + (isKey ? KEY_SERIALIZER : VALUE_SERIALIZER));
		}
		catch (InvalidConfigurationException ex) {
			throw new InvalidConfigurationException(ex.property(), reason(ex) + " (the serializer set in code, by a "
					+ "WaterDropProducerCustomizer or the customizer of a runtime producer's create)",
					ex.action() + " Or leave out of the settings what the serializer was given in code, or set "
							+ "waterdrop.configure-serializers=false if it is configured fully in code.");
		}
	}

	/** The configuration from {@code builder} as adjusted by the caller and, if {@code customize}, the customizers. */
	private ProducerConfig customized(String name, ProducerProperties own, ProducerConfig.Builder builder,
			Origins origins, Map<String, Object> kafka, BiConsumer<ProducerConfig.Builder, Map<String, Object>> adjust,
			AtomicReference<@Nullable Producer> built, boolean customize) {
		if (SPRING_TX_PRESENT) {
			builder.transactionJoiner(SpringTransactionJoiner.INSTANCE);
		}
		adjust.accept(builder, Collections.unmodifiableMap(kafka));
		if (observationEnabled(origins, own)) {
			WaterDropObservations.observer(this.context, name, () -> pollerName(built.get()))
				.ifPresent(builder::observer);
		}
		builder.clientFactory(new KafkaClientFactory(name, this.factoryCustomizers.orderedStream().toList(),
				this.clientFactoryCustomizers.orderedStream().toList(), this.context));
		ProducerConfig config = build(builder, origins);
		List<WaterDropProducerCustomizer> customizers = customize ? this.producerCustomizers.orderedStream().toList()
				: List.of();
		if (customizers.isEmpty()) {
			return config;
		}
		try { // a setting the builder refuses at once (a Kafka setting without a value) included
			customizers.forEach((customizer) -> customizer.customize(name, builder));
			return builder.build();
		}
		catch (InvalidConfigurationException ex) {
			// The entry it customized: a runtime producer's template, a pool's entry, the producer's own.
			throw new CustomizedSettingException(origins.ownPrefix + ex.property(),
					reason(ex) + " (as left by the WaterDropProducerCustomizer beans)",
					"Fix the WaterDropProducerCustomizer that sets it. " + ex.action());
		}
	}

	/** A size in bytes as the core takes it: an int. */
	private static int bytes(Origins origins, String key, DataSize size) {
		long bytes = size.toBytes();
		if (bytes > Integer.MAX_VALUE) {
			throw new InvalidConfigurationException(origins.pathOf(key),
					"must be at most " + Integer.MAX_VALUE + " bytes but was " + bytes + " bytes",
					"Set it to at most 2147483647B (2GB less one byte).");
		}
		return (int) bytes;
	}

	private static Producer remember(AtomicReference<@Nullable Producer> built, Producer producer) {
		built.set(producer);
		return producer;
	}

	/** The Poller or dispatch thread serving a producer, once connected; a tag of its observations. */
	private static String pollerName(@Nullable Producer producer) {
		String pollerName = (producer != null) ? producer.pollerName() : null;
		return (pollerName != null) ? pollerName : "none";
	}

	/**
	 * The producer's own observation-enabled, else the top-level one, else Boot's
	 * spring.kafka.template.observation-enabled (false unless set), so that turning observation on for
	 * KafkaTemplate turns it on for WaterDrop too.
	 */
	private boolean observationEnabled(Origins origins, ProducerProperties own) {
		Boolean shared = this.properties.getObservationEnabled();
		if (shared == null) {
			KafkaProperties boot = this.kafkaProperties.getIfAvailable();
			shared = boot != null && boot.getTemplate().isObservationEnabled();
		}
		return origins.pick("observation-enabled", own.getObservationEnabled(), shared);
	}

	/** Builds to validate, reporting an invalid value under the key that set it. */
	private static ProducerConfig build(ProducerConfig.Builder builder, Origins origins) {
		try {
			return builder.build();
		}
		catch (InvalidConfigurationException ex) {
			throw new InvalidConfigurationException(origins.pathOf(ex.property()), reason(ex), ex.action());
		}
	}

	private void checkCloseTimeout(Origins origins, ProducerProperties own) {
		Duration closeTimeout = origins.pick("close-timeout", own.getCloseTimeout(), this.properties.getCloseTimeout());
		if (closeTimeout == null || closeTimeout.isNegative()) {
			throw new InvalidConfigurationException(origins.pathOf("close-timeout"),
					(closeTimeout != null) ? "must not be negative but was " + closeTimeout.toMillis() + " ms"
							: "must be set",
					"Set it to 0 (purge at once on shutdown) or a positive duration such as 30s.");
		}
	}

	/** Settings of the other mode, set on this producer, are a mistake worth failing for. */
	private static void checkModeSettings(Origins origins, ProducerPolling polling, PollingMode mode) {
		String modePath = origins.pathOf("polling.mode");
		if (mode == PollingMode.THREAD && polling.getPoller() != null) {
			String path = origins.pathOf("polling.poller");
			throw new InvalidConfigurationException(path,
					"names Poller '" + polling.getPoller() + "' but polling.mode is 'thread' (" + modePath
							+ "); Pollers serve fd-mode producers only",
					"Remove " + path + ", or set polling.mode of this producer to fd.");
		}
		if (mode == PollingMode.THREAD && polling.getFd().getMaxTime() != null) {
			throw conflict(origins.pathOf("polling.fd.max-time"), "fd", "thread", modePath);
		}
		if (mode == PollingMode.THREAD && polling.getFd().getMinTime() != null) {
			throw conflict(origins.pathOf("polling.fd.min-time"), "fd", "thread", modePath);
		}
		if (mode == PollingMode.FD && polling.getThread().getPollTimeout() != null) {
			throw conflict(origins.pathOf("polling.thread.poll-timeout"), "thread", "fd", modePath);
		}
	}

	private static InvalidConfigurationException conflict(String path, String appliesTo, String mode,
			String modePath) {
		return new InvalidConfigurationException(path,
				"applies to " + appliesTo + " mode only, but polling.mode is '" + mode + "' (" + modePath + ")",
				"Remove " + path + ", or set polling.mode of this producer to " + appliesTo + ".");
	}

	private Poller poller(Origins origins, @Nullable String pollerName) {
		if (pollerName == null || pollerName.equals(WaterDropAutoConfiguration.GLOBAL_POLLER_NAME)) {
			return this.context.getBean(WaterDropAutoConfiguration.GLOBAL_POLLER_BEAN_NAME, Poller.class);
		}
		String path = origins.pathOf("polling.poller");
		Set<String> known = this.properties.getPollers().keySet();
		if (!known.contains(pollerName)) {
			throw new InvalidConfigurationException(path,
					"no Poller named '" + pollerName + "' is defined under waterdrop.pollers (defined: "
							+ (known.isEmpty() ? "none" : String.join(", ", known)) + ")",
					"Define it as " + entryPath(PREFIX + "pollers", pollerName) + " (in YAML '" + pollerName
							+ ":' under waterdrop.pollers, not '" + pollerName + ": {}', which Spring Boot's YAML "
							+ "loader drops), or remove " + path + " to use the global Poller.");
		}
		return this.context.getBean(pollerBeanName(pollerName), Poller.class);
	}

	private Map<String, Object> kafkaSettings(Origins origins, ProducerProperties own) {
		Map<String, Object> settings = new LinkedHashMap<>();
		KafkaProperties boot = this.kafkaProperties.getIfAvailable();
		if (boot != null) {
			settings.putAll(boot.buildProducerProperties());
			settings.keySet().forEach((key) -> origins.set("kafka." + key, "spring.kafka (Kafka's " + key + ")"));
			origins.set("kafka." + KEY_SERIALIZER, "spring.kafka.producer.key-serializer");
			origins.set("kafka." + VALUE_SERIALIZER, "spring.kafka.producer.value-serializer");
			// Boot's client id names Boot's own producer; each WaterDrop producer is named after itself.
			settings.remove(CommonClientConfigs.CLIENT_ID_CONFIG);
		}
		KafkaConnectionDetails details = this.connectionDetails.getIfAvailable();
		String detailsSource = (details != null) ? connectionDetailsSource(details) : null;
		if (details != null) {
			applyConnectionDetails(settings, details.getProducer(), detailsSource, origins);
		}
		checkShared(this.properties.getKafka().keySet(), this.properties.getProducers().keySet());
		put(settings, this.properties.getKafka(), PREFIX + "kafka.", origins);
		put(settings, own.getKafka(), origins.ownPrefix + "kafka.", origins);
		if (settings.get(SslConfigs.SSL_ENGINE_FACTORY_CLASS_CONFIG) == SslBundleSslEngineFactory.class) {
			checkNoStoresBesideTheBundle(own.getKafka().keySet(), detailsSource, origins);
			checkNoStoresBesideTheBundle(this.properties.getKafka().keySet(), detailsSource, origins);
		}
		return settings;
	}

	/**
	 * What the connection details' settings are reported as coming from: Boot's own (package-private
	 * PropertiesKafkaConnectionDetails) adapt spring.kafka.*; any other is the application's bean, named.
	 */
	private String connectionDetailsSource(KafkaConnectionDetails details) {
		if (details.getClass().getName().equals(BOOT_CONNECTION_DETAILS)) {
			return "spring.kafka";
		}
		for (String name : BeanFactoryUtils.beanNamesForTypeIncludingAncestors(this.context,
				KafkaConnectionDetails.class)) {
			if (this.context.getBean(name) == details) {
				return "KafkaConnectionDetails bean '" + name + "'";
			}
		}
		return "KafkaConnectionDetails bean";
	}

	/**
	 * Boot's engine factory of an SSL bundle reads no key or trust store settings: a later layer's would be
	 * ignored, silently. Boot refuses its own store properties beside a bundle likewise.
	 */
	private static void checkNoStoresBesideTheBundle(Set<String> layer, @Nullable String bundleSource,
			Origins origins) {
		for (String key : layer) {
			if (key.startsWith("ssl.truststore.") || key.startsWith("ssl.keystore.")) {
				String path = origins.pathOf("kafka." + key);
				throw new InvalidConfigurationException(path, "is ignored beside the SSL bundle of " + bundleSource
						+ ", whose engine factory (Kafka's ssl.engine.factory.class) reads no key or trust store "
						+ "settings",
						"Use either the SSL bundle or the key and trust store settings: remove " + path
								+ ", or remove the bundle (spring.kafka.ssl.bundle, spring.kafka.producer.ssl.bundle, "
								+ "or the KafkaConnectionDetails bean's) to configure SSL with Kafka's ssl.* "
								+ "settings.");
			}
		}
	}

	private static void checkShared(Set<String> sharedKeys, Set<String> producers) {
		if (producers.size() < 2) {
			return;
		}
		for (String key : PER_CLIENT_SETTINGS) {
			if (sharedKeys.contains(key)) {
				throw new InvalidConfigurationException(PREFIX + "kafka." + key,
						"is shared by the producers " + String.join(", ", producers)
								+ ", but every Kafka client needs a " + key + " of its own",
						"Set it per producer, as waterdrop.producers.<name>.kafka." + key + ", or remove it.");
			}
		}
	}

	/** What Boot's KafkaAutoConfiguration applies to its own producer factory, from {@code source}. */
	private static void applyConnectionDetails(Map<String, Object> settings,
			KafkaConnectionDetails.Configuration producer, String source, Origins origins) {
		connectionDetail(settings, CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, producer.getBootstrapServers(),
				source, origins);
		if (StringUtils.hasLength(producer.getSecurityProtocol())) {
			connectionDetail(settings, CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, producer.getSecurityProtocol(),
					source, origins);
		}
		SslBundle sslBundle = producer.getSslBundle();
		if (sslBundle != null) {
			connectionDetail(settings, SslConfigs.SSL_ENGINE_FACTORY_CLASS_CONFIG, SslBundleSslEngineFactory.class,
					source, origins);
			settings.put(SslBundle.class.getName(), sslBundle);
		}
	}

	private static void connectionDetail(Map<String, Object> settings, String key, Object value, String source,
			Origins origins) {
		settings.put(key, value);
		origins.set("kafka." + key, source + " (Kafka's " + key + ")");
	}

	/** Adds a layer of settings, remembering where the serializers were set, for errors about them. */
	private static void put(Map<String, Object> settings, Map<String, String> layer, String prefix, Origins origins) {
		layer.forEach((key, value) -> {
			origins.set("kafka." + key, prefix + key);
			settings.put(key, value);
		});
	}

	/** The description of a core exception, whose message is {@code "<property>: <description>"}. */
	static String reason(InvalidConfigurationException ex) {
		String message = ex.getMessage();
		String prefix = ex.property() + ": ";
		return message.startsWith(prefix) ? message.substring(prefix.length()) : message;
	}

	/**
	 * Member {@code index} of the transactional pool {@code waterdrop.producers.<name>} (an entry with
	 * {@code pool-size}): the entry's settings, named {@code <name>-<index>}, with {@code transactional.id}
	 * (and {@code client.id}, if set) suffixed {@code -<index>}.
	 */
	Producer poolMember(String name, int index) {
		ProducerProperties own = this.properties.getProducers().getOrDefault(name, new ProducerProperties());
		String prefix = producerPrefix(name);
		String memberName = TransactionalPool.memberName(name, index);
		return claimIds(name, memberName, producer(memberName, own, prefix, (builder, kafka) -> {
			Object transactionalId = kafka.get(org.apache.kafka.clients.producer.ProducerConfig.TRANSACTIONAL_ID_CONFIG);
			if (transactionalId == null) {
				throw new InvalidConfigurationException(prefix + "pool-size",
						"is set, but the producer is not transactional: a pool runs transactions side by side",
						"Set " + prefix + "kafka.transactional.id (the members' ids are derived from it), or remove "
								+ prefix + "pool-size.");
			}
			builder.kafka(org.apache.kafka.clients.producer.ProducerConfig.TRANSACTIONAL_ID_CONFIG,
					TransactionalPool.memberName(transactionalId.toString(), index));
			Object clientId = kafka.get(CommonClientConfigs.CLIENT_ID_CONFIG);
			if (clientId != null) {
				builder.kafka(CommonClientConfigs.CLIENT_ID_CONFIG, TransactionalPool.memberName(clientId.toString(), index));
			}
		}));
	}

	/** The transactional pool {@code waterdrop.producers.<name>} over its member beans. */
	TransactionalPool pool(String name) {
		ProducerProperties own = this.properties.getProducers().getOrDefault(name, new ProducerProperties());
		Origins origins = new Origins(producerPrefix(name));
		int size = poolSize(own, name);
		List<Producer> members = new ArrayList<>(size);
		for (int index = 0; index < size; index++) {
			members.add(this.context.getBean(TransactionalPool.memberName(name, index), Producer.class));
		}
		Duration waitTimeout = origins.pick("pool-wait-timeout", own.getPoolWaitTimeout(),
				this.properties.getPoolWaitTimeout());
		try {
			return new TransactionalPool(name, members, waitTimeout);
		}
		catch (InvalidConfigurationException ex) {
			throw new InvalidConfigurationException(origins.pathOf(ex.property()), reason(ex), ex.action());
		}
	}

	/** The pool size of an entry, checked: at least 1. */
	static int poolSize(ProducerProperties own, String name) {
		Integer size = own.getPoolSize();
		if (size == null || size < 1) {
			throw new InvalidConfigurationException(producerPrefix(name) + "pool-size",
					"must be at least 1 but was " + size,
					"Set it to the number of transactions that may run at the same time, or remove it for a single "
							+ "producer.");
		}
		return size;
	}

	/**
	 * A value the {@link WaterDropProducerCustomizer} beans left invalid: the application's fault, never that
	 * of a runtime producer's override of the same key.
	 */
	static final class CustomizedSettingException extends InvalidConfigurationException {

		private static final long serialVersionUID = 1L;

		CustomizedSettingException(String property, String description, String action) {
			super(property, description, action);
		}

	}

	/** Where each setting of one producer came from, so that an invalid value is reported where it was set. */
	private static final class Origins {

		private final String ownPrefix;

		private final Map<String, String> paths = new HashMap<>();

		Origins(String ownPrefix) {
			this.ownPrefix = ownPrefix;
		}

		<T> T pick(String key, @Nullable T own, T shared) {
			this.paths.put(key, ((own != null) ? this.ownPrefix : PREFIX) + key);
			return (own != null) ? own : shared;
		}

		void set(String key, String path) {
			this.paths.put(key, path);
		}

		String pathOf(String key) {
			return this.paths.getOrDefault(key, this.ownPrefix + key);
		}

	}

	/** The producer that has a client.id, and the property that sets it ({@code null}: its name, by default). */
	private record ClientIdHolder(String producer, @Nullable String property) {
	}

}
