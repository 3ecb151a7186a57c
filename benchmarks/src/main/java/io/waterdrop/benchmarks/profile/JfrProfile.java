package io.waterdrop.benchmarks.profile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import jdk.jfr.FlightRecorder;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

import io.waterdrop.benchmarks.report.MarkdownTable;

/**
 * Per-thread-role summary of a JFR recording: the hottest top frames of the CPU samples and the heaviest
 * allocation sites of {@code jdk.ObjectAllocationSample} (by the events' weight, JFR's estimate of the bytes
 * each sample stands for). Each row also names the first WaterDrop frame below the top one, which is where a
 * change to the core would act.
 * <p>
 * CPU samples come from {@code jdk.CPUTimeSample} where the JVM has it (JDK 25+ on Linux, experimental): a
 * sample per slice of CPU time each thread used, Java and native code alike, so pipe writes and selector
 * calls count, and a thread that waits costs nothing. Elsewhere from {@code jdk.ExecutionSample}, which
 * sees Java code only and, taken by a sampler thread, thins out on a saturated machine.
 */
final class JfrProfile {

	static final String EXECUTION_SAMPLE = "jdk.ExecutionSample";

	static final String CPU_TIME_SAMPLE = "jdk.CPUTimeSample";

	static final String ALLOCATION_SAMPLE = "jdk.ObjectAllocationSample";

	private static final String CORE_PACKAGE = "io.waterdrop.";

	private static final String HARNESS_PACKAGE = "io.waterdrop.benchmarks.";

	private final Map<ThreadRole, Map<String, Long>> cpu = new EnumMap<>(ThreadRole.class);

	private final Map<ThreadRole, Map<String, Long>> allocation = new EnumMap<>(ThreadRole.class);

	private final String cpuEvent;

	private JfrProfile(String cpuEvent) {
		this.cpuEvent = cpuEvent;
		for (ThreadRole role : ThreadRole.values()) {
			this.cpu.put(role, new HashMap<>());
			this.allocation.put(role, new HashMap<>());
		}
	}

	/** The CPU sample event this JVM records best: {@value #CPU_TIME_SAMPLE} where it exists. */
	static String cpuEvent() {
		boolean cpuTime = FlightRecorder.getFlightRecorder()
			.getEventTypes()
			.stream()
			.anyMatch((type) -> type.getName().equals(CPU_TIME_SAMPLE));
		return cpuTime ? CPU_TIME_SAMPLE : EXECUTION_SAMPLE;
	}

	/** @param cpuEvent the event whose samples make the CPU tables */
	static JfrProfile read(Path recording, String cpuEvent) {
		JfrProfile profile = new JfrProfile(cpuEvent);
		try (RecordingFile file = new RecordingFile(recording)) {
			while (file.hasMoreEvents()) {
				profile.add(file.readEvent());
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not read the recording " + recording, ex);
		}
		return profile;
	}

	private void add(RecordedEvent event) {
		String type = event.getEventType().getName();
		if (type.equals(this.cpuEvent)) {
			RecordedThread thread = type.equals(EXECUTION_SAMPLE) ? event.getThread("sampledThread")
					: event.getThread("eventThread");
			ThreadRole role = ThreadRole.of(threadName(thread));
			this.cpu.get(role).merge(site(event.getStackTrace(), false), 1L, Long::sum);
		}
		else if (type.equals(ALLOCATION_SAMPLE)) {
			ThreadRole role = ThreadRole.of(threadName(event.getThread()));
			String objectClass = className(event.getClass("objectClass").getName());
			this.allocation.get(role)
				.merge(objectClass + " | " + site(event.getStackTrace(), true), event.getLong("weight"), Long::sum);
		}
	}

	long cpuSamples(ThreadRole role) {
		return total(this.cpu.get(role));
	}

	long allocatedBytes(ThreadRole role) {
		return total(this.allocation.get(role));
	}

	/**
	 * The {@code limit} hottest top frames of {@code role}'s CPU samples: share of the role's samples, the
	 * top frame, the first WaterDrop frame below it.
	 */
	String cpuTable(ThreadRole role, int limit) {
		MarkdownTable table = new MarkdownTable("share", "top frame", "first WaterDrop frame");
		long total = cpuSamples(role);
		for (Map.Entry<String, Long> entry : top(this.cpu.get(role), limit)) {
			String[] site = entry.getKey().split(" \\| ", -1);
			table.row(percent(entry.getValue(), total), code(site[0]), code(site[1]));
		}
		return table.toString();
	}

	/**
	 * The {@code limit} heaviest allocation sites of {@code role}: share of the role's sampled bytes, bytes
	 * per message ({@code messages} delivered while recording), the class allocated, the allocating frame
	 * (with its line) and the first WaterDrop frame below it.
	 */
	String allocationTable(ThreadRole role, int limit, long messages) {
		MarkdownTable table = new MarkdownTable("share", "≈ B / msg", "object", "allocated in",
				"first WaterDrop frame");
		long total = allocatedBytes(role);
		for (Map.Entry<String, Long> entry : top(this.allocation.get(role), limit)) {
			String[] site = entry.getKey().split(" \\| ", -1);
			table.row(percent(entry.getValue(), total),
					String.format(Locale.ROOT, "%,.0f", (double) entry.getValue() / messages), code(site[0]),
					code(site[1]), code(site[2]));
		}
		return table.toString();
	}

	private static List<Map.Entry<String, Long>> top(Map<String, Long> counts, int limit) {
		List<Map.Entry<String, Long>> entries = new ArrayList<>(counts.entrySet());
		entries.sort(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder())
			.thenComparing(Map.Entry.comparingByKey()));
		return entries.subList(0, Math.min(limit, entries.size()));
	}

	/** "top frame | first WaterDrop frame below it", or a dash where there is none. */
	private static String site(RecordedStackTrace stack, boolean withLine) {
		if (stack == null || stack.getFrames().isEmpty()) {
			return "(no stack) | —";
		}
		List<RecordedFrame> frames = stack.getFrames();
		String top = frame(frames.get(0), withLine);
		String core = "—";
		for (RecordedFrame frame : frames.subList(1, frames.size())) {
			String type = frame.getMethod().getType().getName();
			if (type.startsWith(CORE_PACKAGE) && !type.startsWith(HARNESS_PACKAGE)) {
				core = frame(frame, true);
				break;
			}
		}
		return top + " | " + core;
	}

	/** A frame as {@code o.a.k.c.p.i.RecordAccumulator.append:123}: packages shortened to initials. */
	static String frame(RecordedFrame frame, boolean withLine) {
		String type = frame.getMethod().getType().getName();
		String name = shortType(type) + "." + frame.getMethod().getName();
		return (withLine && frame.getLineNumber() > 0) ? name + ":" + frame.getLineNumber() : name;
	}

	static String shortType(String type) {
		// Hidden classes (lambdas, lambda forms) end in an address that differs from run to run.
		String[] parts = type.replaceAll("[./]0x[0-9a-fA-F]+$", "").split("\\.");
		StringBuilder shortened = new StringBuilder();
		for (int i = 0; i < parts.length - 1; i++) {
			shortened.append(parts[i].charAt(0)).append('.');
		}
		return shortened.append(parts[parts.length - 1]).toString();
	}

	/** A class name as {@link #shortType}, arrays in source form ({@code [B} → {@code byte[]}). */
	static String className(String name) {
		if (!name.startsWith("[")) {
			return shortType(name);
		}
		String element = switch (name.charAt(1)) {
			case 'B' -> "byte";
			case 'C' -> "char";
			case 'I' -> "int";
			case 'J' -> "long";
			case 'S' -> "short";
			case 'Z' -> "boolean";
			case 'F' -> "float";
			case 'D' -> "double";
			case 'L' -> shortType(name.substring(2, name.length() - 1).replace('/', '.'));
			default -> className(name.substring(1));
		};
		return element + "[]";
	}

	private static String threadName(RecordedThread thread) {
		return (thread != null) ? thread.getJavaName() : null;
	}

	private static long total(Map<String, Long> counts) {
		return counts.values().stream().mapToLong(Long::longValue).sum();
	}

	private static String percent(long part, long total) {
		return String.format(Locale.ROOT, "%.1f%%", 100.0 * part / Math.max(1, total));
	}

	private static String code(String text) {
		return text.equals("—") ? text : "`" + text.replace("|", "\\|") + "`";
	}

}
