package io.waterdrop.benchmarks.handoff;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The hand-off from a network thread to user code, without a broker: one operation offers {@code burst}
 * reports and waits (spinning, then yielding) until the dispatching thread has consumed all of them. With a
 * burst of 1 the dispatching thread has just finished the previous report when the next one comes: if it
 * has gone to sleep meanwhile, the operation pays a full wake-up (unpark, or pipe write + selector wake-up +
 * pipe read); if it is still awake, none (an unpark leaves a permit; a Poller collects an announced pipe
 * and keeps looking for one a few microseconds before it blocks). A burst pays at most one wake-up for
 * many reports, as the queue signals only on its empty → non-empty edge.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class HandoffBenchmark {

	private static final Object REPORT = new Object();

	private static final int SPINS_BEFORE_YIELD = 1000;

	@Param({ "thread", "fd", "lean", "executor" })
	public String path;

	@Param({ "1", "100" })
	public int burst;

	private Handoff handoff;

	private long offered;

	@Setup(Level.Trial)
	public void open() {
		this.handoff = Handoff.create(this.path);
		this.offered = 0;
	}

	@TearDown(Level.Trial)
	public void close() {
		this.handoff.close();
	}

	@Benchmark
	public long roundTrip() {
		for (int i = 0; i < this.burst; i++) {
			this.handoff.offer(REPORT);
		}
		this.offered += this.burst;
		long dispatched;
		int spins = 0;
		while ((dispatched = this.handoff.dispatched()) < this.offered) {
			// Spin briefly, then yield: on a 2-core machine a pure spin can hold the core the consumer needs.
			if (++spins < SPINS_BEFORE_YIELD) {
				Thread.onSpinWait();
			}
			else {
				Thread.yield();
			}
		}
		return dispatched;
	}

}
