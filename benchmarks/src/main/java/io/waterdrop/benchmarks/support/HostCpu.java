package io.waterdrop.benchmarks.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time of the whole host and of the broker's process, from {@code /proc}: whether a trial kept every
 * processor busy, and what the broker spent per message. On a saturated host a client's throughput follows
 * from CPU per message alone (processors ÷ (client + broker CPU per message)), which is what the throughput
 * report checks. Linux only; elsewhere, or for a broker that is not a local process, the figures are
 * unknown.
 * <p>
 * Both files count in clock ticks of {@code USER_HZ}, 100 per second on every Linux architecture's ABI: 10 ms
 * steps, about 1.7% of two processors over a 3 s trial.
 */
public final class HostCpu {

	private static final Path HOST_STAT = Path.of("/proc/stat");

	private static final long NANOS_PER_TICK = 10_000_000;

	private final Path brokerStat;

	/** @param brokerPid the broker's process id, or -1 when it is not a process of this host */
	public HostCpu(long brokerPid) {
		this.brokerStat = (brokerPid < 0) ? null : Path.of("/proc", Long.toString(brokerPid), "stat");
	}

	/** The counters now; fields of what could not be read are -1. */
	public Reading read() {
		long[] host = hostTicks(HOST_STAT);
		return new Reading(host[0], host[1], (this.brokerStat == null) ? -1 : processTicks(this.brokerStat));
	}

	/**
	 * Busy and total ticks of all processors from the first line of {@code /proc/stat}
	 * ({@code cpu user nice system idle iowait irq softirq steal ...}): busy is all but idle and iowait; time
	 * stolen by the hypervisor counts as busy, since this host could not use it either. {@code -1}s if
	 * unreadable.
	 */
	static long[] hostTicks(Path stat) {
		try {
			String first = Files.readAllLines(stat).get(0);
			String[] fields = first.trim().split("\\s+");
			if (!fields[0].equals("cpu") || fields.length < 9) {
				return new long[] { -1, -1 };
			}
			long total = 0;
			for (int i = 1; i <= 8; i++) { // guest time is counted in user time already
				total += Long.parseLong(fields[i]);
			}
			long idle = Long.parseLong(fields[4]) + Long.parseLong(fields[5]);
			return new long[] { total - idle, total };
		}
		catch (IOException | RuntimeException ex) {
			return new long[] { -1, -1 };
		}
	}

	/**
	 * User plus system ticks of a process from its {@code /proc/<pid>/stat} (fields 14 and 15, counted after
	 * the command name, which may hold spaces and parentheses), or -1.
	 */
	static long processTicks(Path stat) {
		try {
			String line = Files.readString(stat);
			String[] afterName = line.substring(line.lastIndexOf(')') + 2).trim().split("\\s+");
			// afterName[0] is field 3 (state): field n is afterName[n - 3]
			return Long.parseLong(afterName[11]) + Long.parseLong(afterName[12]);
		}
		catch (IOException | RuntimeException ex) {
			return -1;
		}
	}

	/**
	 * One reading of the counters, in ticks; -1 where unknown.
	 *
	 * @param hostBusyTicks ticks all processors spent busy since boot
	 * @param hostTotalTicks all ticks of all processors since boot
	 * @param brokerTicks CPU ticks of the broker process since it started
	 */
	public record Reading(long hostBusyTicks, long hostTotalTicks, long brokerTicks) {

		/** What the host and the broker used from {@code before} to this reading. */
		public Usage since(Reading before) {
			boolean hostKnown = this.hostTotalTicks > before.hostTotalTicks && before.hostTotalTicks >= 0;
			return new Usage(
					hostKnown ? (double) (this.hostBusyTicks - before.hostBusyTicks)
							/ (this.hostTotalTicks - before.hostTotalTicks) : -1,
					(this.brokerTicks < 0 || before.brokerTicks < 0) ? -1
							: (this.brokerTicks - before.brokerTicks) * NANOS_PER_TICK);
		}

	}

	/**
	 * The host's and the broker's CPU over a span.
	 *
	 * @param hostBusy the fraction of all processors' time that was busy (0–1), or -1 if unknown
	 * @param brokerCpuNanos CPU time the broker process used, or -1 if unknown
	 */
	public record Usage(double hostBusy, long brokerCpuNanos) {

		public static final Usage UNKNOWN = new Usage(-1, -1);

	}

}
