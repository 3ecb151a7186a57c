package io.waterdrop.autoconfigure;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.regex.Pattern;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.apache.kafka.clients.CommonClientConfigs;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.BindHandler;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.PlaceholdersResolver;
import org.springframework.boot.context.properties.bind.PropertySourcesPlaceholdersResolver;
import org.springframework.boot.context.properties.bind.UnboundConfigurationPropertiesException;
import org.springframework.boot.context.properties.bind.handler.NoUnboundElementsBindHandler;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName.Form;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.boot.convert.ApplicationConversionService;
import org.springframework.core.env.Environment;

import io.waterdrop.InvalidConfigurationException;
import io.waterdrop.Producer;
import io.waterdrop.ProducerConfig;
import io.waterdrop.ProducerNameInUseException;
import io.waterdrop.ProducerRegistry;
import io.waterdrop.ProducerStatus;
import io.waterdrop.autoconfigure.WaterDropProperties.ProducerProperties;
import io.waterdrop.instrumentation.ErrorLogger;
import io.waterdrop.instrumentation.ProducerEvent;

/**
 * Producers created and removed while the application runs — one per tenant, per worker — from a template
 * in {@code waterdrop.templates.<template>} (the same keys as a {@code waterdrop.producers} entry) plus
 * per-producer overrides.
 * <p>
 * A runtime producer is built exactly as a producer entry: Kafka settings layered {@code spring.kafka.*} →
 * Boot's {@code KafkaConnectionDetails} → {@code waterdrop.kafka.*} → the template's {@code kafka.*} → the
 * overrides' {@code kafka.*}, every other key the override's, else the template's, else the top-level one;
 * the {@link WaterDropProducerCustomizer} beans applied; the {@link WaterDropEventListener} beans that
 * {@linkplain WaterDropEventListener#appliesTo apply to} its name or its template's name subscribed (they see
 * {@code producer.created} too); its meters bound, a health entry and an endpoint entry added. It connects on
 * its first message (or {@code connect()}), like any producer. {@link #remove} closes it (with its
 * {@code close-timeout}), which removes its meters, its health and endpoint entries. When the application
 * context closes, the runtime producers are drained in the same shutdown phase as the producer beans (after
 * the web server): each waits up to its {@code close-timeout} until every message handed to Kafka has its
 * outcome. They are closed
 * when the context destroys this bean (after the beans that depend on it, whose {@code @PreDestroy} may still
 * produce on them, and before the Pollers are waited for); no more can be created from then on.
 * <p>
 * Names must be unique among runtime producers and must not be the name of a bean of the context (a
 * producer entry, say). Runtime producers are not beans: {@link WaterDropProducers} does not hold them.
 * <p>
 * Threading: thread-safe. {@code create} never waits for Kafka; {@code remove} waits for the close.
 * <p>
 * Not designed for extension: not final only so that Spring can proxy it (an {@code @Lazy} injection point,
 * a scoped proxy).
 */
public class WaterDropRuntimeProducers implements AutoCloseable {

	private static final Log logger = LogFactory.getLog(WaterDropRuntimeProducers.class);

	private static final String TEMPLATES = "waterdrop.templates";

	private static final ConfigurationPropertyName TEMPLATES_NAME = ConfigurationPropertyName.of(TEMPLATES);

	private static final String TRANSACTIONAL_ID =
			org.apache.kafka.clients.producer.ProducerConfig.TRANSACTIONAL_ID_CONFIG;

	/** What a runtime producer's name may hold: it is a Kafka client.id, a thread-name and a URL path part. */
	private static final Pattern LEGAL_NAME = Pattern.compile("(?!\\.+$)[A-Za-z0-9._-]+"); // not only dots

	private final ProducerAssembler assembler;

	private final WaterDropProperties properties;

	private final Environment environment;

	private final ObjectProvider<WaterDropEventListener> listeners;

	private final BeanFactory beanFactory;

	private final ProducerRegistry registry = new ProducerRegistry();

	/** Each runtime producer until its listeners are told of its removal: also while it closes. */
	private final Map<Producer, Created> created = new ConcurrentHashMap<>();

	private final List<RuntimeProducerSubscription> hooks = new CopyOnWriteArrayList<>();

	/**
	 * Orders creates, subscriptions and the close. A lock, not a monitor: a create from a virtual thread (a
	 * request handler) may wait under it for a meter registry's lock, which would pin its carrier on JDK 21–23.
	 */
	private final ReentrantLock hooksLock = new ReentrantLock();

	private volatile boolean closed;

	WaterDropRuntimeProducers(ProducerAssembler assembler, WaterDropProperties properties, Environment environment,
			ObjectProvider<WaterDropEventListener> listeners, BeanFactory beanFactory) {
		this.assembler = assembler;
		this.properties = properties;
		this.environment = environment;
		this.listeners = listeners;
		this.beanFactory = beanFactory;
		checkTemplates();
	}

	/**
	 * Builds, without creating a producer, the configuration of each template as it stands, so that an
	 * invalid template fails start-up instead of the first {@code create} at run time. What a template may
	 * leave to the overrides ({@code client.id}, {@code transactional.id}) is checked per {@code create}.
	 */
	private void checkTemplates() {
		for (String template : this.properties.getTemplates().keySet()) {
			ProducerProperties own = bind(template, template, Map.of());
			checkTemplateOnly(template, own);
			ProducerConfig checked = this.assembler.templateConfig(template, own, templatePath(template) + ".");
			this.assembler.releaseSerializers(checked);
		}
	}

	/** Creates a producer named {@code name} from the template {@code waterdrop.templates.<template>}. */
	public Producer create(String name, String template) {
		return create(name, template, Map.of(), null);
	}

	/**
	 * Creates a producer named {@code name} from a template and overrides.
	 * @param name the producer's name: its id, Kafka {@code client.id} (unless set), meter tag, health and
	 * endpoint entry
	 * @param template the name of a {@code waterdrop.templates} entry
	 * @param overrides settings over the template's, with the keys of a producer entry, such as
	 * {@code max-in-flight}, {@code polling.mode} or {@code kafka.linger.ms}; values as in properties (text,
	 * or numbers, durations, booleans); a nested map (a JSON object's) stands for dotted keys, a list for
	 * indexed ones
	 * @return the producer, not connected yet
	 * @throws NoSuchElementException if there is no such template
	 * @throws InvalidConfigurationException if a setting is invalid or unknown (its {@code property()} names
	 * it: {@code overrides.<key>} for an override, else the template's or top-level key)
	 * @throws ProducerNameInUseException if a runtime producer or a bean has that name
	 * @throws IllegalArgumentException if the name is blank, only dots, or has characters other than ASCII
	 * letters, digits, {@code .}, {@code _} and {@code -}
	 * @throws IllegalStateException if the application context is closing
	 */
	public Producer create(String name, String template, Map<String, ?> overrides) {
		return create(name, template, overrides, null);
	}

	/**
	 * As {@link #create(String, String, Map)}, with a customizer of the producer's configuration (serializers,
	 * an observer, listeners) applied after the settings, before the {@link WaterDropProducerCustomizer} beans.
	 */
	public Producer create(String name, String template, Map<String, ?> givenOverrides,
			@Nullable Consumer<ProducerConfig.Builder> customizer) {
		Map<String, @Nullable Object> overrides = dotted(givenOverrides);
		if (name == null || name.isBlank()) {
			throw new IllegalArgumentException("A runtime producer needs a name");
		}
		if (!LEGAL_NAME.matcher(name).matches()) {
			throw new IllegalArgumentException("Runtime producer name '" + name + "' has characters other than "
					+ "ASCII letters, digits, '.', '_' and '-', or only dots; choose a name of those, e.g. "
					+ "'tenant-acme'");
		}
		checkOpen(name);
		if (this.beanFactory.containsBean(name)) {
			throw new ProducerNameInUseException(name, "Cannot create runtime producer '" + name
					+ "': a bean of the application context has that name");
		}
		ProducerProperties own = bind(name, template, overrides);
		String prefix = templatePath(template) + ".";
		checkTemplate(name, template, own, overrides);
		List<WaterDropEventListener> applicable = this.listeners.orderedStream()
			.filter((listener) -> listener.appliesTo(name) || listener.appliesTo(template))
			.toList();
		ProducerConfig config;
		AtomicReference<@Nullable Producer> built = new AtomicReference<>();
		try {
			config = this.assembler.config(name, own, prefix, (builder, kafka) -> {
				applicable.forEach(builder::listener);
				if (customizer != null) {
					customizer.accept(builder);
				}
			}, built);
		}
		catch (InvalidConfigurationException ex) {
			throw fromOverride(ex, prefix, overrides);
		}
		Producer producer;
		Created entry;
		// Under the hooks' lock: a listener subscribing meanwhile is told of this producer exactly once, and a
		// close that began since the check above has either taken its list of producers (this one is refused)
		// or not (this one is on it).
		this.hooksLock.lock();
		try {
			try {
				checkOpen(name);
				checkTransactionalIdFree(name, config, prefix, own, overrides);
				producer = this.registry.create(name, config);
			}
			catch (RuntimeException ex) {
				this.assembler.releaseSerializers(config);
				throw ex;
			}
			built.set(producer);
			if (this.properties.isLogErrors()) {
				producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, new ErrorLogger());
			}
			Created made = new Created(template, (own.getCloseTimeout() != null) ? own.getCloseTimeout()
					: this.properties.getCloseTimeout(), Created.ADDING);
			Created removedAlready = this.created.putIfAbsent(producer, made);
			entry = (removedAlready != null) ? removedAlready : made;
			for (RuntimeProducerSubscription hook : this.hooks) {
				hook.added(name, producer, false); // a failure is logged: the others must hear of the producer
			}
		}
		finally {
			this.hooksLock.unlock();
		}
		if (!entry.told.compareAndSet(Created.ADDING, Created.ADDED)) {
			tellRemoved(name, producer); // removed while the listeners heard of its addition (by one of them, say)
		}
		return producer;
	}

	/**
	 * Removes the runtime producer of that name and closes it, waiting up to its {@code close-timeout} for
	 * its in-flight messages (the rest are purged, each reported). Its meters and its health and endpoint
	 * entries go with it; the name is free again.
	 * @return whether there was such a producer
	 */
	public boolean remove(String name) {
		while (true) {
			Producer producer = this.registry.find(name).orElse(null);
			if (producer == null) {
				return false;
			}
			boolean removed;
			try {
				removed = this.registry.remove(name, producer, closeTimeout(producer));
			}
			catch (RuntimeException ex) { // taken out, but its close failed, or this thread stopped waiting for it
				producer.closeAsync(closeTimeout(producer)).whenComplete((result, failure) -> forget(name, producer));
				throw ex;
			}
			if (removed) {
				// Closed, unless this is a polling thread (a callback's), where the close only began: its listeners
				// hear of its removal, and its transactional.id is free, once it is closed.
				if (producer.status() == ProducerStatus.CLOSED) {
					forget(name, producer);
				}
				else {
					producer.closeAsync(closeTimeout(producer)).whenComplete((result, ex) -> forget(name, producer));
				}
				return true;
			}
			// Another thread removed it meanwhile: the producer of that name now, if any, is this call's
		}
	}

	/** The {@code close-timeout} the runtime producer of that name is closed with (drained with, on shutdown). */
	public Duration closeTimeout(String name) {
		Producer producer = this.registry.find(name).orElse(null);
		return (producer != null) ? closeTimeout(producer) : this.properties.getCloseTimeout();
	}

	private Duration closeTimeout(Producer producer) {
		Created entry = this.created.get(producer);
		return (entry != null && entry.closeTimeout != null) ? entry.closeTimeout : this.properties.getCloseTimeout();
	}

	/**
	 * The runtime producer of that name.
	 * @throws NoSuchElementException if there is none
	 */
	public Producer get(String name) {
		return find(name).orElseThrow(() -> new NoSuchElementException("No runtime producer named '" + name
				+ "' (" + this.registry.size() + " runtime producer(s))"));
	}

	/** The runtime producer of that name, if there is one. */
	public Optional<Producer> find(String name) {
		return this.registry.find(name);
	}

	/** Names of the runtime producers now, sorted. */
	public Set<String> names() {
		return this.registry.names();
	}

	/** The runtime producers now, by name, sorted: a copy. */
	public Map<String, Producer> asMap() {
		return this.registry.asMap();
	}

	/** The template a runtime producer was created from. */
	public Optional<String> templateOf(String name) {
		return find(name).map(this.created::get).map((entry) -> entry.template);
	}

	/** The names of the templates under {@code waterdrop.templates}. */
	public Set<String> templateNames() {
		return Set.copyOf(this.properties.getTemplates().keySet());
	}

	/**
	 * Subscribes a listener to runtime producers being added and removed; it is told at once about those
	 * that exist. The starter's meters and health entries of runtime producers are such listeners.
	 */
	public void subscribe(Listener listener) {
		RuntimeProducerSubscription subscription = new RuntimeProducerSubscription(listener);
		this.hooksLock.lock();
		try {
			Map<String, Producer> existing = this.registry.asMap();
			existing.values().forEach(subscription::pending);
			this.hooks.add(subscription);
			Iterator<Map.Entry<String, Producer>> replay = existing.entrySet().iterator();
			try {
				while (replay.hasNext()) {
					Map.Entry<String, Producer> next = replay.next();
					try {
						subscription.added(next.getKey(), next.getValue(), true);
					}
					finally {
						if (isForgotten(next.getValue())) { // its removal may have told the listeners before this one
							subscription.removed(next.getKey(), next.getValue());
						}
					}
				}
			}
			finally {
				replay.forEachRemaining((rest) -> subscription.abandon(rest.getValue()));
			}
		}
		finally {
			this.hooksLock.unlock();
		}
	}

	/** Whether the listeners have been told of a producer's removal (or are being told). */
	private boolean isForgotten(Producer producer) {
		Created entry = this.created.get(producer);
		return entry == null || entry.told.get() >= Created.REMOVED_WHILE_ADDING;
	}

	/**
	 * Closes every runtime producer at once, each with its {@code close-timeout}, and refuses new ones; the
	 * future completes when all are closed. The starter calls it when the application context destroys this
	 * bean.
	 */
	public CompletableFuture<Void> closeAsync() {
		Map<String, Producer> producers;
		this.hooksLock.lock(); // a create under way registers before this, or is refused after it
		try {
			this.closed = true;
			producers = this.registry.asMap();
		}
		finally {
			this.hooksLock.unlock();
		}
		List<CompletableFuture<Void>> closes = new ArrayList<>();
		for (Map.Entry<String, Producer> entry : producers.entrySet()) {
			String name = entry.getKey();
			Producer producer = entry.getValue();
			closes.add(producer.closeAsync(closeTimeout(producer)).handle((result, ex) -> {
				if (ex != null) {
					logger.warn("Closing WaterDrop runtime producer '" + name + "' failed", ex);
				}
				boolean mine;
				try {
					mine = this.registry.remove(name, producer, Duration.ZERO); // closed already: closes nothing more
				}
				catch (RuntimeException failedClose) { // taken out: its close failed, as logged above
					mine = true;
				}
				if (mine) {
					forget(name, producer); // else its removal does
				}
				return null;
			}));
		}
		return CompletableFuture.allOf(closes.toArray(CompletableFuture[]::new));
	}

	/** {@link #closeAsync()}, waiting for it. */
	@Override
	public void close() {
		closeAsync().join();
	}

	/**
	 * Tells the listeners a removed and closed producer is gone, once, after they heard of its addition: its
	 * removal or the close of all tells them; one while its creation still tells them of its addition leaves
	 * it to the creation. Takes no lock: it runs on close threads and polling threads (a callback's removal),
	 * which a creation's listener may be waiting for.
	 */
	private void forget(String name, Producer producer) {
		Created entry = this.created.putIfAbsent(producer,
				new Created(null, null, Created.REMOVED_WHILE_ADDING)); // removed before its creation noted it
		if (entry == null || entry.told.compareAndSet(Created.ADDING, Created.REMOVED_WHILE_ADDING)) {
			return;
		}
		if (entry.told.compareAndSet(Created.ADDED, Created.REMOVED)) {
			tellRemoved(name, producer);
		}
	}

	private void tellRemoved(String name, Producer producer) {
		this.created.remove(producer);
		this.assembler.releaseSerializers(producer.config());
		for (RuntimeProducerSubscription hook : this.hooks) {
			hook.removed(name, producer);
		}
	}

	/**
	 * A runtime producer's template and close-timeout, and how far its listeners have been told of it. States:
	 * ADDING → ADDED (creation, when every listener heard of its addition) → REMOVED (its removal, closed);
	 * ADDING → REMOVED_WHILE_ADDING (its removal, closed before that) → the creation tells of the removal. A
	 * removal before the creation noted the producer at all leaves a REMOVED_WHILE_ADDING entry without
	 * template for the creation to find. Each producer is forgotten once: by whoever took it out of the registry.
	 */
	private static final class Created {

		static final int ADDING = 0;

		static final int ADDED = 1;

		static final int REMOVED_WHILE_ADDING = 2;

		static final int REMOVED = 3;

		final @Nullable String template;

		final @Nullable Duration closeTimeout;

		final AtomicInteger told;

		Created(@Nullable String template, @Nullable Duration closeTimeout, int told) {
			this.template = template;
			this.closeTimeout = closeTimeout;
			this.told = new AtomicInteger(told);
		}

	}

	private void checkOpen(String name) {
		if (this.closed) {
			throw new IllegalStateException("Cannot create runtime producer '" + name
					+ "': the application context is closing");
		}
	}

	/**
	 * The property path of a template, for messages: {@code waterdrop.templates.<name>}, or
	 * {@code waterdrop.templates[<name>]} for a name with a dot, which only the brackets keep one element.
	 */
	private static String templatePath(String template) {
		return ProducerAssembler.entryPath(TEMPLATES, template);
	}

	/**
	 * The name under which the property sources hold a template's settings, found as Boot's map binding found
	 * the template's key (the element after {@code waterdrop.templates}, as written): Boot compares a plain
	 * element in lower case without dashes and a bracketed one exactly, so {@code perTenant}, {@code [perTenant]},
	 * {@code [tenant-eu]} and {@code [tenant.eu]} are each found only under the form their source has.
	 */
	private ConfigurationPropertyName templateRoot(String template) {
		for (ConfigurationPropertySource source : ConfigurationPropertySources.get(this.environment)) {
			if (source instanceof IterableConfigurationPropertySource names) {
				Optional<ConfigurationPropertyName> root = names.stream()
					.filter((name) -> name.getNumberOfElements() > 2 && TEMPLATES_NAME.isAncestorOf(name)
							&& name.getElement(2, Form.ORIGINAL).equals(template))
					.findFirst()
					.map((name) -> name.chop(3));
				if (root.isPresent()) {
					return root.get();
				}
			}
		}
		return ConfigurationPropertyName.adapt(templatePath(template), '.');
	}

	/**
	 * A template's root ({@code waterdrop.templates.<key>}) written as its property source writes it, so that a
	 * key appended to it names a setting under that very root: a bracketed key as it is, a plain one as written
	 * ({@code toString()} would lower its case).
	 */
	private static String sourceForm(ConfigurationPropertyName root) {
		String shown = root.toString();
		return shown.endsWith("]") ? shown : TEMPLATES + "." + root.getElement(2, Form.ORIGINAL);
	}

	/**
	 * Overrides with dotted keys, as properties write them: a nested map (a JSON object's
	 * {@code {"polling": {"mode": "thread"}}}) as {@code polling.mode}, a list as indexed keys
	 * ({@code non-reloadable-errors[0]}), but a Kafka setting's as its value (Boot joins it with commas, as Kafka
	 * takes {@code bootstrap.servers}); an empty map is a key without a value, an empty list an empty value.
	 */
	private static Map<String, @Nullable Object> dotted(Map<String, ?> overrides) {
		Map<String, @Nullable Object> dotted = new LinkedHashMap<>();
		overrides.forEach((key, value) -> addDotted(key, value, dotted));
		return dotted;
	}

	private static void addDotted(String key, @Nullable Object value, Map<String, @Nullable Object> dotted) {
		if (value instanceof Map<?, ?> nested) {
			nested.forEach((child, childValue) -> addDotted(key + "." + child, childValue, dotted));
			if (nested.isEmpty()) {
				dotted.put(key, null);
			}
		}
		else if (value instanceof List<?> list && !list.isEmpty() && !key.startsWith("kafka.")) {
			for (int index = 0; index < list.size(); index++) {
				addDotted(key + "[" + index + "]", list.get(index), dotted);
			}
		}
		else if (value instanceof List<?> list && list.isEmpty()) {
			dotted.put(key, ""); // an empty list, as properties write it
		}
		else {
			dotted.put(key, value);
		}
	}

	/**
	 * The template's settings with the overrides on top, bound as a producer entry. Unknown override keys
	 * fail rather than being ignored.
	 */
	private ProducerProperties bind(String name, String template, Map<String, ?> overrides) {
		if (template == null || !this.properties.getTemplates().containsKey(template)) {
			throw new NoSuchElementException("No template named '" + template + "' under waterdrop.templates "
					+ "(defined: " + (this.properties.getTemplates().isEmpty() ? "none"
							: String.join(", ", this.properties.getTemplates().keySet()))
					+ ")");
		}
		ConfigurationPropertyName root = templateRoot(template);
		checkOverridesHaveValues(name, root, overrides);
		String written = sourceForm(root);
		Map<String, Object> flat = new LinkedHashMap<>();
		overrides.forEach((key, value) -> flat.put(written + "." + key, exact(value)));
		MapConfigurationPropertySource overrideSource = new MapConfigurationPropertySource(flat);
		List<ConfigurationPropertySource> sources = new ArrayList<>();
		sources.add(overrideSource);
		// Without the template's own value: an empty template ('tenant:') would bind as all defaults and hide the
		// overrides (an entry with a value is refused at start-up).
		ConfigurationPropertySources.get(this.environment)
			.forEach((source) -> sources.add(source.filter((key) -> !key.equals(root))));
		Binder binder = new Binder(sources, literalOverrides(flat.values()),
				ApplicationConversionService.getSharedInstance());
		// A Kafka setting's list from the first of these sources writing it, the overrides first (as Boot binds lists).
		BindHandler handler = new KafkaSettingLists(new NoUnboundElementsBindHandler(BindHandler.DEFAULT,
				(source) -> source == overrideSource));
		try {
			return binder.bind(root, Bindable.of(ProducerProperties.class), handler)
				.orElseGet(ProducerProperties::new);
		}
		catch (BindException ex) {
			throw invalidOverride(name, root, ex);
		}
	}

	/** Refuses an override without a value (a tenant's JSON {@code null}), or a key that is no setting at all. */
	private static void checkOverridesHaveValues(String name, ConfigurationPropertyName root,
			Map<String, ?> overrides) {
		overrides.forEach((key, value) -> {
			if (value == null) {
				throw isSetting(root, key) ? noValue(name, key) : notASetting(name, List.of(key));
			}
		});
	}

	/**
	 * Whether an override key names a setting of a producer entry, whatever its value: bound alone with a
	 * stand-in value, a key that is no setting stays unbound (one of another type fails conversion instead).
	 */
	private static boolean isSetting(ConfigurationPropertyName root, String key) {
		MapConfigurationPropertySource probe = new MapConfigurationPropertySource(
				Map.of(sourceForm(root) + "." + key, "0"));
		try {
			new Binder(probe).bind(root, Bindable.of(ProducerProperties.class),
					new NoUnboundElementsBindHandler(BindHandler.DEFAULT));
			return true;
		}
		catch (BindException ex) {
			return !(ex.getCause() instanceof UnboundConfigurationPropertiesException);
		}
	}

	private static InvalidConfigurationException notASetting(String name, List<String> keys) {
		return new InvalidConfigurationException("overrides." + keys.get(0),
				"is not a setting of a producer (runtime producer '" + name + "'; unknown: " + keys + ")",
				"Use the keys of a waterdrop.producers entry, such as max-in-flight, polling.mode or "
						+ "kafka.linger.ms.");
	}

	private static InvalidConfigurationException noValue(String name, String key) {
		return new InvalidConfigurationException("overrides." + key, "has no value (runtime producer '" + name + "')",
				"Give it a value, or leave the key out to keep the template's value.");
	}

	/**
	 * A fractional number as its text ({@code 1.9}, or {@code 7} for {@code 7.0}): Boot converts a {@code Double}
	 * to a whole-number setting by truncating it (1.9 to 1), while the text is refused as the value it is.
	 * Overrides come from callers, a tenant's JSON request, where every number with a point is a double.
	 */
	private static Object exact(Object value) {
		if (value instanceof Double || value instanceof Float || value instanceof BigDecimal) {
			try {
				return new BigDecimal(value.toString()).stripTrailingZeros().toPlainString();
			}
			catch (NumberFormatException ex) { // NaN, Infinity
				return value.toString();
			}
		}
		return value;
	}

	/**
	 * Resolves placeholders in the template's values but not in the overrides: they come from callers (a
	 * tenant's request), and a {@code ${...}} in one must not read the application's environment, secrets
	 * included, into a producer's settings or an error message. Told apart by identity: the binder hands the
	 * resolver the very objects the override source holds.
	 */
	private PlaceholdersResolver literalOverrides(Collection<Object> overrideValues) {
		Set<Object> literal = Collections.newSetFromMap(new IdentityHashMap<>());
		literal.addAll(overrideValues);
		PlaceholdersResolver environmentResolver = new PropertySourcesPlaceholdersResolver(this.environment);
		return (value) -> literal.contains(value) ? value : environmentResolver.resolvePlaceholders(value);
	}

	private static InvalidConfigurationException invalidOverride(String name, ConfigurationPropertyName root,
			BindException ex) {
		if (ex.getCause() instanceof UnboundConfigurationPropertiesException unbound) {
			for (ConfigurationProperty property : unbound.getUnboundProperties()) {
				// A blank value binds as no value to a single setting (a list takes it as empty): not a typo.
				String key = property.getName().subName(root.getNumberOfElements()).toString();
				if (property.getValue() instanceof CharSequence text && text.toString().isBlank()
						&& isSetting(root, key)) {
					throw noValue(name, key);
				}
			}
			return notASetting(name, unbound.getUnboundProperties()
				.stream()
				.map(ConfigurationProperty::getName)
				.map((property) -> property.subName(root.getNumberOfElements()).toString())
				.sorted()
				.toList());
		}
		ConfigurationPropertyName property = ex.getName();
		String key = root.isAncestorOf(property)
				? "overrides." + property.subName(root.getNumberOfElements()) : property.toString();
		Class<?> type = ex.getTarget().getType().resolve();
		if (type != null && type.isEnum()) {
			return new InvalidConfigurationException(key, "is not one of " + constants(type) + " (runtime producer '"
					+ name + "')", "Use one of " + constants(type) + "; any case is accepted.");
		}
		Throwable cause = (ex.getCause() != null) ? ex.getCause() : ex;
		while (cause.getCause() != null && cause.getMessage() != null && cause.getMessage().startsWith("Failed to convert")) {
			cause = cause.getCause();
		}
		return new InvalidConfigurationException(key,
				"cannot be bound for runtime producer '" + name + "': " + cause.getMessage(),
				"Give it a value of the right type, e.g. 100ms for a duration or 64KB for a size.");
	}

	private static List<String> constants(Class<?> enumType) {
		return Arrays.stream(enumType.getEnumConstants())
			.map((constant) -> constant.toString().toLowerCase(Locale.ROOT))
			.toList();
	}

	/**
	 * Refuses a {@code transactional.id} that a live runtime producer or a producer of the context has: the
	 * second {@code initTransactions} would fence the first for good. Under the hooks' lock, as every create.
	 */
	private void checkTransactionalIdFree(String name, ProducerConfig config, String prefix, ProducerProperties own,
			Map<String, ?> overrides) {
		Object id = config.kafka().get(TRANSACTIONAL_ID);
		if (id == null) {
			return;
		}
		String holder = this.assembler.transactionalIdHolder(id.toString());
		if (holder == null) {
			// Also one removed but still closing: its Kafka client holds the id until it is closed.
			holder = this.created.keySet()
				.stream()
				.filter((producer) -> id.equals(producer.config().kafka().get(TRANSACTIONAL_ID))
						&& producer.status() != ProducerStatus.CLOSED)
				.map((producer) -> producer.id()
						+ ((producer.status() == ProducerStatus.CLOSING) ? "', still closing," : "'"))
				.findFirst()
				.orElse(null);
		}
		else {
			holder += "'";
		}
		if (holder != null) {
			String key = "kafka." + TRANSACTIONAL_ID;
			// Named where the id came from: the override, the template, or a customizer that replaced both.
			boolean overridden = String.valueOf(overrides.get(key)).equals(id.toString());
			String customized = (overridden || id.toString().equals(own.getKafka().get(TRANSACTIONAL_ID))) ? ""
					: " (as left by a customizer)";
			throw new InvalidConfigurationException(overridden ? "overrides." + key : prefix + key,
					"gives runtime producer '" + name + "' the transactional.id '" + id + "'" + customized
							+ ", which producer '" + holder + " has too: each would fence the other",
					"Pass a transactional.id of its own in the overrides of each runtime producer (unique per "
							+ "producer and per application instance), or remove the producer that has it first.");
		}
	}

	/** What a template (with its overrides) cannot set at all. */
	private static void checkTemplateOnly(String template, ProducerProperties own) {
		String prefix = templatePath(template) + ".";
		if (own.getPoolSize() != null) {
			throw new InvalidConfigurationException(prefix + "pool-size",
					"applies to waterdrop.producers entries only; a runtime producer is a single producer",
					"Remove pool-size from the template (or its overrides), or define the pool as a producer entry.");
		}
		if (own.getPoolWaitTimeout() != null) {
			throw new InvalidConfigurationException(prefix + "pool-wait-timeout",
					"applies to waterdrop.producers entries with a pool-size only; a runtime producer is a single "
							+ "producer",
					"Remove pool-wait-timeout from the template (or its overrides).");
		}
		if (own.isPrimary()) {
			throw new InvalidConfigurationException(prefix + "primary",
					"applies to producer beans only; runtime producers are not beans", "Remove it.");
		}
	}

	/** What cannot be set on a template, or must be set per runtime producer. */
	private void checkTemplate(String name, String template, ProducerProperties own, Map<String, ?> overrides) {
		checkTemplateOnly(template, own);
		String prefix = templatePath(template) + ".";
		for (String key : List.of(CommonClientConfigs.CLIENT_ID_CONFIG, TRANSACTIONAL_ID)) {
			if (overrides.containsKey("kafka." + key)) {
				continue;
			}
			String shared = own.getKafka().containsKey(key) ? prefix + "kafka." + key
					: this.properties.getKafka().containsKey(key) ? "waterdrop.kafka." + key : null;
			if (shared != null) {
				throw new InvalidConfigurationException(shared,
						"would be shared by every runtime producer made from template '" + template + "' (creating '"
								+ name + "'), but every Kafka client needs a " + key + " of its own",
						"Pass kafka." + key + " in the overrides of each runtime producer, unique per producer (and, "
								+ "for transactional.id, per application instance), and remove it from " + shared + ".");
			}
		}
	}

	/**
	 * An invalid value reported under the key that set it: the override's when it came from one, not when a
	 * customizer left it so.
	 */
	private static InvalidConfigurationException fromOverride(InvalidConfigurationException ex, String prefix,
			Map<String, ?> overrides) {
		String property = ex.property();
		if (!(ex instanceof ProducerAssembler.CustomizedSettingException) && property.startsWith(prefix)
				&& overrides.containsKey(property.substring(prefix.length()))) {
			return new InvalidConfigurationException("overrides." + property.substring(prefix.length()),
					ProducerAssembler.reason(ex), ex.action());
		}
		return ex;
	}

	/**
	 * Told when a runtime producer is added or removed. A listener's failure is logged: it fails neither the
	 * create or remove nor the listeners after it (a failure on subscribing is the subscriber's).
	 */
	public interface Listener {

		/**
		 * A runtime producer was created (not connected yet), or existed when this listener subscribed.
		 * @param name its name
		 * @param producer the producer
		 */
		void added(String name, Producer producer);

		/**
		 * A runtime producer was removed; it is closed, or closing on shutdown.
		 * @param name its name
		 * @param producer the producer
		 */
		default void removed(String name, Producer producer) {
		}

	}

}
