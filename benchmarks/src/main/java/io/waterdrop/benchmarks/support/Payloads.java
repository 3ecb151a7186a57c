package io.waterdrop.benchmarks.support;

import java.util.Random;

import io.waterdrop.benchmarks.BenchmarkOptions;

/** Message payloads: random bytes (so that nothing compresses them away) of the article's size. */
public final class Payloads {

	private Payloads() {
	}

	public static byte[] random() {
		byte[] payload = new byte[BenchmarkOptions.PAYLOAD_SIZE];
		new Random(7).nextBytes(payload);
		return payload;
	}

}
