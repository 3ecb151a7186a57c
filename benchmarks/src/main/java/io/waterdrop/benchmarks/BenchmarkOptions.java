package io.waterdrop.benchmarks;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Sizes, repeats and settings of one harness run, parsed from the command line. The defaults are the full
 * run; {@code --quick} starts from a small preset instead, and any other flag overrides either.
 *
 * @param output the Markdown file whose benchmark blocks are rewritten; charts are written beside it
 * @param scenarios the scenarios to run
 * @param warmups rounds run first and discarded
 * @param repeats rounds measured; figures are their median and range
 * @param producers producer counts of the throughput scenario
 * @param messages messages per producer in the throughput scenario
 * @param partitions partitions of every topic the harness creates
 * @param acks the producers' {@code acks}
 * @param syncMessages messages per trial of the sync scenario
 * @param virtualThreads virtual-thread counts of the sync scenario
 * @param syncProducers producers (each on its own platform thread) of the sync scenario's last row
 * @param syncLingerMs {@code linger.ms} in the sync and isolation scenarios
 * @param isolationMessages messages the quiet producer sends per trial of the isolation scenario
 * @param jmh the JMH settings of the hand-off scenario
 * @param arguments the command line as given, quoted in the report
 */
public record BenchmarkOptions(Path output, Set<Scenario> scenarios, int warmups, int repeats, List<Integer> producers,
		int messages, int partitions, String acks, int syncMessages, List<Integer> virtualThreads, int syncProducers,
		int syncLingerMs, int isolationMessages, JmhSettings jmh, List<String> arguments) {

	/** Payload size of every message, as in the source article. */
	public static final int PAYLOAD_SIZE = 100;

	/**
	 * JMH run settings.
	 *
	 * @param forks forked JVMs per benchmark (0 runs in this JVM)
	 * @param warmupIterations warm-up iterations per fork
	 * @param iterationMillis length of each iteration
	 */
	public record JmhSettings(int forks, int warmupIterations, int iterationMillis) {

	}

	/** Parses the command line; see {@link #usage()}. */
	public static BenchmarkOptions parse(String... args) {
		Builder builder = Arrays.asList(args).contains("--quick") ? Builder.quick() : Builder.full();
		builder.arguments = List.of(args);
		for (int i = 0; i < args.length; i++) {
			String flag = args[i];
			if (flag.equals("--quick")) {
				continue;
			}
			builder.set(flag, (i + 1 < args.length) ? args[++i] : null);
		}
		return builder.build();
	}

	public static String usage() {
		return """
				Usage: java -jar benchmarks/target/benchmarks.jar [--quick] [options]
				  --quick                 small sizes, 1 warm-up + 2 repeats (a few minutes)
				  --output FILE           Markdown report to update (docs/benchmarks.md)
				  --scenarios LIST        throughput,sync,isolation,handoff (all)
				  --warmups W             discarded rounds (1)
				  --repeats R             measured rounds (5)
				  --producers LIST        producer counts for throughput (1,2,5,10,25)
				  --messages M            messages per producer for throughput (20000)
				  --partitions P          partitions per topic (1)
				  --acks A                producer acks (all)
				  --sync-messages S       messages per sync trial (10000)
				  --virtual-threads LIST  virtual threads on one producer for sync (100,1000)
				  --sync-producers P      producers on their own platform threads for sync (10)
				  --sync-linger-ms L      linger.ms for sync and isolation (0)
				  --isolation-messages I  messages of the measured producer per isolation trial (2000)
				  --jmh-forks F           JMH forks (1; 0 runs in this JVM)
				  --jmh-warmups W         JMH warm-up iterations (3)
				  --jmh-iteration-ms T    JMH iteration length (1000)""";
	}

	/** Collects flag values over a preset. */
	private static final class Builder {

		private Path output = Path.of("docs", "benchmarks.md");

		private Set<Scenario> scenarios = EnumSet.allOf(Scenario.class);

		private int warmups = 1;

		private int repeats = 5;

		private List<Integer> producers = List.of(1, 2, 5, 10, 25);

		private int messages = 20_000;

		private int partitions = 1;

		private String acks = "all";

		private int syncMessages = 10_000;

		private List<Integer> virtualThreads = List.of(100, 1000);

		private int syncProducers = 10;

		private int syncLingerMs = 0;

		private int isolationMessages = 2000;

		private int jmhForks = 1;

		private int jmhWarmups = 3;

		private int jmhIterationMillis = 1000;

		private List<String> arguments = List.of();

		static Builder full() {
			return new Builder();
		}

		static Builder quick() {
			Builder builder = new Builder();
			builder.repeats = 2;
			builder.producers = List.of(1, 5, 25);
			builder.messages = 2000;
			builder.syncMessages = 2000;
			builder.isolationMessages = 500;
			builder.jmhWarmups = 1;
			builder.jmhIterationMillis = 300;
			return builder;
		}

		void set(String flag, String value) {
			switch (flag) {
				case "--output" -> this.output = Path.of(required(flag, value));
				case "--scenarios" -> this.scenarios = scenarios(required(flag, value));
				case "--warmups" -> this.warmups = atLeast(flag, value, 0);
				case "--repeats" -> this.repeats = atLeast(flag, value, 1);
				case "--producers" -> this.producers = counts(flag, required(flag, value));
				case "--messages" -> this.messages = atLeast(flag, value, 1);
				case "--partitions" -> this.partitions = atLeast(flag, value, 1);
				case "--acks" -> this.acks = required(flag, value);
				case "--sync-messages" -> this.syncMessages = atLeast(flag, value, 1);
				case "--virtual-threads" -> this.virtualThreads = counts(flag, required(flag, value));
				case "--sync-producers" -> this.syncProducers = atLeast(flag, value, 1);
				case "--sync-linger-ms" -> this.syncLingerMs = atLeast(flag, value, 0);
				case "--isolation-messages" -> this.isolationMessages = atLeast(flag, value, 1);
				case "--jmh-forks" -> this.jmhForks = atLeast(flag, value, 0);
				case "--jmh-warmups" -> this.jmhWarmups = atLeast(flag, value, 0);
				case "--jmh-iteration-ms" -> this.jmhIterationMillis = atLeast(flag, value, 10);
				default -> throw new IllegalArgumentException("Unknown option " + flag + "\n" + usage());
			}
		}

		BenchmarkOptions build() {
			return new BenchmarkOptions(this.output, this.scenarios, this.warmups, this.repeats, this.producers,
					this.messages, this.partitions, this.acks, this.syncMessages, this.virtualThreads,
					this.syncProducers, this.syncLingerMs, this.isolationMessages,
					new JmhSettings(this.jmhForks, this.jmhWarmups, this.jmhIterationMillis), this.arguments);
		}

		private static Set<Scenario> scenarios(String value) {
			Set<Scenario> scenarios = EnumSet.noneOf(Scenario.class);
			for (String key : value.split(",")) {
				scenarios.add(Scenario.ofKey(key.strip()));
			}
			return scenarios;
		}

		private static List<Integer> counts(String flag, String value) {
			List<Integer> counts = new ArrayList<>();
			for (String part : value.split(",")) {
				counts.add(atLeast(flag, part.strip(), 1));
			}
			return List.copyOf(counts);
		}

		private static String required(String flag, String value) {
			if (value == null) {
				throw new IllegalArgumentException("Missing value after " + flag + "\n" + usage());
			}
			return value;
		}

		private static int atLeast(String flag, String value, int minimum) {
			int parsed;
			try {
				parsed = Integer.parseInt(required(flag, value));
			}
			catch (NumberFormatException ex) {
				throw new IllegalArgumentException(flag + " needs a number, got '" + value + "'");
			}
			if (parsed < minimum) {
				throw new IllegalArgumentException(flag + " must be at least " + minimum + ", got " + parsed);
			}
			return parsed;
		}

	}

}
