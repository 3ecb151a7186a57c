package io.waterdrop;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A message to produce. Immutable; build one with {@link #builder(String)} or {@link #of(String, Object)}.
 * <p>
 * {@code payload} and {@code key} are serialized by the producer's serializers (by default {@code String}
 * as UTF-8 and {@code byte[]} as is). A {@code null} payload is a tombstone and needs a key.
 * {@code partition} picks a partition explicitly; {@code partitionKey} instead picks one by hashing the
 * key's UTF-8 bytes the way Kafka's default partitioner hashes record keys (murmur2), without changing
 * the record key. {@code label} is any object of yours, never sent to Kafka, handed back untouched in the
 * delivery report and in events about this message.
 * <p>
 * Nothing is checked here: a producer validates a message before it queues anything and refuses an invalid
 * one with an {@link InvalidMessageException} naming the problem.
 */
public record Message(String topic, Object payload, Object key, Integer partition, String partitionKey,
		List<Header> headers, Instant timestamp, Object label) {

	public Message {
		// Not List.copyOf: a null header must reach the producer's check, which names the problem.
		headers = (headers == null || headers.isEmpty()) ? List.of()
				: java.util.Collections.unmodifiableList(new ArrayList<>(headers));
	}

	/** A message with only a topic and a payload. */
	public static Message of(String topic, Object payload) {
		return new Message(topic, payload, null, null, null, List.of(), null, null); // no builder per message
	}

	/** A tombstone: no payload, so that log compaction deletes the key. */
	public static Message tombstone(String topic, Object key) {
		return builder(topic).key(key).build();
	}

	/** A builder for a message to the given topic. */
	public static Builder builder(String topic) {
		return new Builder(topic);
	}

	/** A builder starting from this message's values. */
	public Builder toBuilder() {
		Builder builder = new Builder(this.topic).payload(this.payload)
			.key(this.key)
			.partition(this.partition)
			.partitionKey(this.partitionKey)
			.timestamp(this.timestamp)
			.label(this.label);
		builder.headers.addAll(this.headers);
		return builder;
	}

	/** A record header; Kafka allows several headers with one key. */
	public record Header(String key, byte[] value) {

		/** A header whose value is the UTF-8 bytes of a string. */
		public static Header of(String key, String value) {
			return new Header(key, (value != null) ? value.getBytes(java.nio.charset.StandardCharsets.UTF_8) : null);
		}

	}

	/** Builds a {@link Message}. Not thread-safe. */
	public static final class Builder {

		private String topic;

		private Object payload;

		private Object key;

		private Integer partition;

		private String partitionKey;

		private final List<Header> headers = new ArrayList<>();

		private Instant timestamp;

		private Object label;

		private Builder(String topic) {
			this.topic = topic;
		}

		public Builder topic(String topic) {
			this.topic = topic;
			return this;
		}

		public Builder payload(Object payload) {
			this.payload = payload;
			return this;
		}

		public Builder key(Object key) {
			this.key = key;
			return this;
		}

		public Builder partition(Integer partition) {
			this.partition = partition;
			return this;
		}

		public Builder partitionKey(String partitionKey) {
			this.partitionKey = partitionKey;
			return this;
		}

		public Builder header(String key, String value) {
			this.headers.add(Header.of(key, value));
			return this;
		}

		public Builder header(String key, byte[] value) {
			this.headers.add(new Header(key, value));
			return this;
		}

		public Builder timestamp(Instant timestamp) {
			this.timestamp = timestamp;
			return this;
		}

		public Builder label(Object label) {
			this.label = label;
			return this;
		}

		public Message build() {
			return new Message(this.topic, this.payload, this.key, this.partition, this.partitionKey, this.headers,
					this.timestamp, this.label);
		}

	}

}
