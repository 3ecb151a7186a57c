package io.waterdrop;

import org.apache.kafka.common.serialization.Serializer;

/** Key and payload serializers for {@link ProducerConfig.Builder#keySerializer} and {@code payloadSerializer}. */
public final class Serializers {

	private Serializers() {
	}

	/** WaterDrop's default: {@code String} as UTF-8, {@code byte[]} as is, anything else refused. */
	public static Serializer<Object> defaults() {
		return new DefaultSerializer();
	}

	/**
	 * {@code String} as UTF-8 and {@code byte[]} as is, as by default, and anything else with {@code others}
	 * (a JSON serializer, say), which gets the record's headers to add to (type headers). Messages whose key
	 * and payload are strings or bytes stay as cheap as with the default: no record headers are made for
	 * them.
	 */
	@SuppressWarnings("unchecked")
	public static Serializer<Object> defaultsOr(Serializer<?> others) {
		if (others == null) {
			throw new IllegalArgumentException("others must not be null; use defaults() for none");
		}
		return new DefaultSerializer((Serializer<Object>) others);
	}

}
