package io.waterdrop.autoconfigure;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.BeansException;
import org.springframework.context.ApplicationContext;
import org.springframework.util.ClassUtils;

import io.waterdrop.InvalidConfigurationException;
import io.waterdrop.Serializers;

/**
 * The key and payload serializers of the producers, from the {@code key.serializer} / {@code value.serializer}
 * Kafka settings (Boot's {@code spring.kafka.producer.key-serializer} / {@code value-serializer},
 * {@code waterdrop.kafka.*}, a producer's own {@code kafka.*}; later wins), as Kafka itself would make them:
 * an instance of the class, configured with the producer's Kafka settings ({@code configure(settings, isKey)}).
 * <ul>
 * <li>{@code StringSerializer} (Boot's default) and {@code ByteArraySerializer} mean WaterDrop's default,
 * which writes both as they would; with Jackson 3 on the class path it also writes any other type as JSON
 * ({@link Serializers#defaultsOr}), with spring-kafka's {@code JacksonJsonSerializer} on the application's
 * {@code JsonMapper} bean (so {@code spring.jackson.*} and its modules apply) and its type headers.</li>
 * <li>spring-kafka's {@code JacksonJsonSerializer} is made on that {@code JsonMapper} bean too, rather than
 * on a mapper of its own: everything, strings included, is written as JSON.</li>
 * <li>Any other class is created by the application context ({@code createBean}, so a constructor may take
 * beans) and configured as Kafka would.</li>
 * </ul>
 * Serializers made here are closed when the context closes, after the producers; those of a runtime producer
 * when it is removed.
 */
final class ProducerSerializers {

	private static final Logger logger = LoggerFactory.getLogger(ProducerSerializers.class);

	static final String JACKSON_JSON_SERIALIZER = "org.springframework.kafka.support.serializer.JacksonJsonSerializer";

	private static final Set<String> DEFAULT_EQUIVALENTS = Set.of(StringSerializer.class.getName(),
			ByteArraySerializer.class.getName());

	private final ApplicationContext context;

	private final boolean jacksonPresent;

	private final List<Serializer<?>> created = new ArrayList<>();

	ProducerSerializers(ApplicationContext context) {
		this.context = context;
		ClassLoader classLoader = context.getClassLoader();
		this.jacksonPresent = ClassUtils.isPresent("tools.jackson.databind.json.JsonMapper", classLoader)
				&& ClassUtils.isPresent(JACKSON_JSON_SERIALIZER, classLoader);
	}

	/**
	 * Whether the setting's serializer writes text as UTF-8, as the default does: Kafka's
	 * {@code StringSerializer} given another encoding ({@code [key.|value.]serializer.encoding}) is kept,
	 * configured, so that the encoding is honoured.
	 */
	private static boolean writesUtf8(Object setting, boolean isKey, Map<String, Object> settings) {
		if (!StringSerializer.class.getName().equals(className(setting))) {
			return true;
		}
		Object encoding = settings.get(isKey ? "key.serializer.encoding" : "value.serializer.encoding");
		if (encoding == null) {
			encoding = settings.get("serializer.encoding");
		}
		try {
			return encoding == null || Charset.forName(encoding.toString()).equals(StandardCharsets.UTF_8);
		}
		catch (IllegalArgumentException ex) {
			return false; // Kafka's own serializer refuses it when configured, naming the encoding
		}
	}

	/**
	 * The serializer a setting names.
	 * @param setting the {@code key.serializer} or {@code value.serializer} value (a class, a class name or
	 * an instance), {@code null} when unset
	 * @param property where the setting was made, for errors
	 * @param ownProperty the producer's own setting of this serializer: WaterDrop's default refusing the
	 * settings is reported under it, as no setting chose that serializer (Boot's {@code StringSerializer} is
	 * every producer's)
	 */
	Serializer<?> serializer(@Nullable Object setting, boolean isKey, Map<String, Object> settings, String property,
			String ownProperty) {
		if (setting instanceof Serializer<?> instance) {
			return instance; // given ready-made, as Kafka takes one: not configured again
		}
		if (setting == null
				|| (DEFAULT_EQUIVALENTS.contains(className(setting)) && writesUtf8(setting, isKey, settings))) {
			return defaults(isKey, settings, ownProperty);
		}
		Class<?> type = type(setting, property);
		if (!Serializer.class.isAssignableFrom(type)) {
			throw new InvalidConfigurationException(property,
					"names " + type.getName() + ", which is not a Kafka Serializer",
					"Name a class implementing org.apache.kafka.common.serialization.Serializer.");
		}
		Serializer<?> serializer;
		if (this.jacksonPresent && type.getName().equals(JACKSON_JSON_SERIALIZER)) {
			serializer = Json.serializer(this.context);
		}
		else {
			serializer = instantiate(type, property);
		}
		configureOrClose(serializer, settings, isKey, property);
		return track(serializer);
	}

	/** WaterDrop's default: strings and bytes as they are, and JSON for the rest when Jackson is present. */
	private Serializer<?> defaults(boolean isKey, Map<String, Object> settings, String property) {
		if (!this.jacksonPresent) {
			return Serializers.defaults();
		}
		Serializer<?> json = Json.serializer(this.context);
		configureOrClose(json, settings, isKey, property);
		return track(Serializers.defaultsOr(json));
	}

	private static String className(Object setting) {
		return (setting instanceof Class<?> type) ? type.getName() : setting.toString().trim();
	}

	private Class<?> type(Object setting, String property) {
		if (setting instanceof Class<?> type) {
			return type;
		}
		try {
			return ClassUtils.forName(setting.toString().trim(), this.context.getClassLoader());
		}
		catch (ClassNotFoundException | LinkageError ex) {
			throw new InvalidConfigurationException(property, "names class " + setting + ", which cannot be loaded ("
					+ ex + ")", "Check the class name and that its jar is on the class path.");
		}
	}

	private Serializer<?> instantiate(Class<?> type, String property) {
		try {
			return (Serializer<?>) this.context.getAutowireCapableBeanFactory().createBean(type);
		}
		catch (BeansException ex) {
			Throwable cause = ex.getMostSpecificCause();
			String action;
			if (cause instanceof NoClassDefFoundError && !String.valueOf(cause.getMessage()).startsWith("Could not")) {
				action = "Add the jar with the missing class " + cause.getMessage() + " (a dependency of "
						+ type.getSimpleName() + ") to the class path, or choose another serializer.";
			}
			else if (cause instanceof LinkageError) {
				action = "Use versions of " + type.getSimpleName() + "'s jar and of the libraries it calls that "
						+ "were built for each other, or choose another serializer.";
			}
			else {
				action = "Give it a public no-argument constructor, or a constructor taking beans of the application.";
			}
			throw new InvalidConfigurationException(property,
					"names " + type.getName() + ", which could not be created: " + cause, action);
		}
	}

	/** Configures a serializer made here; one that refuses is closed, as no producer will. */
	private static void configureOrClose(Serializer<?> serializer, Map<String, Object> settings, boolean isKey,
			String property) {
		try {
			configure(serializer, settings, isKey, property);
		}
		catch (RuntimeException | Error ex) {
			close(List.of(serializer));
			throw ex;
		}
	}

	/** Configures a serializer with a producer's Kafka settings, as Kafka would; a refusal names its property. */
	static void configure(Serializer<?> serializer, Map<String, Object> settings, boolean isKey, String property) {
		try {
			serializer.configure(settings, isKey);
		}
		catch (RuntimeException ex) {
			throw new InvalidConfigurationException(property,
					serializer.getClass().getName() + " refused the producer's Kafka settings: " + ex,
					"Fix the serializer's settings (spring.kafka.producer.properties.*, waterdrop.kafka.* or "
							+ "waterdrop.producers.<name>.kafka.*).");
		}
	}

	private Serializer<?> track(Serializer<?> serializer) {
		synchronized (this.created) {
			this.created.add(serializer);
		}
		return serializer;
	}

	/** Closes the serializers made here, as Kafka closes its own with the client. */
	void close() {
		List<Serializer<?>> toClose;
		synchronized (this.created) {
			toClose = List.copyOf(this.created);
			this.created.clear();
		}
		close(toClose);
	}

	/**
	 * Closes those of the given serializers that were made here, as soon as the one producer they were made
	 * for no longer needs them (a runtime producer removed, or one never created): runtime producers come and
	 * go for the whole life of the context. Others, given ready-made, are left alone.
	 */
	void release(Serializer<?>... serializers) {
		List<Serializer<?>> toClose = new ArrayList<>();
		synchronized (this.created) {
			for (Serializer<?> serializer : serializers) {
				if (this.created.removeIf((made) -> made == serializer)) {
					toClose.add(serializer);
				}
			}
		}
		close(toClose);
	}

	private static void close(List<Serializer<?>> toClose) {
		for (Serializer<?> serializer : toClose) {
			try {
				serializer.close();
			}
			catch (RuntimeException ex) {
				logger.warn("Closing serializer {} failed", serializer.getClass().getName(), ex);
			}
		}
	}

	/** Touches Jackson's classes only when they are present. */
	private static final class Json {

		static Serializer<?> serializer(ApplicationContext context) {
			tools.jackson.databind.json.JsonMapper mapper = context
				.getBeanProvider(tools.jackson.databind.json.JsonMapper.class)
				.getIfUnique();
			return (mapper != null) ? new org.springframework.kafka.support.serializer.JacksonJsonSerializer<>(mapper)
					: new org.springframework.kafka.support.serializer.JacksonJsonSerializer<>();
		}

	}

}
