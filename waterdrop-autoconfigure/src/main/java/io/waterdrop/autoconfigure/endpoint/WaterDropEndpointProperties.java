package io.waterdrop.autoconfigure.endpoint;

import java.util.HashSet;
import java.util.Set;

import org.springframework.boot.actuate.endpoint.Show;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Settings of the {@code waterdrop} Actuator endpoint, under Boot's {@code management.endpoint.waterdrop}
 * prefix of that endpoint, as {@code management.endpoint.configprops} and {@code management.endpoint.env}.
 */
@ConfigurationProperties("management.endpoint.waterdrop")
public class WaterDropEndpointProperties {

	/**
	 * When to show the values of the producers' Kafka settings; secrets are sanitized even then.
	 */
	private Show showValues = Show.NEVER;

	/**
	 * Roles used to determine whether a user is authorized to be shown the values of Kafka settings. When
	 * empty, all authenticated users are authorized.
	 */
	private final Set<String> roles = new HashSet<>();

	public Show getShowValues() {
		return this.showValues;
	}

	public void setShowValues(Show showValues) {
		this.showValues = showValues;
	}

	public Set<String> getRoles() {
		return this.roles;
	}

}
