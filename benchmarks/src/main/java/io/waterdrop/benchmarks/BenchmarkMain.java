package io.waterdrop.benchmarks;

import java.util.Arrays;

/** Command-line entry point: {@code java -jar benchmarks/target/benchmarks.jar [--quick] [options]}. */
public final class BenchmarkMain {

	private BenchmarkMain() {
	}

	public static void main(String[] args) {
		if (Arrays.asList(args).contains("--help")) {
			System.out.println(BenchmarkOptions.usage());
			return;
		}
		BenchmarkOptions options;
		try {
			options = BenchmarkOptions.parse(args);
		}
		catch (IllegalArgumentException ex) {
			System.err.println(ex.getMessage());
			System.exit(2);
			return;
		}
		Harness.run(options);
		// Client libraries may leave non-daemon threads behind; the run is over.
		System.exit(0);
	}

}
