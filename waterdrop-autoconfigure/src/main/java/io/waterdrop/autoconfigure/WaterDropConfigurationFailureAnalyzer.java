package io.waterdrop.autoconfigure;

import java.util.Locale;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.core.env.Environment;
import org.springframework.util.StringUtils;

import io.waterdrop.InvalidConfigurationException;

/**
 * Reports an {@link InvalidConfigurationException} as Boot reports its own configuration mistakes: the
 * property, its value and where it was set (when the environment has it), why it is wrong, how to fix it.
 */
class WaterDropConfigurationFailureAnalyzer extends AbstractFailureAnalyzer<InvalidConfigurationException> {

	private final @Nullable Environment environment;

	WaterDropConfigurationFailureAnalyzer(@Nullable Environment environment) {
		this.environment = environment;
	}

	@Override
	protected FailureAnalysis analyze(Throwable rootFailure, InvalidConfigurationException cause) {
		StringBuilder description = new StringBuilder("Invalid WaterDrop configuration:\n\n");
		description.append("    Property: ").append(cause.property()).append('\n');
		ConfigurationProperty property = find(cause.property());
		if (property != null) {
			Object value = isLikelySecret(cause.property()) ? "******" : property.getValue();
			description.append("    Value: \"").append(value).append("\"\n");
			if (property.getOrigin() != null) {
				description.append("    Origin: ").append(property.getOrigin()).append('\n');
			}
		}
		description.append("    Reason: ").append(ProducerAssembler.reason(cause));
		return new FailureAnalysis(description.toString(), cause.action(), cause);
	}

	/**
	 * Whether the property likely holds a secret, whose value the report must not show (a misplaced
	 * {@code sasl.jaas.config} is named as an unknown key): the keys Boot's endpoints sanitize, and Kafka's
	 * JAAS configuration, passphrases and schema-registry user info.
	 */
	static boolean isLikelySecret(String property) {
		String key = property.toLowerCase(Locale.ROOT);
		return key.endsWith("password") || key.endsWith("secret") || key.endsWith("key") || key.endsWith("token")
				|| key.contains("credentials") || key.endsWith("passphrase") || key.endsWith("jaas.config")
				|| key.endsWith("user.info");
	}

	/**
	 * The property as Boot's binding found it: adapted as a property source's key is, so that an entry named
	 * with capitals ({@code orderEvents}) or, in brackets, with a dot ({@code [tenant.eu]}) is found too. Not for
	 * a description such as {@code spring.kafka (Kafka's bootstrap.servers)}, whose stripped form is no key.
	 */
	private @Nullable ConfigurationProperty find(String property) {
		if (this.environment == null || StringUtils.containsWhitespace(property)) {
			return null;
		}
		ConfigurationPropertyName name = ConfigurationPropertyName.adapt(property, '.');
		for (ConfigurationPropertySource source : ConfigurationPropertySources.get(this.environment)) {
			ConfigurationProperty found = source.getConfigurationProperty(name);
			if (found != null) {
				return found;
			}
		}
		return null;
	}

}
