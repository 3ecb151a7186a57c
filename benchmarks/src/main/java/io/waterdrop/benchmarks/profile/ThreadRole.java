package io.waterdrop.benchmarks.profile;

/** The threads of an fd-mode run whose profiles the core's hot path shows up in, told apart by name. */
enum ThreadRole {

	POLLER("Poller thread", "`waterdrop.poller#0`", "waterdrop.poller"),

	NETWORK("Kafka network threads", "`kafka-producer-network-thread | <client id>`", "kafka-producer-network-thread"),

	CALLERS("caller threads", "the harness's senders, `bench-sender-<n>`", "bench-sender-"),

	OTHER("other threads", "everything else in the JVM (JIT, GC and JFR run in native code and are not sampled)", "");

	private final String label;

	private final String description;

	private final String namePrefix;

	ThreadRole(String label, String description, String namePrefix) {
		this.label = label;
		this.description = description;
		this.namePrefix = namePrefix;
	}

	String label() {
		return this.label;
	}

	String description() {
		return this.description;
	}

	static ThreadRole of(String threadName) {
		if (threadName != null) {
			for (ThreadRole role : values()) {
				if (role != OTHER && threadName.startsWith(role.namePrefix)) {
					return role;
				}
			}
		}
		return OTHER;
	}

}
