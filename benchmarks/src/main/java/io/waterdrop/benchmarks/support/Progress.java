package io.waterdrop.benchmarks.support;

import java.time.Duration;

/** Progress lines on standard output, stamped with the time since the harness started. */
public final class Progress {

	private static final long start = System.nanoTime();

	private Progress() {
	}

	public static void log(String scenario, String message) {
		Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
		System.out.printf("[%02d:%02d] [%s] %s%n", elapsed.toMinutes(), elapsed.toSecondsPart(), scenario, message);
	}

}
