package io.waterdrop.autoconfigure;

import java.util.Set;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.BeanUtils;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.PropertySourcesPlaceholdersResolver;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.convert.ApplicationConversionService;
import org.springframework.core.convert.TypeDescriptor;
import org.springframework.core.convert.converter.GenericConverter;
import org.springframework.core.env.Environment;
import org.springframework.util.StringUtils;

import io.waterdrop.autoconfigure.WaterDropProperties.PollerProperties;
import io.waterdrop.autoconfigure.WaterDropProperties.ProducerProperties;

/**
 * Binds a {@code waterdrop.pollers} or {@code waterdrop.producers} entry written without settings (an
 * empty value, {@code critical:} in YAML) to an entry with all defaults, where Spring Boot would fail to
 * convert the empty string. An empty YAML map ({@code critical: {}}) cannot be supported: Spring Boot's YAML
 * loader drops it, so it defines nothing.
 */
final class EmptyEntryConverter implements GenericConverter {

	/** A binder for reading {@code waterdrop.*} before the properties bean exists, with this converter. */
	static Binder binder(Environment environment) {
		ApplicationConversionService conversionService = new ApplicationConversionService();
		conversionService.addConverter(new EmptyEntryConverter());
		return new Binder(ConfigurationPropertySources.get(environment),
				new PropertySourcesPlaceholdersResolver(environment), conversionService);
	}

	@Override
	public Set<ConvertiblePair> getConvertibleTypes() {
		return Set.of(new ConvertiblePair(String.class, PollerProperties.class),
				new ConvertiblePair(String.class, ProducerProperties.class));
	}

	@Override
	public Object convert(@Nullable Object source, TypeDescriptor sourceType, TypeDescriptor targetType) {
		if (StringUtils.hasText((String) source)) {
			throw new IllegalArgumentException(
					"an entry takes settings such as poll-timeout or kafka.acks, not the value '" + source + "'");
		}
		return BeanUtils.instantiateClass(targetType.getType());
	}

}
