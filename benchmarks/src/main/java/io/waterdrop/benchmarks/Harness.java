package io.waterdrop.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

import io.waterdrop.benchmarks.callbacks.CallbackSweepScenario;
import io.waterdrop.benchmarks.handoff.HandoffScenario;
import io.waterdrop.benchmarks.isolation.IsolationScenario;
import io.waterdrop.benchmarks.many.ManyProducersScenario;
import io.waterdrop.benchmarks.profile.ProfileScenario;
import io.waterdrop.benchmarks.report.ChartFiles;
import io.waterdrop.benchmarks.report.ReportBlock;
import io.waterdrop.benchmarks.report.ReportFile;
import io.waterdrop.benchmarks.support.ClientSettings;
import io.waterdrop.benchmarks.support.Progress;
import io.waterdrop.benchmarks.sync.SyncScenario;
import io.waterdrop.benchmarks.throughput.ThroughputScenario;
import io.waterdrop.testing.broker.KafkaBrokerProcess;

/**
 * Runs the chosen scenarios and writes the report: the JMH hand-off first (no broker running to disturb
 * it), then a real Kafka broker in its own process for the others, stopped at the end. Blocks of a smoke
 * run ({@link BenchmarkOptions#smoke()}) are labelled as such.
 */
public final class Harness {

	private static final Set<Scenario> BROKER_SCENARIOS = Set.of(Scenario.THROUGHPUT, Scenario.CALLBACKS,
			Scenario.SYNC, Scenario.ISOLATION, Scenario.PROFILE, Scenario.MANY);

	/** Above every block of a smoke run: its figures must not be read as results. */
	static final String SMOKE_NOTICE = "**Smoke figures**: a quick run or fewer rounds than the method asks for "
			+ "(3 warm-up, 10 measured), possibly on a loaded machine. They show that the harness runs, not how "
			+ "the clients compare.";

	private Harness() {
	}

	/** Runs and writes the report; returns the blocks written, environment first. */
	public static List<ReportBlock> run(BenchmarkOptions options) {
		long started = System.nanoTime();
		String loadAtStart = Environment.loadAverage();
		ChartFiles charts = new ChartFiles(options.output());
		Map<Scenario, ReportBlock> blocks = new EnumMap<>(Scenario.class);
		if (options.scenarios().contains(Scenario.HANDOFF)) {
			blocks.put(Scenario.HANDOFF, recorded(() -> new HandoffScenario(options, charts).run()));
		}
		if (options.scenarios().stream().anyMatch(BROKER_SCENARIOS::contains)) {
			try (KafkaBrokerProcess broker = new KafkaBrokerProcess()) {
				Progress.log("broker", "starting Kafka");
				broker.start();
				Progress.log("broker", "ready at " + broker.bootstrapServers());
				ClientSettings settings = new ClientSettings(broker.bootstrapServers(), options.acks(),
						options.partitions(), broker.pid());
				if (options.scenarios().contains(Scenario.THROUGHPUT)) {
					blocks.put(Scenario.THROUGHPUT,
							recorded(() -> new ThroughputScenario(options, settings, charts).run()));
				}
				if (options.scenarios().contains(Scenario.CALLBACKS)) {
					blocks.put(Scenario.CALLBACKS,
							recorded(() -> new CallbackSweepScenario(options, settings, charts).run()));
				}
				if (options.scenarios().contains(Scenario.SYNC)) {
					blocks.put(Scenario.SYNC,
							recorded(() -> new SyncScenario(options, settings, charts).run()));
				}
				if (options.scenarios().contains(Scenario.ISOLATION)) {
					blocks.put(Scenario.ISOLATION,
							recorded(() -> new IsolationScenario(options, settings, charts).run()));
				}
				if (options.scenarios().contains(Scenario.MANY)) {
					blocks.put(Scenario.MANY, new ManyProducersScenario(options, settings).run(Environment.provenance()));
				}
				if (options.scenarios().contains(Scenario.PROFILE)) {
					blocks.put(Scenario.PROFILE, recorded(() -> new ProfileScenario(options, settings).run()));
				}
				Progress.log("broker", "stopping Kafka");
			}
		}
		List<ReportBlock> written = new ArrayList<>();
		// A profile or the many-producers snapshot describes its own run; the environment block belongs to the
		// tables' run.
		if (!Set.of(Scenario.PROFILE, Scenario.MANY).containsAll(options.scenarios())) {
			written.add(Environment.describe(options, Duration.ofNanos(System.nanoTime() - started), loadAtStart));
		}
		for (ReportBlock block : blocks.values()) {
			written.add(options.smoke() ? new ReportBlock(block.key(), SMOKE_NOTICE + "\n\n" + block.markdown()) : block);
		}
		ReportFile.update(options.output(), written);
		Progress.log("report", "wrote " + options.output().toAbsolutePath());
		return written;
	}

	/**
	 * Runs a scenario and opens its block with when, at which commit and under what load it was recorded: a
	 * run of some scenarios rewrites only their blocks, so each table must say which run it comes from.
	 */
	private static ReportBlock recorded(Supplier<ReportBlock> scenario) {
		String provenance = Environment.provenance();
		ReportBlock block = scenario.get();
		return new ReportBlock(block.key(), provenance + " " + block.markdown());
	}

}
