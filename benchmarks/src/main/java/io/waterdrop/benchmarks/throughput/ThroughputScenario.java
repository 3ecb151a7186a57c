package io.waterdrop.benchmarks.throughput;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

import io.waterdrop.benchmarks.BenchmarkOptions;
import io.waterdrop.benchmarks.Scenario;
import io.waterdrop.benchmarks.clients.ClientKind;
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
 * Scenario 1, the source article's table: N producers × M asynchronous messages each, for WaterDrop in
 * both modes, raw kafka-clients and spring-kafka's KafkaTemplate.
 */
public final class ThroughputScenario {

	private static final String KEY = Scenario.THROUGHPUT.key();

	private final BenchmarkOptions options;

	private final ClientSettings settings;

	private final ChartFiles charts;

	public ThroughputScenario(BenchmarkOptions options, ClientSettings settings, ChartFiles charts) {
		this.options = options;
		this.settings = settings;
		this.charts = charts;
	}

	public ReportBlock run() {
		List<ThroughputCase> cases = new ArrayList<>();
		for (int producers : this.options.producers()) {
			for (ClientKind kind : ClientKind.values()) {
				cases.add(new ThroughputCase(kind, producers));
			}
		}
		this.settings.createTopics(cases.stream().map(ThroughputCase::topic).toList());
		ThroughputTrial trial = new ThroughputTrial(this.settings, this.options.messages(), Payloads.random());
		Map<ThroughputCase, List<ThroughputResult>> results = Rounds.run(KEY, cases, this.options.warmups(),
				this.options.repeats(), trial::run);
		return new ReportBlock(KEY, settingsLine() + "\n\n" + rateTable(results) + "\n" + costTable(results) + "\n"
				+ chart(results) + "\n");
	}

	private String settingsLine() {
		return String.format(
				"%,d messages of %d B per producer, each producer sending from its own platform thread with an "
						+ "asynchronous send and an inline counting callback; timed until the last report reached its "
						+ "callback. `acks=%s`, `linger.ms` left at the client default (5 ms), %d partition(s) per topic, "
						+ "one topic per client and producer count. %d warm-up round(s), then %d measured rounds "
						+ "interleaved in shuffled order; median (min–max).",
				this.options.messages(), BenchmarkOptions.PAYLOAD_SIZE, this.settings.acks(),
				this.settings.partitions(), this.options.warmups(), this.options.repeats());
	}

	private String rateTable(Map<ThroughputCase, List<ThroughputResult>> results) {
		MarkdownTable table = new MarkdownTable("Producers", "WaterDrop thread (msg/s)", "WaterDrop fd (msg/s)",
				"fd vs thread", "raw kafka-clients (msg/s)", "spring-kafka KafkaTemplate (msg/s)");
		for (int producers : this.options.producers()) {
			table.row(String.valueOf(producers), rate(results, ClientKind.WATERDROP_THREAD, producers),
					rate(results, ClientKind.WATERDROP_FD, producers),
					Format.change(pairedRatio(results, ClientKind.WATERDROP_FD, ClientKind.WATERDROP_THREAD, producers)),
					rate(results, ClientKind.RAW_KAFKA, producers), rate(results, ClientKind.KAFKA_TEMPLATE, producers));
		}
		return table.toString();
	}

	private String costTable(Map<ThroughputCase, List<ThroughputResult>> results) {
		MarkdownTable table = new MarkdownTable("Producers", "Client", "vs raw", "client threads", "heap growth (MiB)",
				"RSS growth (MiB)", "allocated / msg");
		for (int producers : this.options.producers()) {
			for (ClientKind kind : ClientKind.values()) {
				List<ThroughputResult> runs = results.get(new ThroughputCase(kind, producers));
				table.row(String.valueOf(producers), kind.label(),
						Format.ratio(pairedRatio(results, kind, ClientKind.RAW_KAFKA, producers)),
						Format.count(Summary.of(runs, ThroughputResult::clientThreads)),
						Format.mebibytes(Summary.of(runs, ThroughputResult::heapGrowth)),
						Format.mebibytes(Summary.of(runs, ThroughputResult::rssGrowth)),
						Format.bytes(Summary.of(runs, ThroughputResult::allocatedPerMessage)));
			}
		}
		return table.toString();
	}

	private String chart(Map<ThroughputCase, List<ThroughputResult>> results) {
		BarChart chart = new BarChart("Async throughput, " + String.format("%,d", this.options.messages())
				+ " × 100 B per producer (median)", "producers", "messages / s", "#,##0");
		for (int producers : this.options.producers()) {
			for (ClientKind kind : ClientKind.values()) {
				chart.add(kind.label(), String.valueOf(producers),
						median(results, kind, producers, ThroughputResult::messagesPerSecond));
			}
		}
		chart.write(this.charts.path(KEY));
		return this.charts.image(KEY, "Async throughput by producer count and client");
	}

	private static String rate(Map<ThroughputCase, List<ThroughputResult>> results, ClientKind kind, int producers) {
		return Format.rate(Summary.of(results.get(new ThroughputCase(kind, producers)),
				ThroughputResult::messagesPerSecond));
	}

	private static double median(Map<ThroughputCase, List<ThroughputResult>> results, ClientKind kind,
			int producers, ToDoubleFunction<ThroughputResult> figure) {
		return Summary.of(results.get(new ThroughputCase(kind, producers)), figure).median();
	}

	/** Ratio of two clients' rates taken in the same round, summarized over the rounds. */
	private static Summary pairedRatio(Map<ThroughputCase, List<ThroughputResult>> results, ClientKind kind,
			ClientKind base, int producers) {
		List<ThroughputResult> runs = results.get(new ThroughputCase(kind, producers));
		List<ThroughputResult> baseRuns = results.get(new ThroughputCase(base, producers));
		double[] ratios = new double[runs.size()];
		for (int i = 0; i < ratios.length; i++) {
			ratios[i] = runs.get(i).messagesPerSecond() / baseRuns.get(i).messagesPerSecond();
		}
		return Summary.of(ratios);
	}

}
