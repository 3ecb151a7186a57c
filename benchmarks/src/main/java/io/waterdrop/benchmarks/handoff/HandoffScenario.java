package io.waterdrop.benchmarks.handoff;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

import io.waterdrop.benchmarks.BenchmarkOptions;
import io.waterdrop.benchmarks.Scenario;
import io.waterdrop.benchmarks.report.BarChart;
import io.waterdrop.benchmarks.report.ChartFiles;
import io.waterdrop.benchmarks.report.Format;
import io.waterdrop.benchmarks.report.MarkdownTable;
import io.waterdrop.benchmarks.report.ReportBlock;
import io.waterdrop.benchmarks.stats.MedianEstimate;
import io.waterdrop.benchmarks.stats.PairedRatios;
import io.waterdrop.benchmarks.support.Progress;
import io.waterdrop.benchmarks.support.Rounds;
import io.waterdrop.benchmarks.support.Summary;

/**
 * Scenario 4: runs {@link HandoffBenchmark} with JMH (no broker). Every case (path and burst) runs once per
 * round, in one JMH fork of its own, the cases interleaved in shuffled order ({@link Rounds}); a trial's figure
 * is its fork's median iteration. Rates are the median and range over the rounds, and each path is compared
 * with thread mode by the median of its per-round ratios: on a small shared host a spinning hand-off runs for
 * seconds at a time in one of two states (about twice apart), and pairing rounds keeps that drift out of the
 * comparison, where forks run path after path would put it in.
 */
public final class HandoffScenario {

	private static final String KEY = Scenario.HANDOFF.key();

	private static final Map<String, String> PATHS = new LinkedHashMap<>();

	static {
		PATHS.put("thread", "WaterDrop thread mode (unpark)");
		PATHS.put("fd", "WaterDrop fd mode (pipe + selector)");
		PATHS.put("lean", "lean hand-off (stack + pipe + selector)");
		PATHS.put("executor", "single-thread executor (baseline)");
	}

	/** Every ratio is to this path's rate in the same round. */
	private static final String BASELINE = "thread";

	private static final List<Integer> BURSTS = List.of(1, 100);

	private final BenchmarkOptions options;

	private final ChartFiles charts;

	public HandoffScenario(BenchmarkOptions options, ChartFiles charts) {
		this.options = options;
		this.charts = charts;
	}

	public ReportBlock run() {
		BenchmarkOptions.JmhSettings jmh = this.options.jmh();
		List<Case> cases = new ArrayList<>();
		BURSTS.forEach((burst) -> PATHS.keySet().forEach((path) -> cases.add(new Case(path, burst))));
		Progress.log(KEY, "JMH: " + cases.size() + " cases, " + this.options.repeats() + " rounds of one "
				+ ((jmh.forks() == 0) ? "in-process run" : jmh.forks() + " fork(s)") + " per case, "
				+ jmh.warmupIterations() + " warm-up + " + jmh.measurementIterations() + " iterations of "
				+ jmh.iterationMillis() + " ms each");
		Map<Case, List<Double>> opsPerSecond = Rounds.run(KEY, cases, 0, this.options.repeats(),
				(c) -> trial(c, jmh));
		return new ReportBlock(KEY, settingsLine(jmh) + "\n\n" + table(opsPerSecond) + "\n" + chart(opsPerSecond)
				+ "\n");
	}

	/** One JMH run of one case: the median of its measured iterations, in operations per second. */
	private static double trial(Case c, BenchmarkOptions.JmhSettings jmh) {
		Options run = new OptionsBuilder().include(Pattern.quote(HandoffBenchmark.class.getName()))
			.param("path", c.path())
			.param("burst", Integer.toString(c.burst()))
			.forks(jmh.forks())
			// A fixed heap rather than the harness's flags, which may pre-touch gigabytes.
			.jvmArgs("-Xms512m", "-Xmx512m")
			.warmupIterations(jmh.warmupIterations())
			.warmupTime(TimeValue.milliseconds(jmh.iterationMillis()))
			.measurementIterations(jmh.measurementIterations())
			.measurementTime(TimeValue.milliseconds(jmh.iterationMillis()))
			.threads(1)
			.shouldFailOnError(true)
			.verbosity(VerboseMode.SILENT)
			.build();
		try {
			RunResult result = new Runner(run).runSingle();
			return result.getPrimaryResult().getStatistics().getPercentile(50);
		}
		catch (RunnerException ex) {
			throw new IllegalStateException("JMH run of " + c + " failed", ex);
		}
	}

	private String settingsLine(BenchmarkOptions.JmhSettings jmh) {
		return String.format(Locale.ROOT, "JMH, throughput mode, 1 thread. %d rounds; in each, every case runs in %s "
				+ "(%d warm-up and %d measured iterations of %d ms), the cases in shuffled order; a trial's figure is "
				+ "the median of its measured iterations. Rates: median (min–max) over the rounds. *vs thread mode*: "
				+ "median of the per-round ratios to thread mode's rate in the same round, [95%% bootstrap confidence "
				+ "interval]. One operation hands over 1 or 100 reports and waits (spinning, then yielding) until the "
				+ "dispatching thread has consumed them all.", this.options.repeats(),
				(jmh.forks() == 0) ? "this JVM" : (jmh.forks() == 1) ? "a fork of its own" : jmh.forks() + " forks",
				jmh.warmupIterations(), jmh.measurementIterations(), jmh.iterationMillis());
	}

	private static String table(Map<Case, List<Double>> opsPerSecond) {
		MarkdownTable table = new MarkdownTable("Hand-off", "1 report: round trips/s", "vs thread mode",
				"burst of 100: reports/s", "vs thread mode");
		PATHS.forEach((path, label) -> {
			List<Double> single = opsPerSecond.get(new Case(path, 1));
			List<Double> bursts = opsPerSecond.get(new Case(path, 100));
			table.row(label, Format.rate(summary(single, 1)), vsBaseline(opsPerSecond, path, 1),
					Format.rate(summary(bursts, 100)), vsBaseline(opsPerSecond, path, 100));
		});
		return table.toString();
	}

	private static String vsBaseline(Map<Case, List<Double>> opsPerSecond, String path, int burst) {
		if (path.equals(BASELINE)) {
			return "—";
		}
		return Format.ratio(MedianEstimate.of(PairedRatios.of(opsPerSecond.get(new Case(path, burst)),
				opsPerSecond.get(new Case(BASELINE, burst)))));
	}

	private String chart(Map<Case, List<Double>> opsPerSecond) {
		BarChart chart = new BarChart("Reports handed to the dispatching thread per second (JMH, median)", null,
				"reports / s", "#,##0").logarithmic();
		PATHS.forEach((path, label) -> {
			chart.add("1 report per round trip", label, summary(opsPerSecond.get(new Case(path, 1)), 1).median());
			chart.add("bursts of 100", label, summary(opsPerSecond.get(new Case(path, 100)), 100).median());
		});
		chart.write(this.charts.path(KEY));
		return this.charts.image(KEY, "Hand-off throughput by path");
	}

	/** Reports per second: operations per second times the reports each operation hands over. */
	private static Summary summary(List<Double> opsPerSecond, int reportsPerOperation) {
		return Summary.of(opsPerSecond, (ops) -> ops * reportsPerOperation);
	}

	/** One benchmark case: a hand-off path and how many reports an operation hands over. */
	private record Case(String path, int burst) {

		@Override
		public String toString() {
			return this.path + " ×" + this.burst;
		}

	}

}
