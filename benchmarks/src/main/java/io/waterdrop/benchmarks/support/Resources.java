package io.waterdrop.benchmarks.support;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

import com.sun.management.OperatingSystemMXBean;
import com.sun.management.ThreadMXBean;

/**
 * What a run costs this JVM: live platform threads, heap still used after a full GC, resident memory,
 * bytes allocated by all threads and CPU time of all threads.
 */
public final class Resources {

	private static final ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();

	private static final OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory
		.getOperatingSystemMXBean();

	private static final Path STATUS = Path.of("/proc/self/status");

	private Resources() {
	}

	/**
	 * One reading of the slow figures.
	 *
	 * @param heapBytes heap used after a full GC
	 * @param rssBytes resident set size, or -1 where {@code /proc} is missing
	 * @param liveThreads live platform threads
	 */
	public record Snapshot(long heapBytes, long rssBytes, int liveThreads) {

	}

	/** Collects garbage, reads the figures and restarts the peak thread count from now. */
	public static Snapshot snapshot() {
		System.gc();
		Snapshot snapshot = new Snapshot(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(), rss(),
				threads.getThreadCount());
		threads.resetPeakThreadCount();
		return snapshot;
	}

	/** Most live platform threads since the last {@link #snapshot()}. */
	public static int peakThreads() {
		return threads.getPeakThreadCount();
	}

	/**
	 * Bytes allocated on the heap by every thread since the JVM started, threads that have ended included
	 * (an approximation: each thread's count lags by what it allocated in its current TLAB).
	 */
	public static long allocatedBytes() {
		return threads.getTotalThreadAllocatedBytes();
	}

	/** CPU time used by every thread of this JVM since it started, in nanoseconds (-1 if unsupported). */
	public static long cpuNanos() {
		return os.getProcessCpuTime();
	}

	/** Resident set size ({@code VmRSS} of {@code /proc/self/status}), or -1 where {@code /proc} is missing. */
	public static long rss() {
		try {
			for (String line : Files.readAllLines(STATUS)) {
				if (line.startsWith("VmRSS:")) {
					return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
				}
			}
			return -1;
		}
		catch (IOException | NumberFormatException ex) {
			return -1;
		}
	}

}
