package io.waterdrop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.InvalidMessageException.Violation;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.Poller;
import io.waterdrop.testing.KafkaTestBroker;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Thousands of generated messages, valid ones with hostile-but-legal content (empty and maximal payloads,
 * any Unicode in keys and headers, null header values, a 249-character topic, sub-millisecond timestamps)
 * and invalid ones (null, blank, overlong and illegal topics, payloads and keys too large, unserializable
 * types, null header keys, negative and out-of-range partitions, partition with partitionKey, timestamps out
 * of range, null messages and lists), handed over through every produce call. Each invalid one is refused
 * before anything is queued with the {@link Violation} it commits; each valid one is delivered intact
 * (read back from the broker and compared field by field). Afterwards the producer and the Poller work as
 * before.
 * <p>
 * What only the broker can judge is tested apart: a timestamp beyond the topic's
 * {@code message.timestamp.after.max.ms} (one hour by default since Kafka 4.0) is valid for WaterDrop and
 * Kafka's client, and the broker fails it with {@link InvalidTimestampException} — together with every other
 * message of its batch, which is why it is not mixed into the generated stream.
 * <p>
 * The generator is seeded: the seed is printed, and {@code -Dwaterdrop.hostile.seed=<seed>} replays a run.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class HostileInputTests {

	private static final int MAX_PAYLOAD = 20_000;

	/** Kafka's own limit on a whole record (key, payload, headers, overhead), set low to keep the test light. */
	private static final int MAX_REQUEST_SIZE = 100_000;

	private static final int PARTITIONS = 3;

	private static final int CASES = 3_000;

	private static final char[] ILLEGAL_IN_TOPICS = { ' ', '/', '\\', ':', '*', '?', '#', '@', '+', ',', '\u0000',
			'\n', 'é', 'ß', '漢', '\u00a0', '\u200b' };

	private final TestProducers producers = new TestProducers();

	private String topic;

	private String longTopic;

	private Map<String, Integer> partitions;

	private Producer producer;

	private final List<ProducerEvent.ErrorOccurred> errors = new CopyOnWriteArrayList<>();

	@BeforeAll
	void createTopicsAndProducer() {
		this.topic = KafkaTestBroker.uniqueTopic("hostile");
		KafkaTestBroker.createTopic(this.topic, PARTITIONS);
		String prefix = KafkaTestBroker.uniqueTopic("hostile-long") + "-";
		// The longest legal topic name.
		this.longTopic = prefix + "x".repeat(249 - prefix.length());
		KafkaTestBroker.createTopic(this.longTopic, 1);
		this.partitions = Map.of(this.topic, PARTITIONS, this.longTopic, 1);
		this.producer = this.producers.create(TestProducers.config("hostile")
			.maxPayloadSize(MAX_PAYLOAD)
			.kafka(org.apache.kafka.clients.producer.ProducerConfig.MAX_REQUEST_SIZE_CONFIG, MAX_REQUEST_SIZE)
			.kafka(org.apache.kafka.clients.producer.ProducerConfig.LINGER_MS_CONFIG, 5));
		this.producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, this.errors::add);
		this.producer.produceSync(Message.of(this.topic, "warm-up"));
		this.producer.produceSync(Message.of(this.longTopic, "warm-up"));
	}

	@AfterAll
	void closeProducer() {
		this.producers.closeAll();
	}

	@Test
	void randomAndHostileMessagesAreRefusedWithTheirViolationOrDeliveredIntact() throws Exception {
		long seed = Long.getLong("waterdrop.hostile.seed", System.nanoTime());
		System.out.println("HostileInputTests seed " + seed + " (replay with -Dwaterdrop.hostile.seed=" + seed + ")");
		try {
			run(new Random(seed));
		}
		catch (AssertionError | RuntimeException ex) {
			throw new AssertionError("Hostile input run with seed " + seed + " (replay with -Dwaterdrop.hostile.seed="
					+ seed + "): " + ex.getMessage(), ex);
		}
	}

	@Test
	void farFutureTimestampIsJudgedByTheBrokerAndTheProducerCarriesOn() {
		// A topic of its own: the generated run reads its topics back and counts their records.
		String future = KafkaTestBroker.uniqueTopic("hostile-future");
		KafkaTestBroker.createTopic(future, 1);
		for (Instant timestamp : List.of(Instant.ofEpochMilli(Long.MAX_VALUE), Instant.now().plus(Duration.ofDays(2)))) {
			Message message = Message.builder(future).payload("from the future").timestamp(timestamp).label(timestamp).build();
			long acceptedBefore = this.producer.stats().producedSync();
			long failedBefore = this.producer.stats().failed();
			try {
				DeliveryReport report = this.producer.produceSync(message);
				// A broker configured to allow it stores it as it is.
				assertThat(report.timestamp()).isEqualTo(Instant.ofEpochMilli(timestamp.toEpochMilli()));
			}
			catch (DeliveryFailedException ex) {
				assertThat(ex).hasRootCauseInstanceOf(InvalidTimestampException.class);
				assertThat(ex.label()).isEqualTo(timestamp);
				// Counted before produceSync throws.
				assertThat(this.producer.stats().failed()).isEqualTo(failedBefore + 1);
			}
			// Accepted (not refused before queueing) and ended in exactly one outcome.
			assertThat(this.producer.stats().producedSync()).isEqualTo(acceptedBefore + 1);
			org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> this.producer.inFlight() == 0);
			assertThat(this.producer.produceSync(Message.of(future, "after a future timestamp")).topic())
				.isEqualTo(future);
		}
	}

	private void run(Random random) throws Exception {
		long loopErrorsBefore = Poller.global().stats().loopErrors();
		long acceptedBefore = this.producer.stats().producedSync() + this.producer.stats().producedAsync();
		this.errors.clear();
		List<Case> cases = new ArrayList<>();
		for (int i = 0; i < CASES; i++) {
			cases.add(generate(random, "case-" + i));
		}
		Map<String, Case> byLabel = cases.stream()
			.filter((c) -> c.message() != null)
			.collect(Collectors.toMap(Case::label, (c) -> c));
		Map<String, DeliveryHandle> asyncHandles = new ConcurrentHashMap<>();
		Map<String, Object> outcomes = new ConcurrentHashMap<>();
		Map<Violation, Integer> refusedBy = new java.util.TreeMap<>();
		// Valid messages handed over alone or in a batch without an invalid one; the rest went down with theirs.
		Set<String> accepted = ConcurrentHashMap.newKeySet();
		int refusals = 0;
		long producedMillis = System.currentTimeMillis();
		int index = 0;
		while (index < cases.size()) {
			int call = random.nextInt(100);
			if (call < 20) {
				// A batch: one invalid message refuses all of them, and nothing of it is sent.
				List<Case> batch = cases.subList(index, Math.min(cases.size(), index + 2 + random.nextInt(5)));
				index += batch.size();
				boolean sync = random.nextBoolean();
				Set<Violation> expected = EnumSet.noneOf(Violation.class);
				batch.forEach((c) -> expected.addAll(c.violations()));
				List<Message> messages = batch.stream().map(Case::message).toList();
				Optional<Violation> refused = refusal(() -> {
					if (sync) {
						List<DeliveryReport> reports = this.producer.produceManySync(new ArrayList<>(messages));
						reports.forEach((report) -> outcomes.put((String) report.label(), report));
					}
					else {
						List<DeliveryHandle> handles = this.producer.produceManyAsync(new ArrayList<>(messages));
						handles.forEach((handle) -> asyncHandles.put((String) handle.label(), handle));
					}
				}, batch);
				if (expected.isEmpty()) {
					assertThat(refused).as("batch of valid %s", batch).isEmpty();
					batch.forEach((c) -> accepted.add(c.label()));
				}
				else {
					assertThat(refused).as("batch with %s", batch).isPresent();
					assertThat(expected).as("violation for batch %s", batch).contains(refused.get());
					refusedBy.merge(refused.get(), 1, Integer::sum);
					refusals++;
				}
				continue;
			}
			Case current = cases.get(index++);
			boolean sync = call < 35;
			Optional<Violation> refused = refusal(() -> {
				if (sync) {
					try {
						outcomes.put(current.label(), this.producer.produceSync(current.message()));
					}
					catch (DeliveryFailedException ex) {
						outcomes.put(current.label(), ex);
					}
				}
				else {
					asyncHandles.put(current.label(), this.producer.produceAsync(current.message(),
							(report, failure) -> outcomes.put(current.label(), (report != null) ? report : failure)));
				}
			}, List.of(current));
			if (current.violations().isEmpty()) {
				assertThat(refused).as("valid %s", current).isEmpty();
				accepted.add(current.label());
			}
			else {
				assertThat(refused).as("%s", current).isPresent();
				assertThat(current.violations()).as("violation for %s", current).contains(refused.get());
				refusedBy.merge(refused.get(), 1, Integer::sum);
				refusals++;
			}
		}
		// A null list and an empty one.
		for (boolean sync : new boolean[] { true, false }) {
			Optional<Violation> refused = refusal(
					() -> (sync ? (Runnable) () -> this.producer.produceManySync(null)
							: (Runnable) () -> this.producer.produceManyAsync(null)).run(),
					List.of());
			assertThat(refused).contains(Violation.MESSAGE_MISSING);
			refusals++;
			assertThat(sync ? this.producer.produceManySync(List.of()) : this.producer.produceManyAsync(List.of()))
				.isEmpty();
		}

		// Every accepted message gets its outcome.
		for (DeliveryHandle handle : asyncHandles.values()) {
			try {
				handle.await(Duration.ofSeconds(60));
			}
			catch (DeliveryFailedException ex) {
				// judged below
			}
		}
		org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> this.producer.inFlight() == 0);
		asyncHandles.forEach((label, handle) -> outcomes.computeIfAbsent(label, (key) -> outcome(handle)));

		List<Case> valid = cases.stream().filter((c) -> accepted.contains(c.label())).toList();
		assertThat(outcomes.keySet()).as("outcomes only for accepted messages").isSubsetOf(accepted);
		assertThat(this.producer.stats().producedSync() + this.producer.stats().producedAsync())
			.as("accepted by the producer").isEqualTo(acceptedBefore + valid.size());
		Map<String, List<Case>> delivered = new HashMap<>();
		for (Case expected : valid) {
			Object outcome = outcomes.get(expected.label());
			assertThat(outcome).as("outcome of valid %s", expected).isNotNull();
			assertThat(outcome).as("outcome of valid %s", expected).isInstanceOf(DeliveryReport.class);
			DeliveryReport report = (DeliveryReport) outcome;
			assertThat(report.label()).isEqualTo(expected.label());
			assertThat(report.topic()).isEqualTo(expected.message().topic());
			delivered.computeIfAbsent(report.topic(), (key) -> new ArrayList<>()).add(expected);
		}
		Map<String, DeliveryReport> reports = new HashMap<>();
		outcomes.forEach((label, outcome) -> {
			if (outcome instanceof DeliveryReport report) {
				reports.put(label, report);
			}
		});
		// Read back: the topics hold the valid messages, intact, and nothing else.
		for (String written : List.of(this.topic, this.longTopic)) {
			List<Case> expected = delivered.getOrDefault(written, List.of());
			List<ConsumerRecord<byte[], byte[]>> records = KafkaTestBroker.consume(written, expected.size() + 1,
					Duration.ofSeconds(60));
			Map<String, ConsumerRecord<byte[], byte[]>> byPosition = new HashMap<>();
			for (ConsumerRecord<byte[], byte[]> record : records) {
				byPosition.put(record.partition() + "@" + record.offset(), record);
			}
			for (Case sent : expected) {
				DeliveryReport report = reports.get(sent.label());
				ConsumerRecord<byte[], byte[]> record = byPosition.get(report.partition() + "@" + report.offset());
				assertThat(record).as("record of %s at %s", sent, report).isNotNull();
				assertIntact(sent, record, producedMillis);
			}
		}

		System.out.println("Hostile input: " + cases.size() + " messages, " + valid.size() + " valid ("
				+ "delivered intact), " + refusals + " refused calls by violation "
				+ refusedBy);
		assertThat(refusedBy.keySet()).as("violations exercised").containsAll(EnumSet.allOf(Violation.class));
		// Refusals are reported once each, nothing else went wrong, and the producer and Poller carry on.
		assertThat(this.errors).filteredOn((error) -> error.error() instanceof InvalidMessageException)
			.hasSize(refusals);
		assertThat(this.errors).filteredOn((error) -> !(error.error() instanceof InvalidMessageException)).isEmpty();
		assertThat(Poller.global().stats().loopErrors()).isEqualTo(loopErrorsBefore);
		assertThat(this.producer.status()).isEqualTo(ProducerStatus.CONNECTED);
		assertThat(this.producer.inFlight()).isZero();
		DeliveryReport after = this.producer.produceSync(Message.builder(this.topic).payload("after").label("after").build());
		assertThat(after.label()).isEqualTo("after");
		assertThat(this.producer.produceAsync(Message.of(this.longTopic, "after")).await(Duration.ofSeconds(30)).topic())
			.isEqualTo(this.longTopic);
	}

	/**
	 * Runs a produce call that must either succeed or throw {@link InvalidMessageException}; a refusal must
	 * leave the producer's counters alone and name the refused message.
	 */
	private Optional<Violation> refusal(Runnable call, List<Case> handed) {
		long producedBefore = this.producer.stats().producedSync() + this.producer.stats().producedAsync();
		try {
			call.run();
			return Optional.empty();
		}
		catch (InvalidMessageException ex) {
			assertThat(this.producer.stats().producedSync() + this.producer.stats().producedAsync())
				.as("messages accepted by a refused call").isEqualTo(producedBefore);
			assertThat(ex.getMessage()).isNotBlank();
			if (ex.violation() != Violation.MESSAGE_MISSING) {
				assertThat(handed.stream().map(Case::message).toList()).as("refused message").contains(ex.refused());
			}
			return Optional.of(ex.violation());
		}
	}

	private static Object outcome(DeliveryHandle handle) {
		try {
			return handle.await(Duration.ZERO);
		}
		catch (DeliveryFailedException ex) {
			return ex;
		}
	}

	private void assertIntact(Case sent, ConsumerRecord<byte[], byte[]> record, long producedMillis) {
		Message message = sent.message();
		assertThat(record.key()).as("key of %s", sent).isEqualTo(bytes(message.key()));
		assertThat(record.value()).as("payload of %s", sent).isEqualTo(bytes(message.payload()));
		List<String> sentHeaders = message.headers()
			.stream()
			.map((header) -> header.key() + "=" + Arrays.toString(header.value()))
			.toList();
		List<String> readHeaders = new ArrayList<>();
		for (Header header : record.headers()) {
			readHeaders.add(header.key() + "=" + Arrays.toString(header.value()));
		}
		assertThat(readHeaders).as("headers of %s", sent).isEqualTo(sentHeaders);
		if (message.partition() != null) {
			assertThat(record.partition()).as("partition of %s", sent).isEqualTo(message.partition());
		}
		if (message.partitionKey() != null) {
			int expected = Utils.toPositive(Utils.murmur2(message.partitionKey().getBytes(StandardCharsets.UTF_8)))
					% this.partitions.get(message.topic());
			assertThat(record.partition()).as("partition of %s by its partitionKey", sent).isEqualTo(expected);
		}
		assertThat(record.timestampType()).isEqualTo(TimestampType.CREATE_TIME);
		if (message.timestamp() != null) {
			assertThat(record.timestamp()).as("timestamp of %s", sent).isEqualTo(message.timestamp().toEpochMilli());
		}
		else {
			assertThat(record.timestamp()).as("timestamp given by the client to %s", sent)
				.isBetween(producedMillis - 1_000, System.currentTimeMillis() + 1_000);
		}
	}

	private static byte[] bytes(Object value) {
		if (value == null) {
			return null;
		}
		return (value instanceof byte[] raw) ? raw : ((String) value).getBytes(StandardCharsets.UTF_8);
	}

	// ---- generation --------------------------------------------------------------------------------------

	/**
	 * One generated message. {@code violations} is empty for a valid message, else the violations it commits
	 * (any of which the producer may name).
	 * that only the broker knows.
	 */
	record Case(String label, Message message, Set<Violation> violations, String description) {

		@Override
		public String toString() {
			return this.label + " (" + this.description + ")";
		}

	}

	/** A defect, and the part of the message it spoils (two defects of one case never spoil the same part). */
	private enum Defect {

		TOPIC_MISSING("topic"), TOPIC_ILLEGAL("topic"), PAYLOAD_TOO_LARGE("payload"), PAYLOAD_NOT_SERIALIZABLE(
				"payload"), KEY_NOT_SERIALIZABLE("key"), TOMBSTONE_WITHOUT_KEY("payload+key"), PARTITION_NEGATIVE(
						"partition"), PARTITION_CONFLICT(
								"partition"), HEADER_KEY_MISSING("headers"), TIMESTAMP_OUT_OF_RANGE(
										"timestamp"), KEY_TOO_LARGE("key"), HEADERS_TOO_LARGE("headers");

		final String part;

		Defect(String part) {
			this.part = part;
		}

	}

	private Case generate(Random random, String label) {
		int roll = random.nextInt(100);
		if (roll < 2) {
			return new Case(label, null, EnumSet.of(Violation.MESSAGE_MISSING), "null message");
		}
		Message.Builder builder = validBuilder(random).label(label);
		List<String> description = new ArrayList<>();
		Set<Violation> violations = EnumSet.noneOf(Violation.class);
		if (roll < 40) {
			description.add("valid");
		}
		else {
			List<Defect> defects = new ArrayList<>();
			defects.add(Defect.values()[random.nextInt(Defect.values().length)]);
			if (roll >= 90) {
				Defect second = Defect.values()[random.nextInt(Defect.values().length)];
				if (!second.part.contains(defects.get(0).part) && !defects.get(0).part.contains(second.part)) {
					defects.add(second);
				}
			}
			for (Defect defect : defects) {
				description.add(apply(defect, builder, random, violations));
			}
		}
		Message message = builder.build();
		description.add(summary(message));
		return new Case(label, message, violations, String.join(", ", description));
	}

	private Message.Builder validBuilder(Random random) {
		String target = (random.nextInt(7) == 0) ? this.longTopic : this.topic;
		Message.Builder builder = Message.builder(target);
		Object key = switch (random.nextInt(4)) {
			case 0 -> null;
			case 1 -> randomBytes(random, random.nextInt(50));
			default -> randomText(random, random.nextInt(30));
		};
		builder.key(key);
		int payloadRoll = random.nextInt(100);
		if (payloadRoll < 5 && key != null) {
			builder.payload(null); // a tombstone
		}
		else if (payloadRoll < 10) {
			builder.payload(new byte[0]);
		}
		else if (payloadRoll < 13) {
			builder.payload(randomBytes(random, MAX_PAYLOAD)); // exactly the limit
		}
		else if (payloadRoll < 50) {
			builder.payload(randomBytes(random, random.nextInt((random.nextInt(10) == 0) ? MAX_PAYLOAD : 2_000)));
		}
		else {
			builder.payload(randomText(random, random.nextInt(500)));
		}
		int partitionRoll = random.nextInt(10);
		if (partitionRoll < 2) {
			builder.partition(random.nextInt(this.partitions.get(target)));
		}
		else if (partitionRoll < 4) {
			builder.partitionKey(randomText(random, random.nextInt(20)));
		}
		for (int h = random.nextInt(5); h > 0; h--) {
			builder.header(randomText(random, random.nextInt(12)),
					random.nextInt(4) == 0 ? null : randomBytes(random, random.nextInt(40)));
		}
		switch (random.nextInt(10)) {
			case 0 -> builder.timestamp(Instant.EPOCH);
			case 1 -> builder.timestamp(Instant.ofEpochSecond(0, 500_000)); // under a millisecond after the epoch
			case 2, 3, 4 -> builder.timestamp(Instant.ofEpochSecond(946_684_800L + random.nextInt(800_000_000),
					random.nextInt(1_000_000_000)));
			case 5 -> builder.timestamp(Instant.now());
			default -> {
				// none: Kafka's client stamps it
			}
		}
		return builder;
	}

	private String apply(Defect defect, Message.Builder builder, Random random, Set<Violation> violations) {
		switch (defect) {
			case TOPIC_MISSING -> {
				String[] blanks = { null, "", " ", "\t", "\n  \r", "\u2003" };
				builder.topic(blanks[random.nextInt(blanks.length)]);
				violations.add(Violation.TOPIC_MISSING);
				return "missing topic";
			}
			case TOPIC_ILLEGAL -> {
				String name = switch (random.nextInt(5)) {
					case 0 -> random.nextBoolean() ? "." : "..";
					case 1 -> legalName(random, 250 + random.nextInt(2_000));
					case 2 -> " " + this.topic;
					case 3 -> randomText(random, 1 + random.nextInt(40)) + "\u0000";
					default -> {
						StringBuilder spoiled = new StringBuilder(legalName(random, 1 + random.nextInt(60)));
						spoiled.insert(random.nextInt(spoiled.length() + 1),
								ILLEGAL_IN_TOPICS[random.nextInt(ILLEGAL_IN_TOPICS.length)]);
						yield spoiled.toString();
					}
				};
				builder.topic(name);
				violations.add(name.isBlank() ? Violation.TOPIC_MISSING : Violation.TOPIC_ILLEGAL);
				return "illegal topic";
			}
			case PAYLOAD_TOO_LARGE -> {
				Object payload = switch (random.nextInt(4)) {
					case 0 -> new byte[MAX_PAYLOAD + 1];
					case 1 -> randomBytes(random, MAX_PAYLOAD + 1 + random.nextInt(50_000));
					case 2 -> (random.nextInt(10) == 0) ? new byte[5 * 1024 * 1024] : new byte[MAX_PAYLOAD * 2];
					// Fewer characters than the limit, more bytes: the limit is on the serialized size.
					default -> "é".repeat(MAX_PAYLOAD / 2 + 1 + random.nextInt(100));
				};
				builder.payload(payload);
				violations.add(Violation.PAYLOAD_TOO_LARGE);
				return "payload too large";
			}
			case PAYLOAD_NOT_SERIALIZABLE -> {
				builder.payload(unserializable(random));
				violations.add(Violation.NOT_SERIALIZABLE);
				return "unserializable payload";
			}
			case KEY_NOT_SERIALIZABLE -> {
				builder.key(unserializable(random));
				violations.add(Violation.NOT_SERIALIZABLE);
				return "unserializable key";
			}
			case TOMBSTONE_WITHOUT_KEY -> {
				builder.payload(null).key(null);
				violations.add(Violation.TOMBSTONE_WITHOUT_KEY);
				return "tombstone without key";
			}
			case PARTITION_NEGATIVE -> {
				int[] negatives = { -1, Integer.MIN_VALUE, -1 - random.nextInt(Integer.MAX_VALUE) };
				builder.partitionKey(null).partition(negatives[random.nextInt(negatives.length)]);
				violations.add(Violation.PARTITION_OUT_OF_RANGE);
				return "negative partition";
			}
			case PARTITION_CONFLICT -> {
				builder.partition(0).partitionKey(randomText(random, random.nextInt(10)));
				violations.add(Violation.PARTITION_CONFLICT);
				return "partition and partitionKey";
			}
			case HEADER_KEY_MISSING -> {
				builder.header(null, random.nextBoolean() ? null : randomBytes(random, 5));
				violations.add(Violation.HEADER_KEY_MISSING);
				return "null header key";
			}
			case TIMESTAMP_OUT_OF_RANGE -> {
				Instant[] outOfRange = { Instant.ofEpochMilli(-1), Instant.ofEpochMilli(-1 - random.nextInt(1_000_000)),
						Instant.ofEpochSecond(-1, 999_999_999), Instant.MIN, Instant.MAX,
						Instant.ofEpochSecond(Long.MAX_VALUE / 1000 + 1) };
				builder.timestamp(outOfRange[random.nextInt(outOfRange.length)]);
				violations.add(Violation.TIMESTAMP_OUT_OF_RANGE);
				return "timestamp out of range";
			}
			case KEY_TOO_LARGE -> {
				builder.key(random.nextBoolean() ? randomBytes(random, MAX_REQUEST_SIZE + random.nextInt(100_000))
						: "k".repeat((random.nextInt(10) == 0) ? 5 * 1024 * 1024 : MAX_REQUEST_SIZE + 1));
				violations.add(Violation.RECORD_TOO_LARGE);
				return "key too large for a record";
			}
			case HEADERS_TOO_LARGE -> {
				for (int h = 0; h < 3; h++) {
					builder.header("big-" + h, randomBytes(random, MAX_REQUEST_SIZE / 2));
				}
				violations.add(Violation.RECORD_TOO_LARGE);
				return "headers too large for a record";
			}
			default -> throw new IllegalStateException(defect.name());
		}
	}

	private static Object unserializable(Random random) {
		Object[] values = { 42, 42L, 3.14, new Object(), List.of("a"), new char[] { 'a' }, new StringBuilder("sb"),
				UUID.randomUUID(), Optional.of("x"), Map.of() };
		return values[random.nextInt(values.length)];
	}

	private static String legalName(Random random, int length) {
		String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
		StringBuilder name = new StringBuilder(length);
		for (int i = 0; i < length; i++) {
			name.append(alphabet.charAt(random.nextInt(alphabet.length())));
		}
		String result = name.toString();
		return (result.equals(".") || result.equals("..")) ? "x" + result : result;
	}

	private static byte[] randomBytes(Random random, int length) {
		byte[] bytes = new byte[length];
		random.nextBytes(bytes);
		return bytes;
	}

	/** Any valid code points: ASCII with control characters, Latin-1, CJK, emoji (surrogate pairs). */
	private static String randomText(Random random, int codePoints) {
		StringBuilder text = new StringBuilder();
		for (int i = 0; i < codePoints; i++) {
			int codePoint = switch (random.nextInt(5)) {
				case 0 -> random.nextInt(0x80);
				case 1 -> 0x80 + random.nextInt(0x780);
				case 2 -> 0x4e00 + random.nextInt(0x5000);
				case 3 -> 0x1f300 + random.nextInt(0x300);
				default -> 0x20 + random.nextInt(0x5f);
			};
			text.appendCodePoint(codePoint);
		}
		return text.toString();
	}

	private static String summary(Message message) {
		return "topic " + abbreviate(message.topic()) + ", payload " + describe(message.payload()) + ", key "
				+ describe(message.key()) + ", partition " + message.partition() + ", partitionKey "
				+ ((message.partitionKey() != null) ? message.partitionKey().length() + " chars" : "null") + ", "
				+ message.headers().size() + " header(s), timestamp " + message.timestamp();
	}

	private static String describe(Object value) {
		if (value == null) {
			return "null";
		}
		if (value instanceof byte[] bytes) {
			return bytes.length + " bytes";
		}
		if (value instanceof String text) {
			return text.length() + " chars";
		}
		return value.getClass().getSimpleName();
	}

	private static String abbreviate(String text) {
		if (text == null) {
			return "null";
		}
		String printable = text.replaceAll("\\p{Cntrl}", "?");
		return "'" + ((printable.length() <= 40) ? printable : printable.substring(0, 37) + "...") + "'";
	}

}
