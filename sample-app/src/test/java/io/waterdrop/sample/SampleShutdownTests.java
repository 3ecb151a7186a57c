package io.waterdrop.sample;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Ctrl-C on the sample, as a user does it: the sample runs in a JVM of its own with the embedded broker and
 * is sent SIGTERM. The shutdown (graceful web shutdown, producers, broker) prints no ERROR and no stack
 * trace, and the broker's temporary directory is gone afterwards.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class SampleShutdownTests {

	private static final Pattern DATA_DIRECTORY = Pattern.compile("Formatting metadata directory (\\S+)/combined");

	@Test
	void sigtermStopsTheSampleWithoutErrors() throws Exception {
		String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
		Process process = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
				SampleApplication.class.getName(), "--server.port=0")
			.redirectErrorStream(true)
			.start();
		List<String> lines = new CopyOnWriteArrayList<>();
		CountDownLatch started = new CountDownLatch(1);
		Thread reader = new Thread(() -> {
			try (BufferedReader output = new BufferedReader(
					new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
				for (String line = output.readLine(); line != null; line = output.readLine()) {
					lines.add(line);
					if (line.contains("Started SampleApplication")) {
						started.countDown();
					}
				}
			}
			catch (Exception ex) {
				lines.add("reader failed: " + ex);
			}
		}, "sample-output");
		reader.start();
		try {
			assertThat(started.await(3, TimeUnit.MINUTES)).as("started; output:%n%s", String.join("\n", lines))
				.isTrue();
			int startedAt = lines.size();
			process.toHandle().destroy(); // SIGTERM, as Ctrl-C; Process.destroy() would close its output too
			assertThat(process.waitFor(2, TimeUnit.MINUTES)).as("stopped").isTrue();
			reader.join(TimeUnit.SECONDS.toMillis(30));
			List<String> shutdown = lines.subList(startedAt, lines.size());
			assertThat(shutdown).as("shutdown output").anyMatch((line) -> line.contains("Graceful shutdown complete"));
			assertThat(shutdown).as("shutdown output")
				.noneMatch((line) -> line.contains(" ERROR ") || line.contains("Exception") || line.startsWith("\tat "));
			Path dataDirectory = dataDirectory(lines);
			assertThat(Files.exists(dataDirectory)).as("%s deleted", dataDirectory).isFalse();
		}
		finally {
			process.destroyForcibly();
		}
	}

	private static Path dataDirectory(List<String> lines) {
		for (String line : lines) {
			Matcher matcher = DATA_DIRECTORY.matcher(line);
			if (matcher.find()) {
				return Path.of(matcher.group(1));
			}
		}
		throw new AssertionError("The embedded broker's directory is not in the output");
	}

}
