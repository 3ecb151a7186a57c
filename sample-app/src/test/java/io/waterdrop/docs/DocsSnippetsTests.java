package io.waterdrop.docs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every Java block in {@code docs/*.md} must appear in a Java source of this repository that the build
 * compiles (line by line, ignoring indentation and blank lines), so that no documented code goes stale. The
 * docs declare classes top-level, as a reader's file would.
 */
class DocsSnippetsTests {

	private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

	@Test
	void everyJavaBlockInTheDocsIsCompiledCode() throws IOException {
		List<String> sources = compiledSources();
		List<Path> docs;
		try (Stream<Path> files = Files.list(ROOT.resolve("docs"))) {
			docs = files.filter((path) -> path.toString().endsWith(".md")).sorted().toList();
		}
		assertThat(docs).isNotEmpty();
		List<String> stale = new ArrayList<>();
		int checked = 0;
		for (Path doc : docs) {
			for (String block : javaBlocks(Files.readString(doc))) {
				checked++;
				String normalized = normalize(block);
				if (sources.stream().noneMatch((source) -> source.contains(normalized))) {
					stale.add(ROOT.relativize(doc) + ":\n" + block);
				}
			}
		}
		assertThat(checked).isPositive();
		assertThat(stale).as("Java blocks in docs/ not found in any compiled source").isEmpty();
	}

	private static List<String> compiledSources() throws IOException {
		try (Stream<Path> files = Files.walk(ROOT)) {
			return files.filter((path) -> path.toString().endsWith(".java"))
				.filter((path) -> path.toString().contains("/src/"))
				.filter((path) -> !path.toString().contains("/target/"))
				.map(DocsSnippetsTests::read)
				.map(DocsSnippetsTests::normalize)
				.toList();
		}
	}

	private static List<String> javaBlocks(String markdown) {
		List<String> blocks = new ArrayList<>();
		StringBuilder current = null;
		for (String line : markdown.split("\n", -1)) {
			if (current == null && line.strip().equals("```java")) {
				current = new StringBuilder();
			}
			else if (current != null && line.strip().equals("```")) {
				blocks.add(current.toString());
				current = null;
			}
			else if (current != null) {
				current.append(line).append('\n');
			}
		}
		return blocks;
	}

	/**
	 * Lines stripped, blank ones dropped; a class declared {@code static} (nested in a test, so that Spring can
	 * create it) matches the top-level class a reader pastes into a file of its own.
	 */
	private static String normalize(String code) {
		return code.lines()
			.map(String::strip)
			.filter((line) -> !line.isEmpty())
			.map((line) -> line.startsWith("static class ") ? line.substring("static ".length()) : line)
			.collect(Collectors.joining("\n"));
	}

	private static String read(Path path) {
		try {
			return Files.readString(path);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

}
