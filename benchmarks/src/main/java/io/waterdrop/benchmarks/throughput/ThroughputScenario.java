package io.waterdrop.benchmarks.throughput;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
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
import io.waterdrop.benchmarks.support.ThreadCosts;

/**
 * Scenario 1: N producers sending asynchronously, every client of {@link ClientKind} side by side in the
 * same rounds, each compared with raw kafka-clients (and with the lean hand-off) by paired per-round ratios;
 * the production rows compared with their bare rows the same way; and what each client costs in threads
 * and memory.
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
			for (ClientKind kind : this.options.clients()) {
				cases.add(new ThroughputCase(kind, producers));
			}
		}
		ThroughputTrial trial = new ThroughputTrial(this.settings, this.options.trial(), this.options.window(),
				Payloads.random());
		TrialResults<ThroughputCase> results = new TrialResults<>(Rounds.run(KEY, cases, this.options.warmups(),
				this.options.repeats(), (c) -> trial.run(c.kind(), c.producers(), c.topicPrefix(), 0)));
		return new ReportBlock(KEY, settingsLine() + "\n\n" + throughputTable(results) + "\n"
				+ costsByThreadTable(results) + "\n" + cpuBudgetTable(results) + "\n" + productionTable(results) + "\n"
				+ yieldTable(results) + "\n" + resourceTable(results) + "\n" + chart(results) + "\n");
	}

	private String settingsLine() {
		return String.format("Each producer sends 100 B messages asynchronously from its own platform thread for %s, "
				+ "at most %,d messages in flight, each report counted by an inline callback; a trial is timed "
				+ "from the senders' release until the last report reached its callback. `acks=%s`, `linger.ms` "
				+ "at the client default (5 ms), %d partition(s) per topic, a new topic for every trial. %d warm-up round(s), then %d measured rounds, every client and producer count once per "
				+ "round in shuffled order (the first round in the order of this table, fewest producers first). "
				+ "msg/s: median (min–max) over the rounds. *vs raw* and *vs lean*: "
				+ "median of the per-round ratios to that client's rate in the same round, [95%% bootstrap "
				+ "confidence interval]. *allocated / msg* and *CPU / msg*: all threads of the JVM over the timed "
				+ "run, divided by the messages; medians over the rounds. The second table splits both by "
				+ "thread (`ThreadMXBean`), CPU · bytes per message, medians: Kafka's network threads, the "
				+ "sending threads, the threads that dispatch reports (Poller, dispatch threads, the lean "
				+ "hand-off's Selector thread), and the rest. The third asks whether the host's CPU bounds the "
				+ "rates: *raw's CPU / msg ÷ this CPU / msg* is the per-round ratio of raw kafka-clients' CPU per "
				+ "message, this JVM's and the broker process's together (`/proc`), to this client's: the rate "
				+ "ratio that CPU per message alone gives when every processor is busy. *host busy*: the share of "
				+ "all processors' time that was busy during the trial (`/proc/stat`; time stolen by the "
				+ "hypervisor counts as busy), median (min–max).", this.options.trial(),
				this.options.window(), this.settings.acks(), this.settings.partitions(), this.options.warmups(),
				this.options.repeats());
	}

	private String throughputTable(TrialResults<ThroughputCase> results) {
		MarkdownTable table = new MarkdownTable("Producers", "Client", "msg/s", "vs raw", "vs lean", "allocated / msg",
				"CPU / msg");
		for (int producers : this.options.producers()) {
			ThroughputCase raw = new ThroughputCase(ClientKind.RAW_KAFKA, producers);
			ThroughputCase lean = new ThroughputCase(ClientKind.LEAN_HANDOFF, producers);
			for (ClientKind kind : this.options.clients()) {
				ThroughputCase c = new ThroughputCase(kind, producers);
				table.row(String.valueOf(producers), kind.label(),
						Format.rate(results.summary(c, ThroughputResult::messagesPerSecond)),
						(kind == ClientKind.RAW_KAFKA) ? "—" : Format.ratio(results.pairedRatio(c, raw)),
						(kind == ClientKind.LEAN_HANDOFF || !this.options.clients().contains(ClientKind.LEAN_HANDOFF)) ? "—"
								: Format.ratio(results.pairedRatio(c, lean)),
						Format.bytes(results.summary(c, ThroughputResult::allocatedPerMessage)),
						Format.micros(results.summary(c, ThroughputResult::cpuMicrosPerMessage).median()));
			}
		}
		return table.toString();
	}

	/**
	 * Where each client's costs per message go: which threads a hand-off adds work to, and which it relieves.
	 */
	private String costsByThreadTable(TrialResults<ThroughputCase> results) {
		MarkdownTable table = new MarkdownTable("Producers", "Client", "Kafka network threads", "senders",
				"dispatching threads", "rest (GC, JIT, other)");
		for (int producers : this.options.producers()) {
			for (ClientKind kind : this.options.clients()) {
				ThroughputCase c = new ThroughputCase(kind, producers);
				table.row(String.valueOf(producers), kind.label(), costs(results, c, ThreadCosts.Split::network),
						costs(results, c, ThreadCosts.Split::senders), costs(results, c, ThreadCosts.Split::dispatch),
						costs(results, c, ThreadCosts.Split::rest));
			}
		}
		return table.toString();
	}

	/**
	 * Whether the host's CPU bounds the rates: if every processor was busy, each client's rate relative to raw
	 * kafka-clients follows from CPU per message alone, raw's (this JVM plus the broker) over the client's.
	 * Empty when the broker's CPU time cannot be read.
	 */
	private String cpuBudgetTable(TrialResults<ThroughputCase> results) {
		ToDoubleFunction<ThroughputResult> cpu = ThroughputResult::clientAndBrokerCpuMicrosPerMessage;
		boolean known = this.options.producers().stream().allMatch((producers) -> this.options.clients().stream()
			.allMatch((kind) -> results.known(new ThroughputCase(kind, producers), cpu)
					&& results.known(new ThroughputCase(kind, producers), ThroughputResult::hostBusy)));
		if (!known) {
			return "";
		}
		MarkdownTable table = new MarkdownTable("Producers", "Client", "vs raw", "raw's CPU / msg ÷ this CPU / msg",
				"this JVM's CPU / msg", "broker's CPU / msg", "host busy");
		for (int producers : this.options.producers()) {
			ThroughputCase raw = new ThroughputCase(ClientKind.RAW_KAFKA, producers);
			for (ClientKind kind : this.options.clients()) {
				ThroughputCase c = new ThroughputCase(kind, producers);
				boolean isRaw = kind == ClientKind.RAW_KAFKA;
				String measured = isRaw ? "—" : Format.ratio(results.pairedRatio(c, raw));
				String predicted = isRaw ? "—"
						: Format.ratio(results.pairedRatio(c, raw, (result) -> 1 / cpu.applyAsDouble(result)));
				table.row(String.valueOf(producers), kind.label(), measured, predicted,
						Format.micros(results.summary(c, ThroughputResult::cpuMicrosPerMessage).median()),
						Format.micros(results.summary(c, ThroughputResult::brokerCpuMicrosPerMessage).median()),
						Format.percentage(results.summary(c, ThroughputResult::hostBusy)));
			}
		}
		return table.toString();
	}

	/** Median CPU and bytes per message of some threads: {@code 0.31 µs · 112 B}. */
	private static String costs(TrialResults<ThroughputCase> results, ThroughputCase c,
			Function<ThreadCosts.Split, ThreadCosts.Cost> part) {
		return Format.micros(results.summary(c, (result) -> result.cpuMicrosPerMessage(part)).median()) + " · "
				+ Format.bytes(results.summary(c, (result) -> result.allocatedPerMessage(part)).median());
	}

	/**
	 * fd mode with its slice rule (a slice yields to a waiting producer after min-time) against fd mode
	 * without it, same round: what the rule costs floods (nothing, if the ratio stays near 1).
	 */
	private String yieldTable(TrialResults<ThroughputCase> results) {
		if (!this.options.clients().contains(ClientKind.WATERDROP_FD)
				|| !this.options.clients().contains(ClientKind.WATERDROP_FD_NO_YIELD)) {
			return "";
		}
		MarkdownTable table = new MarkdownTable("Producers", "WaterDrop fd vs fd without yielding",
				"fd msg/s", "fd without yielding msg/s");
		for (int producers : this.options.producers()) {
			ThroughputCase yielding = new ThroughputCase(ClientKind.WATERDROP_FD, producers);
			ThroughputCase not = new ThroughputCase(ClientKind.WATERDROP_FD_NO_YIELD, producers);
			table.row(String.valueOf(producers), Format.ratio(results.pairedRatio(yielding, not)),
					Format.rate(results.summary(yielding, ThroughputResult::messagesPerSecond)),
					Format.rate(results.summary(not, ThroughputResult::messagesPerSecond)));
		}
		return table.toString();
	}

	/** Each production row against its bare row of the same round. */
	private String productionTable(TrialResults<ThroughputCase> results) {
		MarkdownTable table = new MarkdownTable("Producers", "Production row", "vs its bare row",
				"allocated / msg (bare → metered)", "CPU / msg (bare → metered)");
		for (int producers : this.options.producers()) {
			for (ClientKind kind : this.options.clients()) {
				if (!kind.instrumented() || !this.options.clients().contains(kind.bare())) {
					continue;
				}
				ThroughputCase metered = new ThroughputCase(kind, producers);
				ThroughputCase bare = new ThroughputCase(kind.bare(), producers);
				table.row(String.valueOf(producers), kind.label(), Format.ratio(results.pairedRatio(metered, bare)),
						Format.bytes(results.summary(bare, ThroughputResult::allocatedPerMessage)) + " → "
								+ Format.bytes(results.summary(metered, ThroughputResult::allocatedPerMessage)),
						Format.micros(results.summary(bare, ThroughputResult::cpuMicrosPerMessage).median()) + " → "
								+ Format.micros(results.summary(metered, ThroughputResult::cpuMicrosPerMessage).median()));
			}
		}
		return table.toString();
	}

	private String resourceTable(TrialResults<ThroughputCase> results) {
		MarkdownTable table = new MarkdownTable("Producers", "Client", "client threads", "live threads", "RSS (MiB)",
				"RSS growth (MiB)", "heap growth (MiB)");
		for (int producers : this.options.producers()) {
			for (ClientKind kind : this.options.clients()) {
				ThroughputCase c = new ThroughputCase(kind, producers);
				table.row(String.valueOf(producers), kind.label(),
						Format.count(results.summary(c, ThroughputResult::clientThreads)),
						Format.count(results.summary(c, ThroughputResult::liveThreads)),
						Format.mebibytesOrUnknown(results.summary(c, ThroughputResult::rssBytes).median()),
						Format.mebibytesOrUnknown(results.summary(c, ThroughputResult::rssGrowth).median()),
						Format.mebibytes(results.summary(c, ThroughputResult::heapGrowth)));
			}
		}
		return table.toString();
	}

	private String chart(TrialResults<ThroughputCase> results) {
		BarChart chart = new BarChart("Throughput relative to raw kafka-clients in the same round (median)",
				"producers", "× raw kafka-clients", "0.00");
		for (int producers : this.options.producers()) {
			ThroughputCase raw = new ThroughputCase(ClientKind.RAW_KAFKA, producers);
			for (ClientKind kind : this.options.clients()) {
				if (kind != ClientKind.RAW_KAFKA) {
					chart.add(kind.label(), String.valueOf(producers),
							results.pairedRatio(new ThroughputCase(kind, producers), raw).median());
				}
			}
		}
		chart.write(this.charts.path(KEY));
		return this.charts.image(KEY, "Async throughput relative to raw kafka-clients by producer count and client");
	}

}
