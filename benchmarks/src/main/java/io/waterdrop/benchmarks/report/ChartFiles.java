package io.waterdrop.benchmarks.report;

import java.nio.file.Path;

/**
 * Where the charts of a report go: beside the Markdown file, named after it ({@code benchmarks.md} →
 * {@code benchmarks-throughput.png}), so that the report links them by bare file name.
 */
public final class ChartFiles {

	private final Path directory;

	private final String stem;

	public ChartFiles(Path report) {
		Path absolute = report.toAbsolutePath();
		this.directory = absolute.getParent();
		String name = absolute.getFileName().toString();
		this.stem = name.endsWith(".md") ? name.substring(0, name.length() - 3) : name;
	}

	public Path path(String key) {
		return this.directory.resolve(fileName(key));
	}

	/** A Markdown image linking the chart, relative to the report. */
	public String image(String key, String alt) {
		return "![" + alt + "](" + fileName(key) + ")";
	}

	private String fileName(String key) {
		return this.stem + "-" + key + ".png";
	}

}
