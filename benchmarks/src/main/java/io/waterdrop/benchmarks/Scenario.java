package io.waterdrop.benchmarks;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The measurements the harness can run; each writes one block of the report. */
public enum Scenario {

	/** Producers × client: async throughput paired with raw kafka-clients, bare and with meters on. */
	THROUGHPUT("throughput", true),

	/** Callbacks doing 0–50 µs of CPU work: where moving them off the network thread wins or loses. */
	CALLBACKS("callbacks", true),

	/** produceSync from one thread, a few streams, many virtual threads and many producers. */
	SYNC("sync", true),

	/** A quiet producer's dispatch latency beside a producer with a slow callback. */
	ISOLATION("isolation", true),

	/** JMH: the hand-off of a report to the dispatching thread, without a broker. */
	HANDOFF("handoff", true),

	/**
	 * JFR allocation and CPU samples of fd mode at a few producers, per thread. Not part of a default run:
	 * it is taken before and after a change to the core, and the recording itself costs some throughput.
	 */
	PROFILE("profile", false),

	/**
	 * A thousand runtime producers of which ten are busy: threads, resident memory, broker connections and
	 * file descriptors in fd and thread mode, with and without idle disconnect. Not part of a default run: a
	 * resource snapshot rather than a timed comparison, it needs a high {@code ulimit -n}.
	 */
	MANY("many", false);

	private final String key;

	private final boolean byDefault;

	Scenario(String key, boolean byDefault) {
		this.key = key;
		this.byDefault = byDefault;
	}

	/** Whether a run without {@code --scenarios} includes it. */
	boolean byDefault() {
		return this.byDefault;
	}

	/** The name used on the command line, in report markers and in chart file names. */
	public String key() {
		return this.key;
	}

	static Scenario ofKey(String key) {
		for (Scenario scenario : values()) {
			if (scenario.key.equals(key)) {
				return scenario;
			}
		}
		throw new IllegalArgumentException("Unknown scenario '" + key + "'; known: "
				+ Arrays.stream(values()).map(Scenario::key).collect(Collectors.joining(", ")));
	}

}
