package io.waterdrop.autoconfigure;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.bind.AbstractBindHandler;
import org.springframework.boot.context.properties.bind.BindContext;
import org.springframework.boot.context.properties.bind.BindHandler;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Bindable.BindRestriction;
import org.springframework.boot.context.properties.bind.PlaceholdersResolver;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.util.StringUtils;

import io.waterdrop.autoconfigure.WaterDropProperties.PollerProperties;
import io.waterdrop.autoconfigure.WaterDropProperties.ProducerProperties;

/**
 * Binds an entry written empty ({@code orders:} in {@code application.yml}) from the settings other sources give
 * it (a profile's file, an environment variable), as Boot binds any nested bean. Boot 4.0 binds a value written
 * at the entry's own name as the whole entry (the empty one through {@link ProducerProperties#valueOf(String)}),
 * which would leave those settings unbound; where the entry's value is empty and a setting of it has a value,
 * the binder is told to skip the entry's own value. Values are compared as Boot binds them: placeholders
 * resolved, the first source holding a key winning, a blank value meaning none.
 * <p>
 * Stateless, so one instance may serve several bindings at once.
 */
final class EmptyEntryBindHandler extends AbstractBindHandler {

	private final PlaceholdersResolver placeholders;

	EmptyEntryBindHandler(BindHandler parent, PlaceholdersResolver placeholders) {
		super(parent);
		this.placeholders = placeholders;
	}

	@Override
	public <T> @Nullable Bindable<T> onStart(ConfigurationPropertyName name, Bindable<T> target,
			BindContext context) {
		Bindable<T> started = super.onStart(name, target, context);
		if (started != null && isEntry(started) && writtenEmpty(name, context) && hasSetting(name, context)) {
			return started.withBindRestrictions(BindRestriction.NO_DIRECT_PROPERTY);
		}
		return started;
	}

	private static boolean isEntry(Bindable<?> target) {
		Class<?> type = target.getType().resolve(Object.class);
		return type == ProducerProperties.class || type == PollerProperties.class;
	}

	private boolean writtenEmpty(ConfigurationPropertyName name, BindContext context) {
		ConfigurationProperty written = find(name, context);
		return written != null && !hasText(written, this.placeholders);
	}

	private boolean hasSetting(ConfigurationPropertyName name, BindContext context) {
		for (ConfigurationPropertySource source : context.getSources()) {
			if (source instanceof IterableConfigurationPropertySource iterable
					&& iterable.filter(name::isAncestorOf).stream().anyMatch((key) -> {
						ConfigurationProperty setting = find(key, context);
						return setting != null && hasText(setting, this.placeholders);
					})) {
				return true;
			}
		}
		return false;
	}

	/** The property the binder would bind at {@code name}: the first source's. */
	private static @Nullable ConfigurationProperty find(ConfigurationPropertyName name, BindContext context) {
		for (ConfigurationPropertySource source : context.getSources()) {
			ConfigurationProperty property = source.getConfigurationProperty(name);
			if (property != null) {
				return property;
			}
		}
		return null;
	}

	/** Whether a property has a value as Boot binds it: placeholders resolved, a blank one none. */
	static boolean hasText(ConfigurationProperty property, PlaceholdersResolver placeholders) {
		Object value = placeholders.resolvePlaceholders(property.getValue());
		return value != null && (!(value instanceof CharSequence text) || StringUtils.hasText(text));
	}

}
