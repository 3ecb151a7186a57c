package io.waterdrop.benchmarks.many;

import io.waterdrop.polling.PollingMode;

/** The four ways the same producers run: polling mode, and whether idle ones give back their client. */
enum ManySetup {

	FD_IDLE_DISCONNECT(PollingMode.FD, true, "fd mode, idle disconnect"),

	FD(PollingMode.FD, false, "fd mode, always connected"),

	THREAD_IDLE_DISCONNECT(PollingMode.THREAD, true, "thread mode, idle disconnect"),

	THREAD(PollingMode.THREAD, false, "thread mode, always connected");

	private final PollingMode mode;

	private final boolean idleDisconnect;

	private final String label;

	ManySetup(PollingMode mode, boolean idleDisconnect, String label) {
		this.mode = mode;
		this.idleDisconnect = idleDisconnect;
		this.label = label;
	}

	PollingMode mode() {
		return this.mode;
	}

	boolean idleDisconnect() {
		return this.idleDisconnect;
	}

	String label() {
		return this.label;
	}

	String key() {
		return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
	}

}
