package io.waterdrop.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.common.utils.AppInfoParser;
import org.springframework.kafka.core.KafkaTemplate;

import io.waterdrop.benchmarks.report.ReportBlock;
import io.waterdrop.testing.broker.KafkaBrokerProcess;

/** The report's first block: the command, the machine, the versions and the run's length. */
final class Environment {

	static final String KEY = "environment";

	private static final Pattern BROKER_JAR = Pattern.compile("kafka_2\\.13-([0-9][0-9A-Za-z.\\-]*)\\.jar");

	private Environment() {
	}

	/** The 1-, 5- and 15-minute load averages, as {@code /proc/loadavg} gives them. */
	static String loadAverage() {
		try {
			String[] fields = Files.readString(Path.of("/proc/loadavg")).split(" ");
			return fields[0] + " / " + fields[1] + " / " + fields[2];
		}
		catch (IOException | RuntimeException ex) {
			return "(unknown)";
		}
	}

	/**
	 * One line saying when, where and on what a block was recorded, so that it stands on its own when a
	 * later run rewrites other blocks: date, commit, JDK, processors and load average.
	 */
	static String provenance() {
		return String.format("Recorded on %s at commit %s, %s %s, %d processors, load average %s at the start.",
				Instant.now().truncatedTo(ChronoUnit.SECONDS), gitCommit(), System.getProperty("java.vm.vendor"),
				System.getProperty("java.runtime.version"), Runtime.getRuntime().availableProcessors(),
				loadAverage());
	}

	/**
	 * The checked-out commit, with {@code +changes} if the work tree differs from it outside {@code docs/}
	 * (where the harness writes its own report and charts, measured code never lives).
	 */
	static String gitCommit() {
		try {
			String commit = run("git", "rev-parse", "--short", "HEAD");
			String changes = run("git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)docs");
			return (commit.isEmpty() ? "(unknown)" : "`" + commit + (changes.isEmpty() ? "" : "+changes") + "`");
		}
		catch (IOException | RuntimeException ex) {
			return "(unknown)";
		}
	}

	private static String run(String... command) throws IOException {
		Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
		try {
			String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
			return (process.waitFor() == 0) ? output : "";
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return "";
		}
	}

	/**
	 * @param loadAtStart {@link #loadAverage()} when the run began: other work on the machine skews figures
	 */
	static ReportBlock describe(BenchmarkOptions options, Duration took, String loadAtStart) {
		List<String> command = new ArrayList<>();
		command.add("java");
		command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
		command.addAll(List.of("-jar", "benchmarks/target/benchmarks.jar"));
		command.addAll(options.arguments());
		String markdown = String.format("""
				Produced by `%s` on %s, in %d min.

				| | |
				|---|---|
				| commit | %s |
				| JDK | %s %s (%s) |
				| OS | %s %s (%s) |
				| CPU | %d available processors, %s |
				| load average (1 / 5 / 15 min) | %s at the start, %s at the end |
				| memory | %s; harness heap max %d MiB |
				| Kafka | broker %s in its own JVM (`-Xms256m -Xmx512m`) on 127.0.0.1, same machine; kafka-clients %s |
				| spring-kafka | %s |
				| JMH | %s |
				""", String.join(" ", command), Instant.now().truncatedTo(ChronoUnit.SECONDS), Math.max(1, took.toMinutes()),
				gitCommit(), System.getProperty("java.vm.vendor"), System.getProperty("java.runtime.version"),
				System.getProperty("java.vm.name"), System.getProperty("os.name"), System.getProperty("os.version"),
				System.getProperty("os.arch"), Runtime.getRuntime().availableProcessors(), cpuModel(), loadAtStart,
				loadAverage(), memTotal(),
				Runtime.getRuntime().maxMemory() / (1024 * 1024), brokerVersion(), AppInfoParser.getVersion(),
				orUnknown(KafkaTemplate.class.getPackage().getImplementationVersion()),
				org.openjdk.jmh.util.Version.getPlainVersion());
		return new ReportBlock(KEY, markdown);
	}

	/** The broker's version, from the jar on the classpath the launcher starts it with. */
	private static String brokerVersion() {
		try (InputStream in = KafkaBrokerProcess.class.getResourceAsStream("broker.classpath")) {
			if (in != null) {
				Matcher jar = BROKER_JAR.matcher(new String(in.readAllBytes(), StandardCharsets.UTF_8));
				if (jar.find()) {
					return jar.group(1);
				}
			}
		}
		catch (IOException ex) {
			// Reported as unknown below.
		}
		return "(unknown)";
	}

	private static String cpuModel() {
		return procField("/proc/cpuinfo", "model name");
	}

	private static String memTotal() {
		String total = procField("/proc/meminfo", "MemTotal");
		return total.endsWith(" kB") ? Long.parseLong(total.replace(" kB", "").strip()) / (1024 * 1024) + " GiB RAM"
				: total;
	}

	private static String procField(String file, String name) {
		try {
			for (String line : Files.readAllLines(Path.of(file))) {
				if (line.startsWith(name)) {
					return line.substring(line.indexOf(':') + 1).strip();
				}
			}
		}
		catch (IOException | RuntimeException ex) {
			// Not Linux: say so rather than fail the run.
		}
		return "(unknown)";
	}

	private static String orUnknown(String value) {
		return (value != null) ? value : "(unknown)";
	}

}
