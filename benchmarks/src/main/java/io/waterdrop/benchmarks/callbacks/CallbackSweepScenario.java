package io.waterdrop.benchmarks.callbacks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.waterdrop.benchmarks.BenchmarkOptions;
import io.waterdrop.benchmarks.Scenario;
import io.waterdrop.benchmarks.clients.ClientKind;
import io.waterdrop.benchmarks.report.BarChart;
import io.waterdrop.benchmarks.report.ChartFiles;
import io.waterdrop.benchmarks.report.Format;
import io.waterdrop.benchmarks.report.MarkdownTable;
import io.waterdrop.benchmarks.report.ReportBlock;
import io.waterdrop.benchmarks.support.ClientSettings;
import io.waterdrop.benchmarks.support.CpuWork;
import io.waterdrop.benchmarks.support.Payloads;
import io.waterdrop.benchmarks.support.Progress;
import io.waterdrop.benchmarks.support.Rounds;
import io.waterdrop.benchmarks.throughput.ThroughputResult;
import io.waterdrop.benchmarks.throughput.ThroughputTrial;
import io.waterdrop.benchmarks.throughput.TrialResults;

/**
 * Scenario "callbacks": the throughput trial with delivery callbacks that each do a fixed amount of CPU
 * work, for fd mode, thread mode, raw kafka-clients and KafkaTemplate. Raw kafka-clients and KafkaTemplate
 * run the work on Kafka's network thread, which then sends less; fd mode runs it on the one shared Poller,
 * thread mode on one dispatch thread per producer. The sweep shows where moving the work off the network
 * thread wins, and where one Poller for all producers becomes the bottleneck.
 */
public final class CallbackSweepScenario {

	private static final String KEY = Scenario.CALLBACKS.key();

	private static final List<ClientKind> KINDS = List.of(ClientKind.RAW_KAFKA, ClientKind.WATERDROP_FD,
			ClientKind.WATERDROP_THREAD, ClientKind.KAFKA_TEMPLATE);

	private final BenchmarkOptions options;

	private final ClientSettings settings;

	private final ChartFiles charts;

	public CallbackSweepScenario(BenchmarkOptions options, ClientSettings settings, ChartFiles charts) {
		this.options = options;
		this.settings = settings;
		this.charts = charts;
	}

	public ReportBlock run() {
		CpuWork work = CpuWork.calibrate();
		Progress.log(KEY, String.format(Locale.ROOT, "calibrated: %.0f loop iterations per µs", work.iterationsPerMicro()));
		List<CallbackCase> cases = new ArrayList<>();
		for (int micros : this.options.callbackMicros()) {
			for (int producers : this.options.callbackProducers()) {
				for (ClientKind kind : KINDS) {
					cases.add(new CallbackCase(kind, producers, micros));
				}
			}
		}
		ThroughputTrial trial = new ThroughputTrial(this.settings, this.options.trial(), this.options.window(),
				Payloads.random());
		TrialResults<CallbackCase> results = new TrialResults<>(Rounds.run(KEY, cases, this.options.warmups(),
				this.options.repeats(),
				(c) -> trial.run(c.kind(), c.producers(), c.topicPrefix(), work.iterationsFor(c.micros()))));
		return new ReportBlock(KEY,
				settingsLine(work) + "\n\n" + table(results) + "\n" + chart(results) + "\n");
	}

	private String settingsLine(CpuWork work) {
		return String.format(Locale.ROOT,
				"The throughput trial (%s, at most %,d messages in flight per producer) with every delivery callback "
						+ "first running a fixed arithmetic loop calibrated at the start to the given CPU time "
						+ "(%.0f iterations per µs on the fastest of 15 timed runs). %d warm-up round(s), then %d "
						+ "measured rounds, all cases once per round in shuffled order. *raw*: msg/s, median "
						+ "(min–max). The other columns: median of the per-round ratios to raw kafka-clients with "
						+ "the same work and producers in the same round [95%% bootstrap confidence interval]; "
						+ "*fd vs thread* pairs those two the same way.",
				this.options.trial(), this.options.window(), work.iterationsPerMicro(), this.options.warmups(),
				this.options.repeats());
	}

	private String table(TrialResults<CallbackCase> results) {
		MarkdownTable table = new MarkdownTable("Callback work", "Producers", "raw kafka-clients (msg/s)",
				"WaterDrop fd vs raw", "WaterDrop thread vs raw", "KafkaTemplate vs raw", "fd vs thread",
				"CPU / msg (raw / fd / thread)");
		for (int micros : this.options.callbackMicros()) {
			for (int producers : this.options.callbackProducers()) {
				CallbackCase raw = new CallbackCase(ClientKind.RAW_KAFKA, producers, micros);
				CallbackCase fd = raw.with(ClientKind.WATERDROP_FD);
				CallbackCase thread = raw.with(ClientKind.WATERDROP_THREAD);
				table.row(micros + " µs", String.valueOf(producers),
						Format.rate(results.summary(raw, ThroughputResult::messagesPerSecond)),
						Format.ratio(results.pairedRatio(fd, raw)), Format.ratio(results.pairedRatio(thread, raw)),
						Format.ratio(results.pairedRatio(raw.with(ClientKind.KAFKA_TEMPLATE), raw)),
						Format.ratio(results.pairedRatio(fd, thread)),
						cpu(results, raw) + " / " + cpu(results, fd) + " / " + cpu(results, thread));
			}
		}
		return table.toString();
	}

	private static String cpu(TrialResults<CallbackCase> results, CallbackCase c) {
		return String.format(Locale.ROOT, "%.2f",
				results.summary(c, ThroughputResult::cpuMicrosPerMessage).median());
	}

	private String chart(TrialResults<CallbackCase> results) {
		BarChart chart = new BarChart("Throughput with slow callbacks (median msg/s)", null, "messages / s", "#,##0")
			.logarithmic();
		for (int micros : this.options.callbackMicros()) {
			for (int producers : this.options.callbackProducers()) {
				String category = micros + " µs, " + producers + " producer" + ((producers == 1) ? "" : "s");
				for (ClientKind kind : KINDS) {
					chart.add(kind.label(), category, results
						.summary(new CallbackCase(kind, producers, micros), ThroughputResult::messagesPerSecond)
						.median());
				}
			}
		}
		chart.write(this.charts.path(KEY));
		return this.charts.image(KEY, "Throughput by callback work, producer count and client");
	}

}
