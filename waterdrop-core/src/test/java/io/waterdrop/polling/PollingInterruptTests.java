package io.waterdrop.polling;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A callback that leaves the polling thread interrupted (the usual "restore the flag" idiom after catching
 * an InterruptedException) must not turn the wait into a busy loop: an interrupted thread's select() and
 * park return at once, every time.
 */
class PollingInterruptTests {

	private static final ThreadMXBean threads = ManagementFactory.getThreadMXBean();

	@Test
	@Timeout(20)
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
			Thread pollerThread = interrupted.get(5, TimeUnit.SECONDS);
			Thread.sleep(50);
			long timeoutsBefore = poller.stats().timeoutWakeups();
			long cpuBefore = threads.getThreadCpuTime(pollerThread.getId());
			Thread.sleep(500);
			long cpuMillis = TimeUnit.NANOSECONDS.toMillis(threads.getThreadCpuTime(pollerThread.getId()) - cpuBefore);
			assertThat(poller.stats().timeoutWakeups() - timeoutsBefore).as("select timeouts in 500 ms")
				.isGreaterThanOrEqualTo(3);
			assertThat(cpuMillis).as("CPU time of an idle Poller thread in 500 ms").isLessThan(150);
			CompletableFuture<Boolean> served = new CompletableFuture<>();
			source.offer(() -> served.complete(true));
			assertThat(served.get(5, TimeUnit.SECONDS)).isTrue();
		}
		finally {
			session.detach().get(10, TimeUnit.SECONDS);
			assertThat(poller.awaitStopped(Duration.ofSeconds(10))).isTrue();
		}
	}

	@Test
	@Timeout(20)
	void dispatchThreadStillParksAfterACallbackInterruptedIt() throws Exception {
		DispatchThread thread = new DispatchThread("interrupted", Duration.ofMillis(100));
		TestSource source = new TestSource("interrupted", Duration.ofMillis(100), thread);
		thread.start(source);
		try {
			CompletableFuture<Thread> interrupted = new CompletableFuture<>();
			source.offer(() -> {
				Thread.currentThread().interrupt();
				interrupted.complete(Thread.currentThread());
			});
			Thread dispatcher = interrupted.get(5, TimeUnit.SECONDS);
			Thread.sleep(50);
			int periodicBefore = source.periodicCalls.size();
			long cpuBefore = threads.getThreadCpuTime(dispatcher.getId());
			Thread.sleep(500);
			long cpuMillis = TimeUnit.NANOSECONDS.toMillis(threads.getThreadCpuTime(dispatcher.getId()) - cpuBefore);
			// About five poll timeouts; a spinning thread calls periodic() millions of times.
			assertThat(source.periodicCalls.size() - periodicBefore).as("periodic calls in 500 ms").isLessThan(20);
			assertThat(cpuMillis).as("CPU time of an idle dispatch thread in 500 ms").isLessThan(150);
			CompletableFuture<Boolean> served = new CompletableFuture<>();
			source.offer(() -> served.complete(true));
			assertThat(served.get(5, TimeUnit.SECONDS)).isTrue();
		}
		finally {
			thread.detach().get(10, TimeUnit.SECONDS);
		}
	}

}
