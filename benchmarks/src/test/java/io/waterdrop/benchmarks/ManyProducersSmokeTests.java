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
 * Runs the many-producers scenario in a tiny form (20 producers, 2 active) against a real broker in its own
 * process: proves it runs and writes its table, and only its block (a snapshot of its own, not the tables'
 * environment). The numbers are not checked.
 */
class ManyProducersSmokeTests {

	@TempDir
	Path directory;

	@Test
	void theManyProducersScenarioWritesItsTableForEverySetup() throws IOException {
		Path report = this.directory.resolve("report.md");
		List<ReportBlock> blocks = Harness.run(BenchmarkOptions.parse("--quick", "--output", report.toString(),
				"--scenarios", "many", "--many-producers", "20", "--many-active", "2", "--many-idle-ms", "500",
				"--many-measure-ms", "300"));

		assertThat(blocks).extracting(ReportBlock::key).containsExactly("many");
		assertThat(Files.readString(report)).contains(Harness.SMOKE_NOTICE)
			.contains("| Setup | connected clients | live threads added "
					+ "| Kafka network / polling / client-work threads |")
			.contains("| fd mode, idle disconnect |")
			.contains("| fd mode, always connected |")
			.contains("| thread mode, idle disconnect |")
			.contains("| thread mode, always connected |")
			.contains("20 runtime producers");
	}

}
