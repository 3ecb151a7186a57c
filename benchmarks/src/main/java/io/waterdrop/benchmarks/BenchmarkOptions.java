package io.waterdrop.benchmarks;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import io.waterdrop.benchmarks.clients.ClientKind;
import io.waterdrop.benchmarks.throughput.TrialLimit;

/**
 * Sizes, repeats and settings of one harness run, parsed from the command line. The defaults are the full
 * run; {@code --quick} starts from a small preset instead, and any other flag overrides either.
 *
 * @param output the Markdown file whose benchmark blocks are rewritten; charts are written beside it
 * @param scenarios the scenarios to run
 * @param quick whether the quick preset was chosen: its figures are labelled as smoke figures
 * @param warmups rounds run first and discarded
 * @param repeats rounds measured; figures are their median and range or confidence interval
 * @param producers producer counts of the throughput scenario
 * @param clients the clients of the throughput scenario, raw kafka-clients (the baseline) always among them
 * @param trial when each sender of a throughput or callback trial stops
 * @param window messages each producer may have in flight in those trials
 * @param callbackMicros CPU work per callback in the callback sweep, in microseconds
 * @param callbackProducers producer counts of the callback sweep
 * @param partitions partitions of every topic the harness creates
 * @param acks the producers' {@code acks}
 * @param syncMessages messages per trial of the sync scenario
 * @param virtualThreads virtual-thread counts of the sync scenario
 * @param syncProducers producers (each on its own platform thread) of the sync scenario's last row
 * @param syncLingerMs {@code linger.ms} in the sync and isolation scenarios
 * @param isolationMessages messages the quiet producer sends per trial of the isolation scenario
 * @param jmh the JMH settings of the hand-off scenario
 * @param profile the settings of the profile scenario
 * @param many the settings of the many-producers scenario
 * @param arguments the command line as given, quoted in the report
 */
public record BenchmarkOptions(Path output, Set<Scenario> scenarios, boolean quick, int warmups, int repeats,
		List<Integer> producers, List<ClientKind> clients, TrialLimit trial, int window, List<Integer> callbackMicros,
		List<Integer> callbackProducers, int partitions, String acks, int syncMessages, List<Integer> virtualThreads,
		int syncProducers, int syncLingerMs, int isolationMessages, JmhSettings jmh, ProfileSettings profile,
		ManySettings many, List<String> arguments) {

	/** Payload size of every message, as in the source article. */
	public static final int PAYLOAD_SIZE = 100;

	/**
	 * JMH run settings.
	 *
	 * @param forks forked JVMs per trial, one trial per case and round (0 runs in this JVM)
	 * @param warmupIterations warm-up iterations per fork
	 * @param measurementIterations measured iterations per fork
	 * @param iterationMillis length of each iteration
	 */
	public record JmhSettings(int forks, int warmupIterations, int measurementIterations, int iterationMillis) {

	}

	/**
	 * Profile scenario settings.
	 *
	 * @param producers fd-mode producers profiled
	 * @param warmup sending before the recording starts, so that the profile shows compiled code
	 * @param duration sending while JFR records
	 * @param label names the report block ({@code profile-<label>}), such as {@code before} or {@code after}
	 * @param recording where the JFR recording is written
	 */
	public record ProfileSettings(int producers, Duration warmup, Duration duration, String label, Path recording) {

	}

	/**
	 * Many-producers scenario settings.
	 *
	 * @param producers runtime producers created, each of which sends one message first (so each has connected)
	 * @param active producers that keep sending while the others idle
	 * @param idleDisconnect the idle-disconnect timeout of the setups that use one
	 * @param measure how long the figures are sampled once the idle producers have settled
	 */
	public record ManySettings(int producers, int active, Duration idleDisconnect, Duration measure) {

	}

	/**
	 * Whether the figures are smoke figures: the quick preset, or fewer rounds than the method asks for
	 * (3 warm-up, 10 measured). The report says so above each block.
	 */
	public boolean smoke() {
		return this.quick || this.warmups < 3 || this.repeats < 10;
	}

	/** Parses the command line; see {@link #usage()}. */
	public static BenchmarkOptions parse(String... args) {
		boolean quick = Arrays.asList(args).contains("--quick");
		Builder builder = quick ? Builder.quick() : Builder.full();
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
				  --quick                 smoke preset: short trials, 1 warm-up + 3 rounds, writes
				                          benchmarks/target/quick/benchmarks.md (a few minutes)
				  --output FILE           Markdown report to update (docs/benchmarks.md)
				  --scenarios LIST        throughput,callbacks,sync,isolation,handoff,profile,many
				                          (all but profile and many)
				  --warmups W             discarded rounds (3)
				  --repeats R             measured rounds (10)
				  --producers LIST        producer counts for throughput (1,5,10,25,100)
				  --clients LIST          clients for throughput, raw always added
				                          (raw,lean,fd,thread,template,fd-metered,template-observed)
				  --trial-ms T            each sender sends this long per trial (3000; 0 = no time limit)
				  --messages M            ... or at most M messages, whichever first (0 = no count limit)
				  --window N              messages in flight per producer (5000)
				  --callback-micros LIST  CPU work per callback in the sweep (0,2,10,50)
				  --callback-producers L  producer counts of the sweep (1,5,25)
				  --partitions P          partitions per topic (1)
				  --acks A                producer acks (all)
				  --sync-messages S       messages per sync trial (10000)
				  --virtual-threads LIST  virtual threads on one producer for sync (100,1000)
				  --sync-producers P      producers on their own platform threads for sync (10)
				  --sync-linger-ms L      linger.ms for sync and isolation (0)
				  --isolation-messages I  messages of the measured producer per isolation trial (2000)
				  --jmh-forks F           JMH forks per hand-off trial (1; 0 runs in this JVM)
				  --jmh-warmups W         JMH warm-up iterations per fork (3)
				  --jmh-iterations I      JMH measured iterations per fork (3)
				  --jmh-iteration-ms T    JMH iteration length (1000)
				  --profile-producers P   fd-mode producers under JFR (5)
				  --profile-warmup-ms T   sending before JFR records (10000)
				  --profile-ms T          sending while JFR records (20000)
				  --profile-label L       report block profile-L (before)
				  --profile-file FILE     JFR recording (benchmarks/target/profile/profile-L.jfr)
				  --many-producers N      runtime producers of the many scenario (1000)
				  --many-active A         ... of which A keep sending (10)
				  --many-idle-ms T        idle-disconnect timeout of its idle-disconnect setups (2000)
				  --many-measure-ms T     sampling span once the idle producers settled (5000)""";
	}

	/** Collects flag values over a preset. */
	private static final class Builder {

		private Path output = Path.of("docs", "benchmarks.md");

		private Set<Scenario> scenarios = EnumSet.noneOf(Scenario.class);

		private boolean quick;

		private int warmups = 3;

		private int repeats = 10;

		private List<Integer> producers = List.of(1, 5, 10, 25, 100);

		private List<ClientKind> clients = List.of(ClientKind.values());

		private int trialMillis = 3000;

		private int messages = 0;

		private int window = 5000;

		private List<Integer> callbackMicros = List.of(0, 2, 10, 50);

		private List<Integer> callbackProducers = List.of(1, 5, 25);

		private int partitions = 1;

		private String acks = "all";

		private int syncMessages = 10_000;

		private List<Integer> virtualThreads = List.of(100, 1000);

		private int syncProducers = 10;

		private int syncLingerMs = 0;

		private int isolationMessages = 2000;

		/**
		 * One fork per trial, a trial per case and round: a spinning hand-off runs for seconds at a time in one
		 * of two states on a small shared host, so its cases are paired round by round, not fork by fork.
		 */
		private int jmhForks = 1;

		private int jmhWarmups = 3;

		private int jmhIterations = 3;

		private int jmhIterationMillis = 1000;

		private int profileProducers = 5;

		private int profileWarmupMillis = 10_000;

		private int profileMillis = 20_000;

		private String profileLabel = "before";

		private Path profileFile;

		private int manyProducers = 1000;

		private int manyActive = 10;

		private int manyIdleMillis = 2000;

		private int manyMeasureMillis = 5000;

		private List<String> arguments = List.of();

		static Builder full() {
			Builder builder = new Builder();
			for (Scenario scenario : Scenario.values()) {
				if (scenario.byDefault()) {
					builder.scenarios.add(scenario);
				}
			}
			return builder;
		}

		static Builder quick() {
			Builder builder = full();
			builder.quick = true;
			builder.output = Path.of("benchmarks", "target", "quick", "benchmarks.md");
			builder.warmups = 1;
			builder.repeats = 3;
			builder.producers = List.of(1, 5, 25);
			builder.trialMillis = 300;
			builder.callbackMicros = List.of(0, 10);
			builder.callbackProducers = List.of(1, 5);
			builder.syncMessages = 2000;
			builder.isolationMessages = 500;
			builder.jmhWarmups = 1;
			builder.jmhIterations = 1;
			builder.jmhIterationMillis = 300;
			builder.profileWarmupMillis = 2000;
			builder.profileMillis = 3000;
			builder.manyProducers = 100;
			builder.manyActive = 5;
			builder.manyMeasureMillis = 2000;
			return builder;
		}

		void set(String flag, String value) {
			switch (flag) {
				case "--output" -> this.output = Path.of(required(flag, value));
				case "--scenarios" -> this.scenarios = scenarios(required(flag, value));
				case "--warmups" -> this.warmups = atLeast(flag, value, 0);
				case "--repeats" -> this.repeats = atLeast(flag, value, 1);
				case "--producers" -> this.producers = counts(flag, required(flag, value), 1);
				case "--clients" -> this.clients = clients(required(flag, value));
				case "--trial-ms" -> this.trialMillis = atLeast(flag, value, 0);
				case "--messages" -> this.messages = atLeast(flag, value, 0);
				case "--window" -> this.window = atLeast(flag, value, 2);
				case "--callback-micros" -> this.callbackMicros = counts(flag, required(flag, value), 0);
				case "--callback-producers" -> this.callbackProducers = counts(flag, required(flag, value), 1);
				case "--partitions" -> this.partitions = atLeast(flag, value, 1);
				case "--acks" -> this.acks = required(flag, value);
				case "--sync-messages" -> this.syncMessages = atLeast(flag, value, 1);
				case "--virtual-threads" -> this.virtualThreads = counts(flag, required(flag, value), 1);
				case "--sync-producers" -> this.syncProducers = atLeast(flag, value, 1);
				case "--sync-linger-ms" -> this.syncLingerMs = atLeast(flag, value, 0);
				case "--isolation-messages" -> this.isolationMessages = atLeast(flag, value, 1);
				case "--jmh-forks" -> this.jmhForks = atLeast(flag, value, 0);
				case "--jmh-warmups" -> this.jmhWarmups = atLeast(flag, value, 0);
				case "--jmh-iterations" -> this.jmhIterations = atLeast(flag, value, 1);
				case "--jmh-iteration-ms" -> this.jmhIterationMillis = atLeast(flag, value, 10);
				case "--profile-producers" -> this.profileProducers = atLeast(flag, value, 1);
				case "--profile-warmup-ms" -> this.profileWarmupMillis = atLeast(flag, value, 0);
				case "--profile-ms" -> this.profileMillis = atLeast(flag, value, 100);
				case "--profile-label" -> this.profileLabel = label(flag, required(flag, value));
				case "--profile-file" -> this.profileFile = Path.of(required(flag, value));
				case "--many-producers" -> this.manyProducers = atLeast(flag, value, 1);
				case "--many-active" -> this.manyActive = atLeast(flag, value, 0);
				case "--many-idle-ms" -> this.manyIdleMillis = atLeast(flag, value, 1);
				case "--many-measure-ms" -> this.manyMeasureMillis = atLeast(flag, value, 100);
				default -> throw new IllegalArgumentException("Unknown option " + flag + "\n" + usage());
			}
		}

		BenchmarkOptions build() {
			if (this.trialMillis == 0 && this.messages == 0) {
				throw new IllegalArgumentException("--trial-ms 0 needs --messages M: a trial must end somehow");
			}
			if (this.manyActive > this.manyProducers) {
				throw new IllegalArgumentException("--many-active " + this.manyActive + " exceeds --many-producers "
						+ this.manyProducers);
			}
			return new BenchmarkOptions(this.output, this.scenarios, this.quick, this.warmups, this.repeats,
					this.producers, this.clients, new TrialLimit(Duration.ofMillis(this.trialMillis), this.messages), this.window,
					this.callbackMicros, this.callbackProducers, this.partitions, this.acks, this.syncMessages,
					this.virtualThreads, this.syncProducers, this.syncLingerMs, this.isolationMessages,
					new JmhSettings(this.jmhForks, this.jmhWarmups, this.jmhIterations, this.jmhIterationMillis),
					new ProfileSettings(this.profileProducers, Duration.ofMillis(this.profileWarmupMillis),
							Duration.ofMillis(this.profileMillis), this.profileLabel,
							(this.profileFile != null) ? this.profileFile
									: Path.of("benchmarks", "target", "profile", "profile-" + this.profileLabel + ".jfr")),
					new ManySettings(this.manyProducers, this.manyActive, Duration.ofMillis(this.manyIdleMillis),
							Duration.ofMillis(this.manyMeasureMillis)),
					this.arguments);
		}

		private static Set<Scenario> scenarios(String value) {
			Set<Scenario> scenarios = EnumSet.noneOf(Scenario.class);
			for (String key : value.split(",")) {
				scenarios.add(Scenario.ofKey(key.strip()));
			}
			return scenarios;
		}

		/** The named clients in the table's order, raw kafka-clients included: every ratio is to it. */
		private static List<ClientKind> clients(String value) {
			Set<ClientKind> chosen = EnumSet.of(ClientKind.RAW_KAFKA);
			for (String key : value.split(",")) {
				chosen.add(ClientKind.ofKey(key.strip()));
			}
			return List.copyOf(chosen);
		}

		private static List<Integer> counts(String flag, String value, int minimum) {
			List<Integer> counts = new ArrayList<>();
			for (String part : value.split(",")) {
				counts.add(atLeast(flag, part.strip(), minimum));
			}
			return List.copyOf(counts);
		}

		/** A label becomes part of a Markdown marker and a file name: letters, digits and dashes only. */
		private static String label(String flag, String value) {
			if (!value.matches("[A-Za-z0-9-]+")) {
				throw new IllegalArgumentException(flag + " takes letters, digits and dashes, got '" + value + "'");
			}
			return value;
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
