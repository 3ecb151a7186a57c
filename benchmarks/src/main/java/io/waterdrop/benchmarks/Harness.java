package io.waterdrop.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.waterdrop.benchmarks.handoff.HandoffScenario;
import io.waterdrop.benchmarks.isolation.IsolationScenario;
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
 * it), then a real Kafka broker in its own process for the others, stopped at the end.
 */
public final class Harness {

	private static final Set<Scenario> BROKER_SCENARIOS = Set.of(Scenario.THROUGHPUT, Scenario.SYNC,
			Scenario.ISOLATION);

	private Harness() {
	}

	/** Runs and writes the report; returns the blocks written, environment first. */
	public static List<ReportBlock> run(BenchmarkOptions options) {
		long started = System.nanoTime();
		String loadAtStart = Environment.loadAverage();
		ChartFiles charts = new ChartFiles(options.output());
		Map<Scenario, ReportBlock> blocks = new EnumMap<>(Scenario.class);
		if (options.scenarios().contains(Scenario.HANDOFF)) {
			blocks.put(Scenario.HANDOFF, new HandoffScenario(options, charts).run());
		}
		if (options.scenarios().stream().anyMatch(BROKER_SCENARIOS::contains)) {
			try (KafkaBrokerProcess broker = new KafkaBrokerProcess()) {
				Progress.log("broker", "starting Kafka");
				broker.start();
				Progress.log("broker", "ready at " + broker.bootstrapServers());
				ClientSettings settings = new ClientSettings(broker.bootstrapServers(), options.acks(),
						options.partitions());
				if (options.scenarios().contains(Scenario.THROUGHPUT)) {
					blocks.put(Scenario.THROUGHPUT, new ThroughputScenario(options, settings, charts).run());
				}
				if (options.scenarios().contains(Scenario.SYNC)) {
					blocks.put(Scenario.SYNC, new SyncScenario(options, settings, charts).run());
				}
				if (options.scenarios().contains(Scenario.ISOLATION)) {
					blocks.put(Scenario.ISOLATION, new IsolationScenario(options, settings, charts).run());
				}
				Progress.log("broker", "stopping Kafka");
			}
		}
		List<ReportBlock> written = new ArrayList<>();
		written.add(Environment.describe(options, Duration.ofNanos(System.nanoTime() - started), loadAtStart));
		written.addAll(blocks.values());
		ReportFile.update(options.output(), written);
		Progress.log("report", "wrote " + options.output().toAbsolutePath());
		return written;
	}

}
