package io.waterdrop.benchmarks.isolation;

import java.util.List;
import java.util.Map;

import io.waterdrop.benchmarks.BenchmarkOptions;
import io.waterdrop.benchmarks.Scenario;
import io.waterdrop.benchmarks.report.BarChart;
import io.waterdrop.benchmarks.report.ChartFiles;
import io.waterdrop.benchmarks.report.Format;
import io.waterdrop.benchmarks.report.MarkdownTable;
import io.waterdrop.benchmarks.report.ReportBlock;
import io.waterdrop.benchmarks.support.ClientSettings;
import io.waterdrop.benchmarks.support.Payloads;
import io.waterdrop.benchmarks.support.Rounds;
import io.waterdrop.benchmarks.support.Summary;

/**
 * Scenario 3, isolation: how long a quiet producer B waits for its reports when producer A's callback is
 * slow, with B sharing A's Poller, on a dedicated Poller, in thread mode, and with no A at all.
 */
public final class IsolationScenario {

	static final String TOPIC_A = "isolation-a";

	static final String TOPIC_B = "isolation-b";

	private static final String KEY = Scenario.ISOLATION.key();

	private final BenchmarkOptions options;

	private final ClientSettings settings;

	private final ChartFiles charts;

	public IsolationScenario(BenchmarkOptions options, ClientSettings settings, ChartFiles charts) {
		this.options = options;
		this.settings = settings;
		this.charts = charts;
	}

	public ReportBlock run() {
		this.settings.createTopics(List.of(TOPIC_A, TOPIC_B));
		IsolationTrial trial = new IsolationTrial(this.settings, this.options.isolationMessages(),
				this.options.syncLingerMs(), Payloads.random());
		Map<IsolationSetup, List<IsolationResult>> results = Rounds.run(KEY, List.of(IsolationSetup.values()),
				this.options.warmups(), this.options.repeats(), trial::run);
		return new ReportBlock(KEY, settingsLine() + "\n\n" + table(results) + "\n" + chart(results) + "\n");
	}

	private String settingsLine() {
		return String.format("Producer A: fd mode on the global Poller, a callback that blocks %d ms per report, kept "
				+ "saturated (%d messages in flight). Producer B: %,d messages of %d B, one every %d ms, latency from "
				+ "the `produceAsync` call to B's callback. `acks=%s`, `linger.ms=%d`, default `max-time` (100 ms) "
				+ "unless stated. %d warm-up round(s), then %d measured rounds interleaved in shuffled order; median "
				+ "(min–max) over the rounds.",
				SlowNeighbour.CALLBACK_TIME.toMillis(), SlowNeighbour.IN_FLIGHT, this.options.isolationMessages(),
				BenchmarkOptions.PAYLOAD_SIZE, IsolationTrial.PACE.toMillis(), this.settings.acks(),
				this.options.syncLingerMs(), this.options.warmups(), this.options.repeats());
	}

	private static String table(Map<IsolationSetup, List<IsolationResult>> results) {
		MarkdownTable table = new MarkdownTable("Setup", "B p50 (ms)", "B p99 (ms)", "B max (ms)");
		results.forEach((setup, runs) -> table.row(setup.label(),
				Format.millis(Summary.of(runs, IsolationResult::p50Millis)),
				Format.millis(Summary.of(runs, IsolationResult::p99Millis)),
				Format.millis(Summary.of(runs, IsolationResult::maxMillis))));
		return table.toString();
	}

	private String chart(Map<IsolationSetup, List<IsolationResult>> results) {
		BarChart chart = new BarChart("Producer B's ack-dispatch latency beside a 2 ms callback (median of rounds)",
				null, "milliseconds", "0.00");
		results.forEach((setup, runs) -> {
			chart.add("p50", setup.label(), Summary.of(runs, IsolationResult::p50Millis).median());
			chart.add("p99", setup.label(), Summary.of(runs, IsolationResult::p99Millis).median());
		});
		chart.write(this.charts.path(KEY));
		return this.charts.image(KEY, "Producer B's ack-dispatch latency by setup");
	}

}
