package io.waterdrop;

/**
 * A producer was not created because its name is taken: by another producer of the same
 * {@link ProducerRegistry} (or, in the Spring starter, by a bean of the application context). The producer
 * holding the name is left as it was.
 */
public class ProducerNameInUseException extends IllegalStateException {

	private static final long serialVersionUID = 1L;

	private final String name;

	public ProducerNameInUseException(String name, String message) {
		super(message);
		this.name = name;
	}

	/** The name asked for. */
	public String name() {
		return this.name;
	}

}
