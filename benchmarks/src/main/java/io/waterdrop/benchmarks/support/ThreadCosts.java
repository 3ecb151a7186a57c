package io.waterdrop.benchmarks.support;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.util.HashMap;
import java.util.Map;

import com.sun.management.ThreadMXBean;

/**
 * CPU time and allocated bytes of this JVM's client threads at one moment, so that a trial's costs can be
 * split by what each thread does: Kafka's network threads, and the threads that dispatch reports
 * (WaterDrop's Poller and dispatch threads, the lean hand-off's Selector thread), told apart by name. The
 * harness's senders account for themselves ({@link #ofCurrentThread()}), because they end before the trial
 * does. Tells where a hand-off's extra costs go, which the process totals cannot.
 */
public final class ThreadCosts {

	private static final ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();

	/** What a thread does in a trial, by the start of its name. */
	private enum Role {

		NETWORK("kafka-producer-network-thread"),

		DISPATCH("waterdrop.poller", "waterdrop.dispatch-", "lean.selector");

		private final String[] namePrefixes;

		Role(String... namePrefixes) {
			this.namePrefixes = namePrefixes;
		}

		static Role of(String threadName) {
			for (Role role : values()) {
				for (String prefix : role.namePrefixes) {
					if (threadName.startsWith(prefix)) {
						return role;
					}
				}
			}
			return null;
		}

	}

	/** What a thread of some role has cost so far. */
	private record Reading(Role role, Cost cost) {

	}

	/** By thread id, for the threads of some role. */
	private final Map<Long, Reading> readings;

	private ThreadCosts(Map<Long, Reading> readings) {
		this.readings = readings;
	}

	/** Reads the costs so far of every live thread that has a role. */
	public static ThreadCosts read() {
		long[] ids = threads.getAllThreadIds();
		long[] cpu = threads.getThreadCpuTime(ids);
		long[] allocated = threads.getThreadAllocatedBytes(ids);
		ThreadInfo[] infos = threads.getThreadInfo(ids);
		Map<Long, Reading> readings = new HashMap<>();
		for (int i = 0; i < ids.length; i++) {
			Role role = (infos[i] != null) ? Role.of(infos[i].getThreadName()) : null;
			if (role != null && cpu[i] >= 0 && allocated[i] >= 0) {
				readings.put(ids[i], new Reading(role, new Cost(cpu[i], allocated[i])));
			}
		}
		return new ThreadCosts(readings);
	}

	/** The calling thread's costs so far. */
	public static Cost ofCurrentThread() {
		return new Cost(threads.getCurrentThreadCpuTime(), threads.getCurrentThreadAllocatedBytes());
	}

	/**
	 * What each role cost from {@code before} to this reading, by the threads alive at this reading (a thread
	 * started in between counts from zero; one that ended in between is not counted).
	 * @param senders what the senders accounted for themselves over the same span
	 * @param total what every thread of the JVM cost over the same span
	 */
	public Split since(ThreadCosts before, Cost senders, Cost total) {
		Cost[] spent = { Cost.NONE, Cost.NONE };
		this.readings.forEach((id, now) -> {
			Reading then = before.readings.get(id);
			int role = now.role().ordinal();
			spent[role] = spent[role].plus(now.cost().minus((then != null) ? then.cost() : Cost.NONE));
		});
		Cost network = spent[Role.NETWORK.ordinal()];
		Cost dispatch = spent[Role.DISPATCH.ordinal()];
		return new Split(network, senders, dispatch, total.minus(network).minus(senders).minus(dispatch));
	}

	/**
	 * CPU and allocation of some threads over a span (or since they started).
	 *
	 * @param cpuNanos CPU time in nanoseconds
	 * @param allocatedBytes bytes allocated on the heap
	 */
	public record Cost(long cpuNanos, long allocatedBytes) {

		public static final Cost NONE = new Cost(0, 0);

		public Cost plus(Cost other) {
			return new Cost(this.cpuNanos + other.cpuNanos, this.allocatedBytes + other.allocatedBytes);
		}

		public Cost minus(Cost other) {
			return new Cost(this.cpuNanos - other.cpuNanos, this.allocatedBytes - other.allocatedBytes);
		}

	}

	/**
	 * A trial's costs by thread role.
	 *
	 * @param network Kafka's network threads
	 * @param senders the harness's sending threads (the callers of {@code send})
	 * @param dispatch the threads that dispatch reports off the network threads (none for raw kafka-clients
	 * and {@code KafkaTemplate})
	 * @param rest every other thread: GC, JIT, threads that ended during the span
	 */
	public record Split(Cost network, Cost senders, Cost dispatch, Cost rest) {

	}

}
