package io.waterdrop.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.waterdrop.benchmarks.report.ReportBlock;
import io.waterdrop.benchmarks.report.ReportFile;

import static org.assertj.core.api.Assertions.assertThat;

class ReportFileTests {

	@TempDir
	Path directory;

	@Test
	void replacesOnlyBetweenMarkersAndAppendsMissingBlocks() throws IOException {
		Path file = this.directory.resolve("report.md");
		Files.writeString(file, "intro\n<!-- benchmark:a -->\nold a\n<!-- /benchmark:a -->\noutro\n");

		ReportFile.update(file, List.of(new ReportBlock("a", "new a"), new ReportBlock("b", "new b")));

		assertThat(Files.readString(file)).isEqualTo("intro\n<!-- benchmark:a -->\nnew a\n<!-- /benchmark:a -->\noutro"
				+ "\n\n<!-- benchmark:b -->\nnew b\n<!-- /benchmark:b -->\n");
	}

	@Test
	void createsAMissingFile() throws IOException {
		Path file = this.directory.resolve("docs/new.md");

		ReportFile.update(file, List.of(new ReportBlock("a", "table")));

		assertThat(Files.readString(file)).isEqualTo("# Benchmarks\n\n<!-- benchmark:a -->\ntable\n<!-- /benchmark:a -->\n");
	}

}
