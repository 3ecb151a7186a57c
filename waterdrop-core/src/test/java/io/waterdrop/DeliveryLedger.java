package io.waterdrop;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.ProducerEvent;

/**
 * Books every message a test hands to a producer and every outcome the producer reports for it — through
 * the message's {@link DeliveryCallback} and through the terminal events ({@code message.acknowledged},
 * {@code message.purged}, {@code error.occurred} of type delivery) — so that a test can prove each accepted
 * message ended exactly once, in exactly one way, and that the producer's counters agree.
 * <p>
 * Threading: thread-safe; callbacks and listeners run on polling threads while producing threads book.
 */
final class DeliveryLedger {

	/** How a message ended. */
	enum Outcome {

		ACKNOWLEDGED, FAILED, PURGED

	}

	/** One message's page. */
	static final class Entry {

		final Object label;

		final long producedNanos;

		final AtomicInteger callbacks = new AtomicInteger();

		final AtomicInteger terminalEvents = new AtomicInteger();

		volatile Outcome outcome;

		volatile DeliveryReport report;

		volatile DeliveryFailedException failure;

		volatile long endedNanos;

		volatile String callbackThread;

		Entry(Object label, long producedNanos) {
			this.label = label;
			this.producedNanos = producedNanos;
		}

	}

	private final Map<Object, Entry> entries = new ConcurrentHashMap<>();

	/** Outcomes reported for labels never booked as accepted (or reported twice): must stay empty. */
	private final ConcurrentLinkedQueue<String> anomalies = new ConcurrentLinkedQueue<>();

	/** Subscribes to the producer's terminal events. */
	DeliveryLedger watch(Producer producer) {
		producer.monitor()
			.subscribe(ProducerEvent.MessageAcknowledged.class, (event) -> terminalEvent(event.report().label(), "ack"));
		producer.monitor().subscribe(ProducerEvent.MessagePurged.class, (event) -> terminalEvent(event.label(), "purge"));
		producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, (event) -> {
			if (event.type() == ErrorType.DELIVERY) {
				terminalEvent(event.label(), "delivery error");
			}
		});
		return this;
	}

	private void terminalEvent(Object label, String kind) {
		if (label == null) {
			// Every booked message has a label: this one was produced without the ledger.
			this.anomalies.add(kind + " event for a message without a label");
			return;
		}
		Entry entry = this.entries.get(label);
		if (entry == null) {
			this.anomalies.add(kind + " event for unbooked label " + label);
			return;
		}
		if (entry.terminalEvents.incrementAndGet() > 1) {
			this.anomalies.add("second terminal event (" + kind + ") for label " + label);
		}
	}

	/**
	 * A callback for the message with this label; call before handing the message over (the report may be
	 * dispatched before the produce call returns). If the producer refuses the message, call
	 * {@link #refused(Object)}.
	 */
	DeliveryCallback book(Object label) {
		Entry entry = new Entry(label, System.nanoTime());
		if (this.entries.putIfAbsent(label, entry) != null) {
			throw new IllegalArgumentException("label booked twice: " + label);
		}
		return (report, failure) -> {
			entry.endedNanos = System.nanoTime();
			entry.callbackThread = Thread.currentThread().getName();
			if ((report == null) == (failure == null)) {
				this.anomalies.add("callback for " + label + " with report " + report + " and failure " + failure);
			}
			if (entry.callbacks.incrementAndGet() > 1) {
				this.anomalies.add("second callback for label " + label);
				return;
			}
			entry.report = report;
			entry.failure = failure;
			entry.outcome = (failure == null) ? Outcome.ACKNOWLEDGED
					: (failure instanceof MessagePurgedException) ? Outcome.PURGED : Outcome.FAILED;
		};
	}

	/** The producer refused the message booked under this label: nothing was accepted. */
	void refused(Object label) {
		this.entries.remove(label);
	}

	/** Messages accepted (booked and not refused). */
	int accepted() {
		return this.entries.size();
	}

	Entry entry(Object label) {
		return this.entries.get(label);
	}

	List<Entry> entries() {
		return new ArrayList<>(this.entries.values());
	}

	/** Accepted messages without an outcome yet. */
	long pending() {
		return this.entries.values().stream().filter((entry) -> entry.callbacks.get() == 0).count();
	}

	long count(Outcome outcome) {
		return this.entries.values().stream().filter((entry) -> entry.outcome == outcome).count();
	}

	Set<Object> labels(Outcome outcome) {
		return this.entries.values()
			.stream()
			.filter((entry) -> entry.outcome == outcome)
			.map((entry) -> entry.label)
			.collect(Collectors.toSet());
	}

	/**
	 * Every accepted message has exactly one callback and one terminal event, nothing was reported twice or
	 * for a message never accepted, and the producer's counters add up to what it accepted.
	 * @return a description of every violation, empty when there is none
	 */
	List<String> violations(Producer producer) {
		List<String> problems = new ArrayList<>(this.anomalies);
		int shown = 0;
		for (Entry entry : this.entries.values()) {
			if ((entry.callbacks.get() != 1 || entry.terminalEvents.get() != 1) && shown++ < 20) {
				problems.add("label " + entry.label + ": " + entry.callbacks.get() + " callback(s), "
						+ entry.terminalEvents.get() + " terminal event(s)");
			}
		}
		ProducerStats stats = producer.stats();
		long accepted = stats.producedSync() + stats.producedAsync();
		if (accepted != accepted()) {
			problems.add("stats count " + accepted + " accepted, the ledger " + accepted());
		}
		if (stats.acknowledged() + stats.failed() + stats.purged() != accepted) {
			problems.add("acknowledged " + stats.acknowledged() + " + failed " + stats.failed() + " + purged "
					+ stats.purged() + " != accepted " + accepted);
		}
		if (stats.acknowledged() != count(Outcome.ACKNOWLEDGED) || stats.failed() != count(Outcome.FAILED)
				|| stats.purged() != count(Outcome.PURGED)) {
			problems.add("stats " + stats.acknowledged() + "/" + stats.failed() + "/" + stats.purged()
					+ " (acknowledged/failed/purged) but callbacks saw " + count(Outcome.ACKNOWLEDGED) + "/"
					+ count(Outcome.FAILED) + "/" + count(Outcome.PURGED));
		}
		if (producer.inFlight() != 0) {
			problems.add(producer.inFlight() + " message(s) still in flight");
		}
		return problems;
	}

	@Override
	public String toString() {
		return "DeliveryLedger[accepted=" + accepted() + ", acknowledged=" + count(Outcome.ACKNOWLEDGED) + ", failed="
				+ count(Outcome.FAILED) + ", purged=" + count(Outcome.PURGED) + ", pending=" + pending() + "]";
	}

}
