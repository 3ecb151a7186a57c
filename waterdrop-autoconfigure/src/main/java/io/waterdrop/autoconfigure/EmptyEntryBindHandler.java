package io.waterdrop.autoconfigure;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.bind.AbstractBindHandler;
import org.springframework.boot.context.properties.bind.BindContext;
import org.springframework.boot.context.properties.bind.BindHandler;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Bindable.BindRestriction;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertyState;
import org.springframework.util.ObjectUtils;

import io.waterdrop.autoconfigure.WaterDropProperties.PollerProperties;
import io.waterdrop.autoconfigure.WaterDropProperties.ProducerProperties;

/**
 * Binds an entry written empty ({@code orders:} in {@code application.yml}) from the settings other sources give
 * it (a profile's file, an environment variable), as Boot binds any nested bean. Boot 4.0 binds a value written
 * at the entry's own name as the whole entry (the empty one through {@link ProducerProperties#valueOf(String)}),
 * which would leave those settings unbound; where the entry's value is empty and settings for it exist, the
 * binder is told to skip that value.
 * <p>
 * Stateless, so one instance may serve several bindings at once.
 */
final class EmptyEntryBindHandler extends AbstractBindHandler {

	EmptyEntryBindHandler(BindHandler parent) {
		super(parent);
	}

	@Override
	public <T> @Nullable Bindable<T> onStart(ConfigurationPropertyName name, Bindable<T> target,
			BindContext context) {
		Bindable<T> started = super.onStart(name, target, context);
		if (started != null && isEntry(started) && writtenEmptyWithSettings(name, context)) {
			return started.withBindRestrictions(BindRestriction.NO_DIRECT_PROPERTY);
		}
		return started;
	}

	private static boolean isEntry(Bindable<?> target) {
		Class<?> type = target.getType().resolve(Object.class);
		return type == ProducerProperties.class || type == PollerProperties.class;
	}

	/** Whether the value Boot would bind at {@code name} (the first source's) is empty, and settings exist. */
	private static boolean writtenEmptyWithSettings(ConfigurationPropertyName name, BindContext context) {
		ConfigurationProperty written = null;
		boolean settings = false;
		for (ConfigurationPropertySource source : context.getSources()) {
			if (written == null) {
				written = source.getConfigurationProperty(name);
			}
			settings |= source.containsDescendantOf(name) == ConfigurationPropertyState.PRESENT;
		}
		return written != null && ObjectUtils.isEmpty(written.getValue()) && settings;
	}

}
