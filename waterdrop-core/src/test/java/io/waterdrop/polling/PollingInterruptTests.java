package io.waterdrop.polling;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A callback that leaves the polling thread interrupted (the usual "restore the flag" idiom after catching
 * an InterruptedException) must not turn the wait into a busy loop: an interrupted thread's select() and
 * park return at once, every time. Shown by what the thread counts (select waits that ran out, periodic
 * calls) against the time that passed, not by counting them in a fixed sleep.
 */
class PollingInterruptTests {

	private static final ThreadMXBean threads = ManagementFactory.getThreadMXBean();

	/** Deadlock guard for what happens soon; never a performance bound. */
	private static final Duration GUARD = Duration.ofSeconds(30);

	@Test
	@Timeout(120)
	void pollerStillWaitsAfterACallbackInterruptedItsThread() throws Exception {
		Poller poller = new Poller(PollerConfig.named("interrupted").withPollTimeout(Duration.ofMillis(50)));
		TestSource source = new TestSource("source", Duration.ofMillis(100));
		PollingSession session = source.registerWith(poller);
		try {
			CompletableFuture<Thread> interrupted = new CompletableFuture<>();
			source.offer(() -> {
				Thread.currentThread().interrupt();
				interrupted.complete(Thread.currentThread());
			});
			Thread pollerThread = interrupted.get(GUARD.toSeconds(), TimeUnit.SECONDS);
			Thread.sleep(50);
			long timeoutsBefore = poller.stats().timeoutWakeups();
			long cpuBefore = threads.getThreadCpuTime(pollerThread.getId());
			long start = System.nanoTime();
			// A select() that returns at once because of the flag never waits its poll timeout out, so it would
			// never count as a timeout: three of them show the thread really waits again.
			await().atMost(GUARD).until(() -> poller.stats().timeoutWakeups() - timeoutsBefore >= 3
					&& System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(500));
			long cpuMillis = TimeUnit.NANOSECONDS.toMillis(threads.getThreadCpuTime(pollerThread.getId()) - cpuBefore);
			long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
			// CPU time only grows while the thread runs: a busy machine makes it smaller, not larger.
			assertThat(cpuMillis).as("CPU time of an idle Poller thread in %d ms", elapsedMillis)
				.isLessThan(Math.max(150, elapsedMillis / 4));
			CompletableFuture<Boolean> served = new CompletableFuture<>();
			source.offer(() -> served.complete(true));
			assertThat(served.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isTrue();
		}
		finally {
			session.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
			assertThat(poller.awaitStopped(GUARD)).isTrue();
		}
	}

	@Test
	@Timeout(120)
	void dispatchThreadStillParksAfterACallbackInterruptedIt() throws Exception {
		Duration pollTimeout = Duration.ofMillis(100);
		DispatchThread thread = new DispatchThread("interrupted", pollTimeout);
		TestSource source = new TestSource("interrupted", Duration.ofMillis(100), thread);
		thread.start(source);
		try {
			CompletableFuture<Thread> interrupted = new CompletableFuture<>();
			source.offer(() -> {
				Thread.currentThread().interrupt();
				interrupted.complete(Thread.currentThread());
			});
			Thread dispatcher = interrupted.get(GUARD.toSeconds(), TimeUnit.SECONDS);
			Thread.sleep(50);
			int periodicBefore = source.periodicCalls.size();
			long cpuBefore = threads.getThreadCpuTime(dispatcher.getId());
			long start = System.nanoTime();
			Thread.sleep(500);
			int periodic = source.periodicCalls.size() - periodicBefore;
			long cpuMillis = TimeUnit.NANOSECONDS.toMillis(threads.getThreadCpuTime(dispatcher.getId()) - cpuBefore);
			long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
			// One periodic call per poll timeout waited out (however long the sleep really took); a spinning
			// thread calls periodic() millions of times.
			assertThat(periodic).as("periodic calls in %d ms", elapsedMillis)
				.isLessThanOrEqualTo((int) (elapsedMillis / pollTimeout.toMillis()) + 10);
			assertThat(cpuMillis).as("CPU time of an idle dispatch thread in %d ms", elapsedMillis)
				.isLessThan(Math.max(150, elapsedMillis / 4));
			CompletableFuture<Boolean> served = new CompletableFuture<>();
			source.offer(() -> served.complete(true));
			assertThat(served.get(GUARD.toSeconds(), TimeUnit.SECONDS)).isTrue();
		}
		finally {
			thread.detach().get(GUARD.toSeconds(), TimeUnit.SECONDS);
		}
	}

}
