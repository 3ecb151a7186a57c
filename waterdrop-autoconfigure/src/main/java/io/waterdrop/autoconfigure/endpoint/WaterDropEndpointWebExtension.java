package io.waterdrop.autoconfigure.endpoint;

import java.util.Set;

import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.boot.actuate.endpoint.Show;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.web.annotation.EndpointWebExtension;

import io.waterdrop.autoconfigure.endpoint.WaterDropEndpoint.WaterDropDescriptor;

/**
 * The {@link WaterDropEndpoint} over HTTP: the values of Kafka settings are shown as
 * {@code management.endpoint.waterdrop.show-values} allows for the requesting user, with
 * {@code when-authorized} an authenticated user in one of {@code management.endpoint.waterdrop.roles} (any
 * authenticated user when no role is given), as for Boot's {@code configprops} and {@code env} endpoints.
 */
@EndpointWebExtension(endpoint = WaterDropEndpoint.class)
public class WaterDropEndpointWebExtension {

	private final WaterDropEndpoint delegate;

	private final Show showValues;

	private final Set<String> roles;

	/**
	 * Creates the extension.
	 * @param delegate the endpoint
	 * @param showValues when to show the values of Kafka settings
	 * @param roles roles a user needs for {@link Show#WHEN_AUTHORIZED}; none means any authenticated user
	 */
	public WaterDropEndpointWebExtension(WaterDropEndpoint delegate, Show showValues, Set<String> roles) {
		this.delegate = delegate;
		this.showValues = showValues;
		this.roles = roles;
	}

	@ReadOperation
	public WaterDropDescriptor waterdrop(SecurityContext securityContext) {
		return this.delegate.waterdrop(this.showValues.isShown(securityContext, this.roles));
	}

}
