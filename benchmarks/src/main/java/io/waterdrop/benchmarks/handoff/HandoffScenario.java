package io.waterdrop.benchmarks.handoff;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;
import org.openjdk.jmh.util.Statistics;

import io.waterdrop.benchmarks.BenchmarkOptions;
import io.waterdrop.benchmarks.Scenario;
import io.waterdrop.benchmarks.report.BarChart;
import io.waterdrop.benchmarks.report.ChartFiles;
import io.waterdrop.benchmarks.report.Format;
import io.waterdrop.benchmarks.report.MarkdownTable;
import io.waterdrop.benchmarks.report.ReportBlock;
import io.waterdrop.benchmarks.support.Progress;
import io.waterdrop.benchmarks.support.Summary;

/**
 * Scenario 4: runs {@link HandoffBenchmark} with JMH (no broker) and reports operations per second as the
 * median and range of the measurement iterations.
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

	private final BenchmarkOptions options;

	private final ChartFiles charts;

	public HandoffScenario(BenchmarkOptions options, ChartFiles charts) {
		this.options = options;
		this.charts = charts;
	}

	public ReportBlock run() {
		BenchmarkOptions.JmhSettings jmh = this.options.jmh();
		Options run = new OptionsBuilder().include(Pattern.quote(HandoffBenchmark.class.getName()))
			.forks(jmh.forks())
			// A fixed heap rather than the harness's flags, which may pre-touch gigabytes.
			.jvmArgs("-Xms512m", "-Xmx512m")
			.warmupIterations(jmh.warmupIterations())
			.warmupTime(TimeValue.milliseconds(jmh.iterationMillis()))
			.measurementIterations(this.options.repeats())
			.measurementTime(TimeValue.milliseconds(jmh.iterationMillis()))
			.threads(1)
			.shouldFailOnError(true)
			.verbosity(VerboseMode.SILENT)
			.build();
		Progress.log(KEY, "JMH: " + PATHS.size() * 2 + " benchmarks, " + jmh.forks() + " fork(s), "
				+ jmh.warmupIterations() + " warm-up + " + this.options.repeats() + " iterations of "
				+ jmh.iterationMillis() + " ms each");
		Collection<RunResult> results;
		try {
			results = new Runner(run).run();
		}
		catch (RunnerException ex) {
			throw new IllegalStateException("JMH run failed", ex);
		}
		Map<String, Summary> opsPerSecond = new LinkedHashMap<>();
		for (RunResult result : results) {
			Statistics statistics = result.getPrimaryResult().getStatistics();
			Summary summary = new Summary(statistics.getPercentile(50), statistics.getMin(), statistics.getMax());
			String id = id(result.getParams().getParam("path"), Integer.parseInt(result.getParams().getParam("burst")));
			opsPerSecond.put(id, summary);
			Progress.log(KEY, id + ": " + Format.rate(summary) + " ops/s");
		}
		return new ReportBlock(KEY, settingsLine(jmh) + "\n\n" + table(opsPerSecond) + "\n" + chart(opsPerSecond) + "\n");
	}

	private String settingsLine(BenchmarkOptions.JmhSettings jmh) {
		return String.format("JMH, throughput mode, 1 thread; %d fork(s), %d warm-up and %d measured iterations of "
				+ "%d ms; median (min–max) over the measured iterations. One operation hands over 1 or 100 reports "
				+ "and waits (spinning, then yielding) until the dispatching thread has consumed them all.", jmh.forks(),
				jmh.warmupIterations(), this.options.repeats(), jmh.iterationMillis());
	}

	private static String table(Map<String, Summary> opsPerSecond) {
		MarkdownTable table = new MarkdownTable("Hand-off", "1 report: round trips/s", "burst of 100: bursts/s",
				"burst of 100: reports/s");
		PATHS.forEach((path, label) -> {
			Summary bursts = opsPerSecond.get(id(path, 100));
			table.row(label, Format.rate(opsPerSecond.get(id(path, 1))), Format.rate(bursts),
					Format.rate(scale(bursts, 100)));
		});
		return table.toString();
	}

	private String chart(Map<String, Summary> opsPerSecond) {
		BarChart chart = new BarChart("Reports handed to the dispatching thread per second (JMH, median)", null,
				"reports / s", "#,##0").logarithmic();
		PATHS.forEach((path, label) -> {
			chart.add("1 report per round trip", label, opsPerSecond.get(id(path, 1)).median());
			chart.add("bursts of 100", label, opsPerSecond.get(id(path, 100)).median() * 100);
		});
		chart.write(this.charts.path(KEY));
		return this.charts.image(KEY, "Hand-off throughput by path");
	}

	private static Summary scale(Summary summary, double factor) {
		return new Summary(summary.median() * factor, summary.min() * factor, summary.max() * factor);
	}

	private static String id(String path, int burst) {
		return path + " ×" + burst;
	}

}
