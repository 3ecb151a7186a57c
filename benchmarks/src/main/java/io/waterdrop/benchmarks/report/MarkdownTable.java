package io.waterdrop.benchmarks.report;

import java.util.ArrayList;
import java.util.List;

/** A GitHub-flavoured Markdown table: a header row and rows of cells, the first column left-aligned. */
public final class MarkdownTable {

	private final List<String> header;

	private final List<List<String>> rows = new ArrayList<>();

	public MarkdownTable(String... header) {
		this.header = List.of(header);
	}

	public MarkdownTable row(String... cells) {
		if (cells.length != this.header.size()) {
			throw new IllegalArgumentException("Row has " + cells.length + " cells, header " + this.header.size());
		}
		this.rows.add(List.of(cells));
		return this;
	}

	@Override
	public String toString() {
		StringBuilder markdown = new StringBuilder();
		line(markdown, this.header);
		List<String> rule = new ArrayList<>();
		for (int i = 0; i < this.header.size(); i++) {
			rule.add((i == 0) ? "---" : "---:");
		}
		line(markdown, rule);
		this.rows.forEach((row) -> line(markdown, row));
		return markdown.toString();
	}

	private static void line(StringBuilder markdown, List<String> cells) {
		markdown.append("| ").append(String.join(" | ", cells)).append(" |\n");
	}

}
