package io.waterdrop.benchmarks.report;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes generated blocks into a Markdown file between {@code <!-- benchmark:key -->} and
 * {@code <!-- /benchmark:key -->} markers, leaving everything else (the hand-written prose) as it is. A block
 * whose markers are missing is appended at the end; a missing file is created.
 */
public final class ReportFile {

	private ReportFile() {
	}

	public static void update(Path file, List<ReportBlock> blocks) {
		try {
			String text = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "# Benchmarks\n";
			for (ReportBlock block : blocks) {
				text = replace(text, block);
			}
			Path parent = file.toAbsolutePath().getParent();
			Files.createDirectories(parent);
			Files.writeString(file, text, StandardCharsets.UTF_8);
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not write the report " + file, ex);
		}
	}

	static String replace(String text, ReportBlock block) {
		String begin = "<!-- benchmark:" + block.key() + " -->";
		String end = "<!-- /benchmark:" + block.key() + " -->";
		String content = begin + "\n" + block.markdown().strip() + "\n" + end;
		int from = text.indexOf(begin);
		int to = text.indexOf(end, Math.max(from, 0));
		if (from < 0 || to < 0) {
			return text.stripTrailing() + "\n\n" + content + "\n";
		}
		return text.substring(0, from) + content + text.substring(to + end.length());
	}

}
