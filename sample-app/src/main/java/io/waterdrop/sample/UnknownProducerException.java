package io.waterdrop.sample;

import java.util.Set;

import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.WaterDropProducers;

/**
 * A request named a producer the application does not have; answered with 404 by {@link ProblemDetails}.
 */
class UnknownProducerException extends RuntimeException {

	private static final long serialVersionUID = 1L;

	private final String producer;

	private final Set<String> known;

	UnknownProducerException(String producer, Set<String> known) {
		super("No producer named '" + producer + "'; known producers: " + known);
		this.producer = producer;
		this.known = Set.copyOf(known);
	}

	/** The producer of that name, or an {@link UnknownProducerException}. */
	static Producer lookup(WaterDropProducers producers, String name) {
		Producer producer = producers.asMap().get(name);
		if (producer == null) {
			throw new UnknownProducerException(name, producers.asMap().keySet());
		}
		return producer;
	}

	String producer() {
		return this.producer;
	}

	Set<String> known() {
		return this.known;
	}

}
