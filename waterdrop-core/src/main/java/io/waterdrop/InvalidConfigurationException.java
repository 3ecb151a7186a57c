package io.waterdrop;

/**
 * A setting is invalid. {@link #property()} names it the way the configuration names it (e.g.
 * {@code polling.fd.max-time}), {@link #action()} says how to fix it.
 */
public class InvalidConfigurationException extends WaterDropException {

	private static final long serialVersionUID = 1L;

	private final String property;

	private final String action;

	public InvalidConfigurationException(String property, String description, String action) {
		super(property + ": " + description);
		this.property = property;
		this.action = action;
	}

	/** The invalid setting's name. */
	public String property() {
		return this.property;
	}

	/** What to change to fix it. */
	public String action() {
		return this.action;
	}

}
