package io.waterdrop.autoconfigure;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.HierarchicalBeanFactory;
import org.springframework.beans.factory.annotation.AnnotatedBeanDefinition;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.beans.factory.config.RuntimeBeanReference;
import org.springframework.beans.factory.config.SingletonBeanRegistry;
import org.springframework.beans.factory.support.AbstractBeanDefinition;
import org.springframework.beans.factory.support.BeanDefinitionRegistry;
import org.springframework.beans.factory.support.RootBeanDefinition;
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
import org.springframework.boot.env.OriginTrackedMapPropertySource;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.EnvironmentAware;
import org.springframework.context.annotation.ImportBeanDefinitionRegistrar;
import org.springframework.core.env.Environment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.core.type.AnnotationMetadata;
import org.springframework.util.StringUtils;

import io.waterdrop.InvalidConfigurationException;
import io.waterdrop.Producer;
import io.waterdrop.TransactionalPool;
import io.waterdrop.autoconfigure.WaterDropProperties.PollerProperties;
import io.waterdrop.autoconfigure.WaterDropProperties.ProducerProperties;
import io.waterdrop.autoconfigure.transaction.WaterDropTransactionManager;
import io.waterdrop.polling.Poller;

/**
 * Registers a {@link Poller} bean {@code <name>Poller} per {@code waterdrop.pollers} entry and a
 * {@link Producer} bean {@code <name>} per {@code waterdrop.producers} entry, both made by the
 * {@link ProducerAssembler}, and a {@link WaterDropTransactionManager} {@code <name>TransactionManager} per
 * producer entry whose {@code transactional.id} is set in the properties. The names are read from the environment when the bean definitions are loaded,
 * so they are fixed at build time under AOT.
 * <p>
 * A bean of the context already named like an entry (of any type, the application's {@code @Component class
 * Audit} as much as a {@code Producer} bean) fails start-up: the entry would silently not be defined. An
 * entry that an ancestor context defines already is not defined again: the child context uses the
 * ancestor's bean, which that context connects and closes, rather than a second Kafka client with the same
 * {@code client.id} and {@code transactional.id}. At most one producer entry may be {@code primary}.
 * <p>
 * Not a Spring Framework 7 {@code BeanRegistrar}: its {@code BeanRegistry} (7.0) cannot look at the bean
 * definitions registered already, which the name checks above need.
 */
class WaterDropBeanRegistrar implements ImportBeanDefinitionRegistrar, EnvironmentAware {

	private static final String TRANSACTIONAL_ID = org.apache.kafka.clients.producer.ProducerConfig.TRANSACTIONAL_ID_CONFIG;

	/** On a pool member's bean definition: the name of its pool (its entry). */
	static final String POOL_ATTRIBUTE = "waterdrop.pool";

	/** On a producer bean defined from properties: the path of its settings (a pool member's, its pool's). */
	static final String SETTINGS_ATTRIBUTE = "waterdrop.settings";

	private Environment environment;

	@Override
	public void setEnvironment(Environment environment) {
		this.environment = environment;
	}

	@Override
	public void registerBeanDefinitions(AnnotationMetadata metadata, BeanDefinitionRegistry registry) {
		Binder binder = Binder.get(this.environment);
		Map<String, PollerProperties> pollers = bindEntries(binder, "waterdrop.pollers", PollerProperties.class,
				"poll-timeout or backoff-min");
		Map<String, ProducerProperties> producers = bindEntries(binder, "waterdrop.producers", ProducerProperties.class,
				"max-in-flight, pool-size, close-timeout, polling.poller or kafka.linger.ms");
		// Checked only: a runtime producer binds its template when it is created.
		bindEntries(binder, "waterdrop.templates", ProducerProperties.class,
				"max-in-flight, close-timeout, polling.mode or kafka.linger.ms");
		checkTopLevelKeys(binder, placeholders());
		Map<String, String> claimed = new HashMap<>(WaterDropAutoConfiguration.FIXED_BEAN_NAMES);
		for (String name : pollers.keySet()) {
			String path = ProducerAssembler.entryPath("waterdrop.pollers", name);
			requireName(name, "waterdrop.pollers", "critical");
			if (name.equals(WaterDropAutoConfiguration.GLOBAL_POLLER_NAME)) {
				// The settings of the waterdropPoller bean, which a parent context's replaces
				if (definedByParent(registry, WaterDropAutoConfiguration.GLOBAL_POLLER_BEAN_NAME, Poller.class)) {
					checkSameAsParent(registry, "waterdrop.pollers", name, path);
				}
				continue;
			}
			claim(claimed, ProducerAssembler.pollerBeanName(name), path);
			if (!register(registry, ProducerAssembler.pollerBeanName(name), Poller.class, "poller", name, path,
					false)) {
				checkSameAsParent(registry, "waterdrop.pollers", name, path);
			}
		}
		checkPrimary(producers);
		boolean sharedTransactionalId = SharedTransactionalIdCondition.layerWithTransactionalId(binder) != null;
		for (Map.Entry<String, ProducerProperties> entry : producers.entrySet()) {
			String name = entry.getKey();
			String path = ProducerAssembler.entryPath("waterdrop.producers", name);
			requireName(name, "waterdrop.producers", "orders");
			claim(claimed, name, path);
			if (entry.getValue().getPoolSize() != null) {
				if (!registerPool(registry, claimed, name, path, entry.getValue())) {
					checkSameAsParent(registry, "waterdrop.producers", name, path);
				}
				continue;
			}
			boolean defined = register(registry, name, Producer.class, "producer", name, path,
					entry.getValue().isPrimary());
			if (!defined) {
				checkSameAsParent(registry, "waterdrop.producers", name, path);
			}
			if (sharedTransactionalId || entry.getValue().getKafka().containsKey(TRANSACTIONAL_ID)) {
				String managerName = transactionManagerBeanName(name);
				claim(claimed, managerName, path);
				if (defined) {
					registerTransactionManager(registry, managerName, name, path);
				}
			}
		}
	}

	/**
	 * An entry whose bean the parent context defines is that bean here, as the parent configured it: settings
	 * this context gives it otherwise would bind and do nothing, so they must be the parent's (a child made by
	 * {@code SpringApplicationBuilder.child} sees its parent's properties, and so has them). Compared as the
	 * property sources hold them, placeholders unresolved: {@code ${random.uuid}} or a placeholder the child
	 * resolves otherwise is the same setting.
	 */
	private void checkSameAsParent(BeanDefinitionRegistry registry, String section, String name, String path) {
		BeanFactory parent = (registry instanceof HierarchicalBeanFactory hierarchical)
				? hierarchical.getParentBeanFactory() : null;
		if (parent == null || !parent.containsBean(ConfigurableApplicationContext.ENVIRONMENT_BEAN_NAME)) {
			return;
		}
		Environment parentEnvironment = parent.getBean(ConfigurableApplicationContext.ENVIRONMENT_BEAN_NAME,
				Environment.class);
		Map<String, RawSetting> here = rawSettings(this.environment, section, name);
		Map<String, RawSetting> there = rawSettings(parentEnvironment, section, name);
		Set<String> differing = new TreeSet<>();
		Set<String> keys = new TreeSet<>(here.keySet());
		keys.addAll(there.keySet());
		for (String key : keys) {
			RawSetting mine = here.get(key);
			RawSetting theirs = there.get(key);
			if (mine == null || theirs == null || !mine.value().equals(theirs.value())) {
				differing.add(((mine != null) ? mine : theirs).shown());
			}
		}
		if (differing.isEmpty()) {
			return;
		}
		throw new InvalidConfigurationException(path + "." + differing.iterator().next(),
				"differs from the parent context's setting (differing: " + differing + "), whose bean this context "
						+ "uses as the parent configured it, so this context's setting would do nothing",
				"Give the entry the parent's settings here (or none: leave it to the parent), or give it another "
						+ "name for a bean of this context's own.");
	}

	/**
	 * An entry's settings as its environment's property sources hold them, the first source having a key
	 * winning: keys below the entry in Boot's uniform form ({@code maxinflight} for {@code max-in-flight} and
	 * {@code MAXINFLIGHT}), values unresolved.
	 */
	private static Map<String, RawSetting> rawSettings(Environment environment, String section, String name) {
		ConfigurationPropertyName sectionName = ConfigurationPropertyName.of(section);
		int depth = sectionName.getNumberOfElements() + 1;
		Map<String, RawSetting> settings = new TreeMap<>();
		for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
			if (!(source instanceof IterableConfigurationPropertySource iterable)) {
				continue;
			}
			iterable.stream()
				.filter((key) -> key.getNumberOfElements() > depth && sectionName.isAncestorOf(key)
						&& isEntry(key.getElement(depth - 1, Form.ORIGINAL), name))
				.forEach((key) -> {
					ConfigurationProperty property = iterable.getConfigurationProperty(key);
					if (property != null && property.getValue() != null) {
						settings.putIfAbsent(uniform(key, depth),
								new RawSetting(key.subName(depth).toString(), String.valueOf(property.getValue())));
					}
				});
		}
		return settings;
	}

	/** A setting as shown in messages (as its source names it), and its value as written. */
	private record RawSetting(String shown, String value) {
	}

	private static boolean isEntry(String element, String name) {
		return element.equals(name) || element.equalsIgnoreCase(name.replace("-", ""));
	}

	private static String uniform(ConfigurationPropertyName key, int from) {
		StringBuilder uniform = new StringBuilder();
		for (int element = from; element < key.getNumberOfElements(); element++) {
			uniform.append((uniform.length() > 0) ? "." : "").append(key.getElement(element, Form.UNIFORM));
		}
		return uniform.toString();
	}

	/**
	 * Binds a map of entries and fails on a key that is not a setting of an entry: a typo such as
	 * {@code pool-szie} would otherwise leave the default in place, silently, since the configuration
	 * metadata cannot describe the keys inside map entries. A key with an empty value ({@code close-timeout:}
	 * in YAML, an empty environment variable) is not checked: Boot binds it as unset, and so reports it unbound.
	 */
	private <T> Map<String, T> bindEntries(Binder binder, String prefix, Class<T> type, String examples) {
		Map<String, T> entries = new LinkedHashMap<>(bindEntriesChecked(binder, prefix, type, examples,
				placeholders()));
		RelaxedEntryNames.removeEnvironmentSpellings(prefix, entries,
				(key) -> writtenOutsideTheEnvironment(this.environment, prefix, key));
		return entries;
	}

	/** Whether a source other than the system environment writes the entry {@code name} exactly so. */
	private static boolean writtenOutsideTheEnvironment(Environment environment, String section, String name) {
		ConfigurationPropertyName sectionName = ConfigurationPropertyName.of(section);
		int depth = sectionName.getNumberOfElements() + 1;
		for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
			if (source instanceof IterableConfigurationPropertySource iterable
					&& !(source.getUnderlyingSource() instanceof SystemEnvironmentPropertySource)
					&& iterable.stream()
						.anyMatch((key) -> key.getNumberOfElements() >= depth && sectionName.isAncestorOf(key)
								&& key.getElement(depth - 1, Form.ORIGINAL).equals(name))) {
				return true;
			}
		}
		return false;
	}

	/** Resolves values as the properties bean's binding does: what counts as empty, for entries and settings. */
	private PlaceholdersResolver placeholders() {
		return new PropertySourcesPlaceholdersResolver(this.environment);
	}

	private static <T> Map<String, T> bindEntriesChecked(Binder binder, String prefix, Class<T> type,
			String examples, PlaceholdersResolver placeholders) {
		BindHandler emptyEntries = new EmptyEntryBindHandler(BindHandler.DEFAULT, placeholders);
		try {
			return binder
				.bind(prefix, Bindable.mapOf(String.class, type),
						new NoUnboundElementsBindHandler(emptyEntries))
				.orElse(Map.of());
		}
		catch (BindException ex) {
			if (!(ex.getCause() instanceof UnboundConfigurationPropertiesException unbound)) {
				throw ex;
			}
			List<String> unknown = unknown(unbound, placeholders);
			if (unknown.isEmpty()) {
				return binder
					.bind(prefix, Bindable.mapOf(String.class, type), emptyEntries)
					.orElse(Map.of());
			}
			throw unknownKeys(unknown, "is not a setting of a " + prefix + " entry",
					"Correct or remove it; an entry takes keys such as " + examples
							+ " (docs/configuration.md lists them).");
		}
	}

	/**
	 * Fails on a key under {@code waterdrop} that is no setting, written in the application's configuration
	 * files ({@code application.yml}, its profiles and imports, which Boot loads as {@code Config resource '...'}
	 * sources): a typo such as {@code close-timout} would leave the default in place, silently. Not checked:
	 * environment variables and system properties (a {@code WATERDROP_*} variable may belong to something
	 * else), and shared sources such as a config server's or DevTools' global settings, which may hold keys of
	 * a newer starter version. A value Boot cannot convert is left to the properties' own binding, which
	 * reports it as Boot does.
	 */
	private static void checkTopLevelKeys(Binder binder, PlaceholdersResolver placeholders) {
		try {
			binder.bind("waterdrop", Bindable.of(WaterDropProperties.class),
					new NoUnboundElementsBindHandler(new EmptyEntryBindHandler(BindHandler.DEFAULT, placeholders),
							WaterDropBeanRegistrar::isApplicationConfigFile));
		}
		catch (BindException ex) {
			List<String> unknown = (ex.getCause() instanceof UnboundConfigurationPropertiesException unbound)
					? unknown(unbound, placeholders) : List.of();
			if (!unknown.isEmpty()) {
				throw unknownKeys(unknown, "is not a WaterDrop setting", "Correct or remove it; "
						+ "docs/configuration.md lists the settings (so does an IDE with Spring Boot support, which "
						+ "flags unknown keys as you type).");
			}
		}
	}

	private static boolean isApplicationConfigFile(ConfigurationPropertySource source) {
		return source.getUnderlyingSource() instanceof OriginTrackedMapPropertySource file
				&& file.getName().startsWith("Config resource '");
	}

	/** The failure naming the first of {@code unknown} keys, and the others if any. */
	private static InvalidConfigurationException unknownKeys(List<String> unknown, String reason, String action) {
		String others = (unknown.size() > 1) ? " (unknown: " + unknown + ")" : "";
		return new InvalidConfigurationException(unknown.get(0), reason + others, action);
	}

	/**
	 * The unbound properties' names, sorted, but those with an empty value (Boot binds them as unset) and
	 * those in a map of Kafka settings.
	 */
	/** The unbound keys that have a value: one written empty (or blank, or a placeholder of nothing) is unset. */
	private static List<String> unknown(UnboundConfigurationPropertiesException unbound,
			PlaceholdersResolver placeholders) {
		return unbound.getUnboundProperties()
			.stream()
			.filter((property) -> EmptyEntryBindHandler.hasText(property, placeholders))
			.map(ConfigurationProperty::getName)
			.filter((name) -> !isKafkaSetting(name))
			.map(ConfigurationPropertyName::toString)
			.sorted()
			.toList();
	}

	/**
	 * Whether {@code name} is a key of a {@code kafka} map ({@code waterdrop.kafka} or an entry's): any key is
	 * valid there, and one left unbound is the same key spelled another way ({@code kafka.linger.ms} in one
	 * file, {@code kafka[linger.ms]} in a source of higher precedence), which Boot binds once: an override.
	 */
	private static boolean isKafkaSetting(ConfigurationPropertyName name) {
		int kafka = switch (name.getNumberOfElements() > 1 ? name.getElement(1, Form.UNIFORM) : "") {
			case "kafka" -> 1;
			case "producers", "templates" -> 3;
			default -> -1;
		};
		return kafka > 0 && name.getNumberOfElements() > kafka + 1
				&& name.getElement(kafka, Form.UNIFORM).equals("kafka");
	}

	static String transactionManagerBeanName(String producerName) {
		return producerName + "TransactionManager";
	}

	/**
	 * A {@link WaterDropTransactionManager} for {@code @Transactional("<name>TransactionManager")}; not a
	 * default candidate, so that Boot's own transaction manager (conditional on none) is still defined and
	 * still the one a plain {@code @Transactional} uses.
	 */
	private static void registerTransactionManager(BeanDefinitionRegistry registry, String beanName,
			String producerName, String path) {
		checkFree(registry, beanName, path);
		RootBeanDefinition definition = new RootBeanDefinition(WaterDropTransactionManager.class);
		definition.getConstructorArgumentValues().addIndexedArgumentValue(0, new RuntimeBeanReference(producerName));
		definition.setDefaultCandidate(false);
		registry.registerBeanDefinition(beanName, definition);
	}

	/**
	 * A transactional pool: a {@link Producer} bean {@code <name>-<i>} per member (connected, closed, metered,
	 * health-checked and shown like any producer bean) and the {@link TransactionalPool} bean {@code <name>}
	 * over them, which closes nothing itself.
	 */
	/** @return whether the pool was defined here (not when an ancestor context defines it) */
	private static boolean registerPool(BeanDefinitionRegistry registry, Map<String, String> claimed, String name,
			String path, ProducerProperties entry) {
		int size = ProducerAssembler.poolSize(entry, name);
		for (int index = 0; index < size; index++) {
			String member = TransactionalPool.memberName(name, index);
			claim(claimed, member, path + " (member " + index + " of its pool)");
			register(registry, member, Producer.class, "poolMember", name, path, false);
			if (registry.containsBeanDefinition(member)) {
				BeanDefinition definition = registry.getBeanDefinition(member);
				definition.getConstructorArgumentValues().addIndexedArgumentValue(1, index);
				definition.setAttribute(POOL_ATTRIBUTE, name);
			}
		}
		boolean defined = register(registry, name, TransactionalPool.class, "pool", name, path, entry.isPrimary());
		if (defined) {
			BeanDefinition pool = registry.getBeanDefinition(name);
			// Not closed by the context ("" turns off inferring its close()): each member closes as a producer
			// bean does, with its close-timeout, after the beans that use the pool.
			((AbstractBeanDefinition) pool).setDestroyMethodName("");
			pool.setDependsOn(java.util.stream.IntStream.range(0, size)
				.mapToObj((index) -> TransactionalPool.memberName(name, index))
				.toArray(String[]::new));
		}
		return defined;
	}

	private static void requireName(String name, String path, String example) {
		if (!StringUtils.hasText(name)) {
			throw new InvalidConfigurationException(path, "an entry has an empty name",
					"Give every entry a name, e.g. " + path + "." + example + ".");
		}
	}

	/** Bean names must not collide, e.g. a Poller named 'waterdrop' with the global Poller. */
	private static void claim(Map<String, String> claimed, String beanName, String path) {
		String owner = claimed.putIfAbsent(beanName, path);
		if (owner != null) {
			throw new InvalidConfigurationException(path,
					"its bean name '" + beanName + "' is already taken by " + owner,
					"Rename " + path + " so that its bean name differs.");
		}
	}

	private static void checkPrimary(Map<String, ProducerProperties> producers) {
		List<String> primaries = producers.entrySet()
			.stream()
			.filter((entry) -> entry.getValue().isPrimary())
			.map((entry) -> ProducerAssembler.producerPrefix(entry.getKey()) + "primary")
			.toList();
		if (primaries.size() > 1) {
			throw new InvalidConfigurationException(primaries.get(1),
					"is true, as is " + String.join(", ", primaries.subList(0, 1))
							+ ": there can be only one primary Producer bean",
					"Set primary to true on one producer entry only: " + String.join(", ", primaries) + ".");
		}
	}

	/** @return whether the bean was defined here (not when an ancestor context defines it) */
	private static boolean register(BeanDefinitionRegistry registry, String beanName, Class<?> type,
			String factoryMethod, String name, String path, boolean primary) {
		checkFree(registry, beanName, path);
		if (definedByParent(registry, beanName, type)) {
			return false; // an ancestor context defines, connects and closes it; this context uses that bean
		}
		RootBeanDefinition definition = new RootBeanDefinition();
		definition.setTargetType(type);
		definition.setFactoryBeanName(WaterDropAutoConfiguration.ASSEMBLER_BEAN_NAME);
		definition.setFactoryMethodName(factoryMethod);
		definition.getConstructorArgumentValues().addIndexedArgumentValue(0, name);
		definition.setPrimary(primary);
		if (type == Producer.class) {
			definition.setAttribute(SETTINGS_ATTRIBUTE, path);
		}
		// Producer is AutoCloseable: closed on destroy too (with its close-timeout, by the lifecycle's closer).
		definition.setDestroyMethodName(AbstractBeanDefinition.INFER_METHOD);
		registry.registerBeanDefinition(beanName, definition);
		return true;
	}

	private static boolean definedByParent(BeanDefinitionRegistry registry, String beanName, Class<?> type) {
		BeanFactory parent = (registry instanceof HierarchicalBeanFactory hierarchical)
				? hierarchical.getParentBeanFactory() : null;
		return parent != null && parent.containsBean(beanName) && parent.isTypeMatch(beanName, type);
	}

	private static void checkFree(BeanDefinitionRegistry registry, String beanName, String path) {
		if (registry.containsBeanDefinition(beanName) || registry.isAlias(beanName)
				|| (registry instanceof SingletonBeanRegistry singletons && singletons.containsSingleton(beanName))) {
			throw new InvalidConfigurationException(path,
					"its bean name '" + beanName + "' is already taken by " + describe(registry, beanName)
							+ ", so the entry would not be defined",
					"Rename " + path + ", or give that bean another name (@Component(\"...\") or "
							+ "@Bean(\"...\")). To replace the entry with a bean of your own, remove " + path + ".");
		}
	}

	private static String describe(BeanDefinitionRegistry registry, String beanName) {
		if (!registry.containsBeanDefinition(beanName)) {
			return "another bean";
		}
		BeanDefinition existing = registry.getBeanDefinition(beanName);
		String type = existing.getBeanClassName();
		if (existing instanceof AnnotatedBeanDefinition annotated && annotated.getFactoryMethodMetadata() != null) {
			type = annotated.getFactoryMethodMetadata().getReturnTypeName();
		}
		StringBuilder description = new StringBuilder("the bean '").append(beanName).append('\'');
		if (type != null) {
			description.append(" of type ").append(type);
		}
		String resource = resourceOf(existing);
		if (resource != null) {
			description.append(" (defined in ").append(resource).append(')');
		}
		return description.toString();
	}

	private static @Nullable String resourceOf(BeanDefinition definition) {
		return definition.getResourceDescription();
	}

}
