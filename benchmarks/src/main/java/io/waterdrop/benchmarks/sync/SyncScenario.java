package io.waterdrop.benchmarks.sync;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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
 * Scenario 2, the source article's async/fiber table: a fixed number of synchronous sends, sequential on one
 * thread, in a few concurrent streams, from many virtual threads on one producer, and from several
 * producers on their own platform threads.
 */
public final class SyncScenario {

	private static final String KEY = Scenario.SYNC.key();

	private static final List<ClientKind> KINDS = List.of(ClientKind.WATERDROP_FD, ClientKind.WATERDROP_THREAD,
			ClientKind.RAW_KAFKA);

	private final BenchmarkOptions options;

	private final ClientSettings settings;

	private final ChartFiles charts;

	public SyncScenario(BenchmarkOptions options, ClientSettings settings, ChartFiles charts) {
		this.options = options;
		this.settings = settings;
		this.charts = charts;
	}

	public ReportBlock run() {
		List<SyncShape> shapes = shapes();
		List<SyncCase> cases = new ArrayList<>();
		for (SyncShape shape : shapes) {
			for (ClientKind kind : KINDS) {
				cases.add(new SyncCase(shape, kind));
			}
		}
		this.settings.createTopics(KINDS.stream().map((kind) -> new SyncCase(shapes.get(0), kind).topic()).toList());
		SyncTrial trial = new SyncTrial(this.settings, this.options.syncMessages(), this.options.syncLingerMs(),
				Payloads.random());
		Map<SyncCase, List<SyncResult>> results = Rounds.run(KEY, cases, this.options.warmups(),
				this.options.repeats(), trial::run);
		return new ReportBlock(KEY,
				settingsLine() + "\n\n" + table(shapes, results) + "\n" + chart(shapes, results) + "\n");
	}

	private List<SyncShape> shapes() {
		List<SyncShape> shapes = new ArrayList<>();
		shapes.add(new SyncShape("1 thread, sequential", 1, 1, false));
		shapes.add(new SyncShape("3 concurrent streams (virtual threads), 1 producer", 1, 3, true));
		for (int threads : this.options.virtualThreads()) {
			shapes.add(new SyncShape(String.format("%,d virtual threads, 1 producer", threads), 1, threads, true));
		}
		int producers = this.options.syncProducers();
		shapes.add(new SyncShape(producers + " producers on " + producers + " platform threads", producers, producers,
				false));
		return shapes;
	}

	private String settingsLine() {
		return String.format("%,d synchronous sends of %d B per trial (`produceSync`; `send().get()` for raw "
				+ "kafka-clients), shared evenly by the sending threads. `acks=%s`, `linger.ms=%d`, %d partition(s). "
				+ "%d warm-up round(s), then %d measured rounds interleaved in shuffled order. Each cell: msg/s, then "
				+ "p50 / p99 latency of one send in ms; medians over the rounds, msg/s with its min–max.",
				this.options.syncMessages(), BenchmarkOptions.PAYLOAD_SIZE, this.settings.acks(),
				this.options.syncLingerMs(), this.settings.partitions(), this.options.warmups(),
				this.options.repeats());
	}

	private String table(List<SyncShape> shapes, Map<SyncCase, List<SyncResult>> results) {
		List<String> header = new ArrayList<>();
		header.add("Shape");
		KINDS.forEach((kind) -> header.add(kind.label()));
		header.add("vs sequential (fd)");
		MarkdownTable table = new MarkdownTable(header.toArray(String[]::new));
		double sequential = median(results.get(new SyncCase(shapes.get(0), ClientKind.WATERDROP_FD)));
		for (SyncShape shape : shapes) {
			List<String> row = new ArrayList<>();
			row.add(shape.label());
			for (ClientKind kind : KINDS) {
				List<SyncResult> runs = results.get(new SyncCase(shape, kind));
				row.add(Format.rate(Summary.of(runs, SyncResult::messagesPerSecond)) + "<br>"
						+ Format.millis(Summary.of(runs, SyncResult::p50Millis).median()) + " / "
						+ Format.millis(Summary.of(runs, SyncResult::p99Millis).median()) + " ms");
			}
			row.add(String.format("%.1f×", median(results.get(new SyncCase(shape, ClientKind.WATERDROP_FD))) / sequential));
			table.row(row.toArray(String[]::new));
		}
		return table.toString();
	}

	private String chart(List<SyncShape> shapes, Map<SyncCase, List<SyncResult>> results) {
		BarChart chart = new BarChart(String.format("Synchronous sends, %,d per trial (median)",
				this.options.syncMessages()), null, "messages / s", "#,##0").logarithmic();
		for (SyncShape shape : shapes) {
			for (ClientKind kind : KINDS) {
				chart.add(kind.label(), shape.label(), median(results.get(new SyncCase(shape, kind))));
			}
		}
		chart.write(this.charts.path(KEY));
		return this.charts.image(KEY, "Synchronous sends by concurrency shape and client");
	}

	private static double median(List<SyncResult> runs) {
		return Summary.of(runs, SyncResult::messagesPerSecond).median();
	}

}
