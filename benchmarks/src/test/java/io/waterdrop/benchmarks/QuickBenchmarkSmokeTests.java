package io.waterdrop.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.waterdrop.benchmarks.report.ReportBlock;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs the whole harness (JMH in this JVM, a real broker in its own process) in a mode even smaller than
 * {@code --quick}, writing to a temporary report: proves every scenario runs and produces its table and
 * chart. The numbers are not checked.
 */
class QuickBenchmarkSmokeTests {

	private static final byte[] PNG_SIGNATURE = { (byte) 0x89, 'P', 'N', 'G' };

	@TempDir
	Path directory;

	@Test
	void everyScenarioWritesItsTableAndChartBetweenTheProse() throws IOException {
		Path report = this.directory.resolve("report.md");
		Files.writeString(report, """
				# Hand-written title

				Prose before.

				<!-- benchmark:throughput -->
				stale table
				<!-- /benchmark:throughput -->

				Prose after.
				""");

		List<ReportBlock> blocks = Harness.run(BenchmarkOptions.parse("--quick", "--output", report.toString(),
				"--scenarios", "throughput,callbacks,sync,isolation,handoff,profile", "--warmups", "0", "--repeats",
				"1", "--producers", "1,2", "--messages", "200", "--callback-micros", "0,5", "--callback-producers",
				"1", "--sync-messages", "60", "--virtual-threads", "10", "--sync-producers", "2",
				"--isolation-messages", "50", "--jmh-forks", "0", "--jmh-warmups", "0", "--jmh-iterations", "1",
				"--jmh-iteration-ms", "100", "--profile-producers", "2", "--profile-warmup-ms", "0", "--profile-ms",
				"500", "--profile-label", "smoke", "--profile-file", this.directory.resolve("smoke.jfr").toString()));

		assertThat(blocks).extracting(ReportBlock::key)
			.containsExactly("environment", "throughput", "callbacks", "sync", "isolation", "handoff",
					"profile-smoke");
		assertThat(blocks).filteredOn((block) -> !block.key().equals("environment"))
			.allSatisfy((block) -> assertThat(block.markdown()).contains("Recorded on ").contains(" at commit "));
		String text = Files.readString(report);
		assertThat(text).startsWith("# Hand-written title\n\nProse before.\n")
			.contains("Prose after.")
			.doesNotContain("stale table")
			.contains(Harness.SMOKE_NOTICE)
			.contains("| Producers | Client | msg/s | vs raw | vs lean | allocated / msg | CPU / msg |")
			.contains("| 2 | lean hand-off |")
			.contains("| Producers | Client | vs raw | raw's CPU / msg ÷ this CPU / msg | this JVM's CPU / msg |")
			.contains("| 2 | WaterDrop fd + meters |")
			.contains("| 2 | KafkaTemplate + observation |")
			.contains("| 5 µs | 1 |")
			.contains("**Poller thread** (`waterdrop.poller#0`)")
			.contains("| 1 thread, sequential |")
			.contains("| B beside A on the global Poller (default settings")
			.contains("| B beside A on the global Poller, no yielding")
			.contains("| WaterDrop fd mode (pipe + selector) |")
			.contains("| lean hand-off (stack + pipe + selector) |")
			.contains("| Kafka | broker 4.1.2");
		assertThat(this.directory.resolve("smoke.jfr")).isNotEmptyFile();
		for (String chart : List.of("throughput", "callbacks", "sync", "isolation", "handoff")) {
			Path png = this.directory.resolve("report-" + chart + ".png");
			assertThat(text).contains("](report-" + chart + ".png)");
			assertThat(Files.readAllBytes(png)).startsWith(PNG_SIGNATURE);
		}
	}

}
