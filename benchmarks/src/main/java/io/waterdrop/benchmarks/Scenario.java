package io.waterdrop.benchmarks;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The measurements the harness can run; each writes one block of the report. */
public enum Scenario {

	/** Producers × mode: async throughput against raw kafka-clients and spring-kafka. */
	THROUGHPUT("throughput"),

	/** produceSync from one thread, a few streams, many virtual threads and many producers. */
	SYNC("sync"),

	/** A quiet producer's dispatch latency beside a producer with a slow callback. */
	ISOLATION("isolation"),

	/** JMH: the hand-off of a report to the dispatching thread, without a broker. */
	HANDOFF("handoff");

	private final String key;

	Scenario(String key) {
		this.key = key;
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
