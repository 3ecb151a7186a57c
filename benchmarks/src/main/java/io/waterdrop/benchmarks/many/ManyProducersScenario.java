package io.waterdrop.benchmarks.many;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerConfig;
import io.waterdrop.ProducerRegistry;
import io.waterdrop.ProducerStatus;
import io.waterdrop.benchmarks.BenchmarkOptions;
import io.waterdrop.benchmarks.BenchmarkOptions.ManySettings;
import io.waterdrop.benchmarks.Scenario;
import io.waterdrop.benchmarks.report.Format;
import io.waterdrop.benchmarks.report.MarkdownTable;
import io.waterdrop.benchmarks.report.ReportBlock;
import io.waterdrop.benchmarks.support.ClientSettings;
import io.waterdrop.benchmarks.support.Payloads;
import io.waterdrop.benchmarks.support.ProcessResources;
import io.waterdrop.benchmarks.support.Progress;
import io.waterdrop.benchmarks.support.Resources;

/**
 * Scenario "many": N runtime producers ({@link ProducerRegistry}) of which A keep sending while the others
 * idle, in fd and thread mode, with and without idle disconnect. Every producer sends one message first, so
 * that each has connected once (tenants that were all busy at some time); then the active ones send one
 * message every {@link #PACE} each, and once the idle ones have settled (disconnected, with idle
 * disconnect) the figures are taken: connected clients, threads, resident memory, heap, broker connections
 * and file descriptors of this process, and the rate the active producers kept up. One run per setup: it
 * is a resource snapshot, not a timed comparison.
 */
public final class ManyProducersScenario {

	static final String TOPIC = "many-producers";

	/** The producers of the figure; fewer make a reduced run, labelled so. */
	static final int FULL_PRODUCERS = 1000;

	/** How often each active producer sends. */
	static final Duration PACE = Duration.ofMillis(10);

	/** Longest wait for the idle producers to disconnect, beyond the idle timeout itself. */
	private static final Duration SETTLE_GUARD = Duration.ofSeconds(120);

	/** Longest wait for threads of a setup (closes, disconnects) to end before the next one starts. */
	private static final Duration THREADS_END_GUARD = Duration.ofSeconds(90);

	private static final String KEY = Scenario.MANY.key();

	/** The name of WaterDrop's threads that close idle clients off the polling threads. */
	private static final String CLIENT_WORK_THREADS = "waterdrop.client-work";

	private final BenchmarkOptions options;

	private final ClientSettings settings;

	public ManyProducersScenario(BenchmarkOptions options, ClientSettings settings) {
		this.options = options;
		this.settings = settings;
	}

	/**
	 * Runs every setup and describes them.
	 * @param provenance when, where and on what the run was made (with the load average at its start)
	 */
	public ReportBlock run(String provenance) {
		this.settings.createTopics(List.of(TOPIC));
		ManySettings many = this.options.many();
		// Unmeasured: loads the classes and compiles the code every setup uses, so the first one measured does
		// not pay for it in resident memory.
		// A quick run skips it, and the wait for client-work threads (smoke figures either way).
		if (!this.options.quick()) {
			Progress.log(KEY, "warming up the process");
			for (ManySetup setup : ManySetup.values()) {
				trial(setup, new ManySettings(Math.min(20, many.producers()), Math.min(2, many.active()),
						many.idleDisconnect(), Duration.ofMillis(200)));
				awaitThreadsEnded(true);
			}
		}
		Map<ManySetup, ManyResult> results = new EnumMap<>(ManySetup.class);
		for (ManySetup setup : ManySetup.values()) {
			Progress.log(KEY, setup.label() + ": " + many.producers() + " producers, " + many.active() + " active");
			results.put(setup, trial(setup, many));
			awaitThreadsEnded(!this.options.quick());
		}
		String reduced = (many.producers() < FULL_PRODUCERS) ? String.format(Locale.ROOT,
				"**Reduced run**: %,d producers instead of %,d. ", many.producers(), FULL_PRODUCERS) : "";
		return new ReportBlock(KEY, reduced + provenance + " Load average " + loadAverage() + " at the end. "
				+ settingsLine(many) + "\n\n" + table(results));
	}

	private ManyResult trial(ManySetup setup, ManySettings many) {
		Resources.Snapshot before = Resources.snapshot();
		int fdsBefore = ProcessResources.openFileDescriptors();
		ProducerRegistry registry = new ProducerRegistry();
		Sender sender = null;
		try {
			List<Producer> producers = new ArrayList<>();
			for (int i = 0; i < many.producers(); i++) {
				String name = "many-" + setup.key() + "-" + i;
				producers.add(registry.create(name, config(setup, many, name)));
			}
			warmUp(producers);
			long warmedAt = System.nanoTime();
			Progress.log(KEY, setup.label() + ": every producer delivered once");
			List<Producer> active = producers.subList(0, many.active());
			sender = new Sender(active);
			sender.start();
			if (setup.idleDisconnect()) {
				awaitConnected(producers, many.active(), many.idleDisconnect().plus(SETTLE_GUARD));
			}
			else {
				LockSupport.parkNanos(Duration.ofSeconds(1).toNanos());
			}
			long settleMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - warmedAt);
			long acknowledgedBefore = acknowledged(active);
			long sampleStart = System.nanoTime();
			LockSupport.parkNanos(many.measure().toNanos());
			double activeRate = (acknowledged(active) - acknowledgedBefore)
					/ ((System.nanoTime() - sampleStart) / 1e9);
			int peakThreads = Resources.peakThreads();
			int connected = (int) producers.stream().filter((p) -> p.status() == ProducerStatus.CONNECTED).count();
			int brokerConnections = ProcessResources.connectionsTo(this.settings.brokerPort());
			int fds = ProcessResources.openFileDescriptors();
			int networkThreads = threadsNamed("kafka-producer-network-thread | many-");
			int waterdropThreads = threadsNamed("waterdrop.poller") + threadsNamed("waterdrop.dispatch-");
			int clientWorkThreads = threadsNamed(CLIENT_WORK_THREADS);
			Resources.Snapshot at = Resources.snapshot();
			ManyResult result = new ManyResult(connected, at.liveThreads() - before.liveThreads(), networkThreads,
					waterdropThreads, clientWorkThreads, peakThreads - before.liveThreads(),
					(at.rssBytes() < 0 || before.rssBytes() < 0) ? -1 : at.rssBytes() - before.rssBytes(),
					at.heapBytes() - before.heapBytes(), brokerConnections,
					(fds < 0 || fdsBefore < 0) ? -1 : fds - fdsBefore, activeRate, settleMillis);
			Progress.log(KEY, setup.label() + ": " + result);
			return result;
		}
		finally {
			if (sender != null) {
				sender.stop();
			}
			registry.closeAll(Duration.ofSeconds(30));
		}
	}

	private ProducerConfig config(ManySetup setup, ManySettings many, String name) {
		return ProducerConfig.builder()
			.id(name)
			.kafka(this.settings.producer(name, null))
			.pollingMode(setup.mode())
			.idleDisconnectTimeout(setup.idleDisconnect() ? many.idleDisconnect() : Duration.ZERO)
			.statisticsInterval(Duration.ZERO)
			.maxWaitTimeout(Duration.ofSeconds(60))
			.build();
	}

	/** Every producer sends one message and waits for it: each connects, as every tenant once did. */
	private void warmUp(List<Producer> producers) {
		byte[] payload = Payloads.random();
		ExecutorService executor = Executors.newFixedThreadPool(4, (task) -> {
			Thread thread = new Thread(task, "many-warm-up");
			thread.setDaemon(true);
			return thread;
		});
		try {
			List<Future<?>> sends = new ArrayList<>();
			for (Producer producer : producers) {
				sends.add(executor.submit(() -> producer.produceSync(Message.of(TOPIC, payload))));
			}
			for (Future<?> send : sends) {
				send.get();
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted", ex);
		}
		catch (java.util.concurrent.ExecutionException ex) {
			throw new IllegalStateException("A warm-up send failed", ex.getCause());
		}
		finally {
			executor.shutdownNow();
		}
	}

	/** Waits until only the active producers (or fewer) hold a client; gives up after the guard. */
	private static void awaitConnected(List<Producer> producers, int expected, Duration guard) {
		long deadline = System.nanoTime() + guard.toNanos();
		while (true) {
			long connected = producers.stream().filter((p) -> p.status() == ProducerStatus.CONNECTED).count();
			if (connected <= expected) {
				return;
			}
			if (System.nanoTime() > deadline) {
				Progress.log(KEY, connected + " producers still connected after " + guard + "; measuring anyway");
				return;
			}
			LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
		}
	}

	/**
	 * Waits until the closes (and, unless a quick run, the idle disconnects, whose client-work threads live a
	 * minute unused) of the last setup have no thread left, so that the next setup does not count them.
	 */
	private static void awaitThreadsEnded(boolean clientWorkThreadsToo) {
		long deadline = System.nanoTime() + THREADS_END_GUARD.toNanos();
		while ((clientWorkThreadsToo ? threadsNamed(CLIENT_WORK_THREADS) : 0) + threadsNamed("waterdrop.close-")
				+ threadsNamed("kafka-producer-network-thread | many-") > 0 && System.nanoTime() < deadline) {
			LockSupport.parkNanos(Duration.ofMillis(200).toNanos());
		}
	}

	private static String loadAverage() {
		try {
			String[] fields = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ");
			return fields[0] + " / " + fields[1] + " / " + fields[2];
		}
		catch (java.io.IOException | RuntimeException ex) {
			return "(unknown)";
		}
	}

	private static long acknowledged(List<Producer> producers) {
		return producers.stream().mapToLong((producer) -> producer.stats().acknowledged()).sum();
	}

	private static int threadsNamed(String prefix) {
		return (int) Thread.getAllStackTraces()
			.keySet()
			.stream()
			.filter((thread) -> thread.isAlive() && thread.getName().startsWith(prefix))
			.count();
	}

	private String settingsLine(ManySettings many) {
		return String.format(Locale.ROOT, "%,d runtime producers (`ProducerRegistry`), each of which first sent one "
				+ "%d B message and waited for it (so each connected once); then %d of them kept sending, one "
				+ "message every %d ms each, while the others idled. With idle disconnect (`idle-disconnect-timeout` "
				+ "%d ms) the figures were taken once only the active producers held a Kafka client, otherwise after "
				+ "1 s; then sampled for %d ms. *Added*: compared with the same process before the producers were "
				+ "created, after an unmeasured pass of every setup with a few producers (classes loaded, code "
				+ "compiled). *Polling threads*: the Poller (fd) or dispatch threads (thread). *Client-work "
				+ "threads*: WaterDrop's (at most two) threads that close idle clients off the polling threads; they "
				+ "end after 60 s unused. *Broker connections*: this process's established TCP connections to the "
				+ "broker. One run per setup, in this order; Kafka broker in its own process on the same machine.",
				many.producers(), BenchmarkOptions.PAYLOAD_SIZE, many.active(), PACE.toMillis(),
				many.idleDisconnect().toMillis(), many.measure().toMillis());
	}

	private static String table(Map<ManySetup, ManyResult> results) {
		MarkdownTable table = new MarkdownTable("Setup", "connected clients", "live threads added",
				"Kafka network / polling / client-work threads", "peak threads added", "RSS growth (MiB)",
				"heap growth (MiB)", "broker connections", "file descriptors added", "active msg/s", "settled after");
		results.forEach((setup, result) -> table.row(setup.label(), String.valueOf(result.connected()),
				String.valueOf(result.addedThreads()),
				result.networkThreads() + " / " + result.waterdropThreads() + " / " + result.clientWorkThreads(),
				String.valueOf(result.peakAddedThreads()), Format.mebibytesOrUnknown(result.rssGrowthBytes()),
				Format.mebibytesOrUnknown(result.heapGrowthBytes()), count(result.brokerConnections()),
				count(result.addedFileDescriptors()), Format.rate(result.activeRate()),
				String.format(Locale.ROOT, "%.1f s", result.settleMillis() / 1000.0)));
		return table.toString();
	}

	private static String count(int value) {
		return (value < 0) ? "n/a" : String.format(Locale.ROOT, "%,d", value);
	}

	/** Sends one message per active producer every {@link #PACE} on a thread of its own. */
	private static final class Sender implements Runnable {

		private final List<Producer> producers;

		private final byte[] payload = Payloads.random();

		private final Thread thread = new Thread(this, "many-sender");

		private volatile boolean stopped;

		Sender(List<Producer> producers) {
			this.producers = List.copyOf(producers);
			this.thread.setDaemon(true);
		}

		void start() {
			this.thread.start();
		}

		@Override
		public void run() {
			long next = System.nanoTime();
			while (!this.stopped) {
				for (Producer producer : this.producers) {
					producer.produceAsync(Message.of(TOPIC, this.payload));
				}
				next += PACE.toNanos();
				LockSupport.parkNanos(next - System.nanoTime());
			}
		}

		void stop() {
			this.stopped = true;
			try {
				this.thread.join(TimeUnit.SECONDS.toMillis(30));
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}

	}

}
