package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.ToIntFunction;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.record.AbstractRecords;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.utils.Utils;

import io.waterdrop.InvalidMessageException.Violation;

/**
 * Validates a {@link Message} and turns it into the Kafka record to send, so that an invalid message is
 * refused before anything is queued. Stateless apart from its settings and the last checked topic name;
 * thread-safe if the serializers are.
 */
final class MessageEncoder {

	/**
	 * More than a record batch's and one record's overhead without headers (61 + 21 bytes): a record whose key
	 * and payload leave this much room under the limit needs no exact estimate.
	 */
	private static final int RECORD_OVERHEAD_BOUND = 128;

	private static final int MAX_TOPIC_LENGTH = 249;

	private final Serializer<Object> keySerializer;

	private final Serializer<Object> payloadSerializer;

	/** Whether both serializers ignore headers (WaterDrop's own): then a message without headers needs none. */
	private final boolean headerFreeSerializers;

	/** Whether a default serializer hands other values than String and byte[] to one that may add headers. */
	private final boolean keyOthers;

	private final boolean payloadOthers;

	private final int maxPayloadSize;

	/** Largest record Kafka's client sends (a larger one fails with RecordTooLargeException after queueing). */
	private final long maxRecordSize;

	/** Partition count of a topic; may block for metadata the first time a topic is seen. */
	private final ToIntFunction<String> partitionCount;

	/**
	 * The last topic name that passed {@link #checkTopic}: a producer mostly sends to one topic, whose name
	 * then is checked once, not per message. A racy single-entry cache is enough: a {@code String} is
	 * immutable and safely published, and a miss only repeats the check.
	 */
	private String checkedTopic;

	/** The Kafka setting that sets {@link #maxRecordSize}, the smaller of the two. */
	private final String maxRecordSizeSetting;

	@SuppressWarnings("unchecked")
	MessageEncoder(ProducerConfig config, ToIntFunction<String> partitionCount) {
		this.keySerializer = (Serializer<Object>) config.keySerializer();
		this.payloadSerializer = (Serializer<Object>) config.payloadSerializer();
		this.headerFreeSerializers = this.keySerializer instanceof DefaultSerializer
				&& this.payloadSerializer instanceof DefaultSerializer;
		this.keyOthers = this.keySerializer instanceof DefaultSerializer serializer && serializer.hasOthers();
		this.payloadOthers = this.payloadSerializer instanceof DefaultSerializer serializer && serializer.hasOthers();
		this.maxPayloadSize = config.maxPayloadSize();
		long maxRequestSize = setting(config.kafka(), "max.request.size", ConfigDef.Type.INT, 1_048_576);
		long bufferMemory = setting(config.kafka(), "buffer.memory", ConfigDef.Type.LONG, 33_554_432);
		this.maxRecordSize = Math.min(maxRequestSize, bufferMemory);
		this.maxRecordSizeSetting = (maxRequestSize <= bufferMemory) ? "max.request.size" : "buffer.memory";
		this.partitionCount = partitionCount;
	}

	/** A numeric Kafka setting; an unparsable one is left for Kafka's client to report when it is created. */
	private static long setting(Map<String, Object> kafka, String name, ConfigDef.Type type, long defaultValue) {
		Object value = kafka.get(name);
		if (value == null) {
			return defaultValue;
		}
		try {
			return ((Number) ConfigDef.parseType(name, value, type)).longValue();
		}
		catch (ConfigException ex) {
			return defaultValue;
		}
	}

	/** Checks everything that needs no broker; the cheap part, done for a whole batch before sending any. */
	ProducerRecord<byte[], byte[]> encode(Message message) {
		if (message == null) {
			throw new InvalidMessageException(Violation.MESSAGE_MISSING, null, "Message is null");
		}
		String topic = message.topic();
		if (topic != this.checkedTopic || topic == null) {
			checkTopic(message, topic);
			this.checkedTopic = topic;
		}
		RecordHeaders headers = null;
		if (!message.headers().isEmpty() || !this.headerFreeSerializers || othersMayAddHeaders(message)) {
			// Serializers may add headers (type information): they get a record's own headers to add to.
			headers = new RecordHeaders();
			for (Message.Header header : message.headers()) {
				if (header == null || header.key() == null) {
					throw invalid(Violation.HEADER_KEY_MISSING, message, "has a header without a key");
				}
				headers.add(header.key(), header.value());
			}
		}
		byte[] key = serialize(this.keySerializer, message, topic, headers, message.key(), "key");
		byte[] payload = serialize(this.payloadSerializer, message, topic, headers, message.payload(), "payload");
		if (payload == null && key == null) {
			throw invalid(Violation.TOMBSTONE_WITHOUT_KEY, message,
					"has a null payload (a tombstone) but no key; compaction needs the key to delete");
		}
		if (payload != null && payload.length > this.maxPayloadSize) {
			throw invalid(Violation.PAYLOAD_TOO_LARGE, message, "has a payload of " + payload.length
					+ " bytes, over max-payload-size " + this.maxPayloadSize + " bytes");
		}
		checkRecordSize(message, key, payload, headers);
		if (message.partition() != null && message.partitionKey() != null) {
			throw invalid(Violation.PARTITION_CONFLICT, message,
					"sets both partition and partitionKey; set one of them");
		}
		if (message.partition() != null && message.partition() < 0) {
			throw invalid(Violation.PARTITION_OUT_OF_RANGE, message,
					"has partition " + message.partition() + "; partitions start at 0");
		}
		Long timestamp = timestamp(message);
		return new ProducerRecord<>(topic, message.partition(), timestamp, key, payload, headers);
	}

	/** Whether a key or payload goes to a default serializer's serializer for other values (JSON, say). */
	private boolean othersMayAddHeaders(Message message) {
		return (this.payloadOthers && !DefaultSerializer.writesItself(message.payload()))
				|| (this.keyOthers && !DefaultSerializer.writesItself(message.key()));
	}

	/**
	 * Refuses what {@code KafkaProducer.send} would fail after queueing: a record over the size it sends. The
	 * exact estimate (the one Kafka makes) is needed only near the limit or with headers.
	 */
	private void checkRecordSize(Message message, byte[] key, byte[] payload, RecordHeaders headers) {
		int keySize = (key != null) ? key.length : 0;
		int payloadSize = (payload != null) ? payload.length : 0;
		if (headers == null && (long) keySize + payloadSize + RECORD_OVERHEAD_BOUND <= this.maxRecordSize) {
			return;
		}
		Header[] headerArray = (headers != null) ? headers.toArray() : Record.EMPTY_HEADERS;
		int recordSize = AbstractRecords.estimateSizeInBytesUpperBound(RecordBatch.CURRENT_MAGIC_VALUE,
				CompressionType.NONE, key, payload, headerArray);
		if (recordSize > this.maxRecordSize) {
			throw invalid(Violation.RECORD_TOO_LARGE, message, "would be a record of " + recordSize + " bytes (key "
					+ keySize + " bytes, payload " + payloadSize + " bytes, " + headerArray.length
					+ " header(s)), over the " + this.maxRecordSize + " bytes Kafka's client sends ("
					+ this.maxRecordSizeSetting + "); shorten the " + largestPart(keySize, payloadSize, recordSize)
					+ " or raise " + this.maxRecordSizeSetting);
		}
	}

	/**
	 * Checks the size of a record again after an observer added headers to it (a trace context), as Kafka's
	 * client measures the record it is given, headers and all. A bound first, as for records without headers:
	 * the exact estimate (which copies the headers) only near the limit.
	 */
	void checkObservedRecordSize(Message message, ProducerRecord<byte[], byte[]> record) {
		long bound = (long) length(record.key()) + length(record.value()) + RECORD_OVERHEAD_BOUND;
		for (Header header : record.headers()) {
			// A header's two varint lengths take at most 10 bytes; its key at most 3 bytes a char in UTF-8.
			bound += 10 + 3L * header.key().length() + length(header.value());
		}
		if (bound > this.maxRecordSize) {
			checkRecordSize(message, record.key(), record.value(), (RecordHeaders) record.headers());
		}
	}

	private static int length(byte[] bytes) {
		return (bytes != null) ? bytes.length : 0;
	}

	/** What takes most of a record: the payload, the key, or the headers (and the record's own overhead). */
	private static String largestPart(int keySize, int payloadSize, int recordSize) {
		int rest = recordSize - keySize - payloadSize;
		return (payloadSize >= keySize && payloadSize >= rest) ? "payload" : (keySize >= rest) ? "key" : "headers";
	}

	/**
	 * Hashes a partition key to one of the topic's partitions. An explicit partition is left to Kafka's send, as
	 * is a record without either: one beyond the partitions the client's metadata knows makes Kafka fetch newer
	 * metadata (the topic may have grown since), and fail the record after {@code max.block.ms} if it never comes.
	 * @throws DeliveryFailedException if Kafka could not tell the topic's partitions
	 */
	ProducerRecord<byte[], byte[]> resolvePartition(Message message, ProducerRecord<byte[], byte[]> record) {
		if (message.partitionKey() == null) {
			return record;
		}
		int partitions;
		try {
			partitions = this.partitionCount.applyAsInt(record.topic());
		}
		catch (InterruptException ex) { // the caller's interrupt (flag set), not the topic's fault
			throw new WaterDropException("Interrupted while Kafka's client looked up the partitions of topic '"
					+ record.topic() + "'; the message was not sent", ex);
		}
		catch (KafkaException ex) { // partitionsFor timed out: no such topic, or no broker to tell
			throw new DeliveryFailedException("Kafka could not tell the partitions of topic '" + record.topic()
					+ "', which a message with a partition key needs; the message was not sent: "
					+ ex.getMessage(), message, ex);
		}
		if (partitions < 1) {
			throw new WaterDropException("Topic '" + record.topic() + "' has no known partitions; create it first");
		}
		int partition = partitionForKey(message.partitionKey(), partitions);
		return new ProducerRecord<>(record.topic(), partition, record.timestamp(), record.key(), record.value(),
				record.headers());
	}

	/** The partition Kafka's default partitioner gives a record with this key: murmur2 of its bytes. */
	static int partitionForKey(String partitionKey, int partitions) {
		byte[] bytes = partitionKey.getBytes(StandardCharsets.UTF_8);
		return Utils.toPositive(Utils.murmur2(bytes)) % partitions;
	}

	private static void checkTopic(Message message, String topic) {
		if (topic == null || topic.isBlank()) {
			throw new InvalidMessageException(Violation.TOPIC_MISSING, message,
					"Message has no topic (it is " + ((topic == null) ? "null" : "blank") + ")");
		}
		if (topic.length() > MAX_TOPIC_LENGTH || topic.equals(".") || topic.equals("..") || !legalCharacters(topic)) {
			throw invalid(Violation.TOPIC_ILLEGAL, message, "has an illegal topic name '" + abbreviate(topic)
					+ "': up to 249 of [a-zA-Z0-9._-], not '.' or '..'");
		}
		if (topic.startsWith("__") && (Topic.isInternal(topic) || topic.equals(Topic.CLUSTER_METADATA_TOPIC_NAME))) {
			// The broker refuses every client's append to these, after the message was queued.
			throw invalid(Violation.TOPIC_ILLEGAL, message, "is to one of Kafka's internal topics, which only the "
					+ "broker itself writes to");
		}
	}

	/** Whether every character is one of [a-zA-Z0-9._-]; a loop, as a regex match allocates per call. */
	private static boolean legalCharacters(String topic) {
		for (int i = 0; i < topic.length(); i++) {
			char c = topic.charAt(i);
			boolean legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
					|| c == '_' || c == '-';
			if (!legal) {
				return false;
			}
		}
		return true;
	}

	private static byte[] serialize(Serializer<Object> serializer, Message message, String topic,
			RecordHeaders headers, Object value, String what) {
		try {
			return serializer.serialize(topic, headers, value);
		}
		catch (RuntimeException ex) {
			InvalidMessageException refused = new InvalidMessageException(Violation.NOT_SERIALIZABLE, message,
					"Message to '" + topic + "' has a " + what + " that cannot be serialized: " + describe(ex));
			refused.initCause(ex);
			throw refused;
		}
	}

	/** The serializer's message and, when it wraps another, the root cause's (Jackson's reason, say). */
	private static String describe(RuntimeException ex) {
		Throwable root = ex;
		while (root.getCause() != null && root.getCause() != root) {
			root = root.getCause();
		}
		return (root == ex || root.getMessage() == null) ? ex.getMessage()
				: ex.getMessage() + " (" + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
	}

	private static Long timestamp(Message message) {
		if (message.timestamp() == null) {
			return null;
		}
		try {
			long millis = message.timestamp().toEpochMilli();
			if (millis >= 0) {
				return millis;
			}
		}
		catch (ArithmeticException ex) {
			// beyond a long of milliseconds: reported below
		}
		throw invalid(Violation.TIMESTAMP_OUT_OF_RANGE, message,
				"has timestamp " + message.timestamp() + "; Kafka stores milliseconds from 1970 up to year 292278994");
	}

	private static InvalidMessageException invalid(Violation violation, Message message, String problem) {
		return new InvalidMessageException(violation, message,
				"Message to '" + abbreviate(message.topic()) + "' " + problem);
	}

	private static String abbreviate(String text) {
		return (text.length() <= 80) ? text : text.substring(0, 77) + "...";
	}

}
