package io.waterdrop;

import java.nio.charset.StandardCharsets;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/** Writes {@code String} as UTF-8 and {@code byte[]} as is; refuses anything else by naming its type. */
final class DefaultSerializer implements Serializer<Object> {

	@Override
	public byte[] serialize(String topic, Object data) {
		if (data == null) {
			return null;
		}
		if (data instanceof byte[] bytes) {
			return bytes;
		}
		if (data instanceof String text) {
			return text.getBytes(StandardCharsets.UTF_8);
		}
		throw new SerializationException("the default serializer writes String and byte[] only, not "
				+ data.getClass().getName() + "; configure a serializer for it");
	}

}
