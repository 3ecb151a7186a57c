package io.waterdrop;

import java.nio.charset.StandardCharsets;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Writes {@code String} as UTF-8 and {@code byte[]} as is; anything else goes to the serializer for other
 * values if there is one ({@link Serializers#defaultsOr}), else is refused by naming its type. Writes no
 * headers for {@code String} and {@code byte[]}, so that {@link MessageEncoder} gives such messages none.
 */
final class DefaultSerializer implements Serializer<Object> {

	/** Serializes what is neither {@code String} nor {@code byte[]}; {@code null} refuses it. */
	private final Serializer<Object> others;

	DefaultSerializer() {
		this(null);
	}

	DefaultSerializer(Serializer<Object> others) {
		this.others = others;
	}

	/** Whether values other than {@code String} and {@code byte[]} are serialized (and may need headers). */
	boolean hasOthers() {
		return this.others != null;
	}

	/** Whether {@code data} is written by this serializer itself, without headers. */
	static boolean writesItself(Object data) {
		return data == null || data instanceof String || data instanceof byte[];
	}

	@Override
	public byte[] serialize(String topic, Object data) {
		return serialize(topic, null, data);
	}

	@Override
	public byte[] serialize(String topic, Headers headers, Object data) {
		if (data == null) {
			return null;
		}
		if (data instanceof byte[] bytes) {
			return bytes;
		}
		if (data instanceof String text) {
			return text.getBytes(StandardCharsets.UTF_8);
		}
		if (this.others != null) {
			return (headers != null) ? this.others.serialize(topic, headers, data) : this.others.serialize(topic, data);
		}
		throw new SerializationException("the default serializer writes String and byte[] only, not "
				+ data.getClass().getName() + "; configure a serializer for it");
	}

	@Override
	public void close() {
		if (this.others != null) {
			this.others.close();
		}
	}

}
