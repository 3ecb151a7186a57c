package io.waterdrop.benchmarks.support;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ThreadCostsTests {

	/** Keeps the JIT from dropping the work. */
	private static volatile Object sink;

	@Test
	void eachThreadCountsForItsRoleByNameAndTheRestIsTheDifference() throws InterruptedException {
		CountDownLatch go = new CountDownLatch(1);
		CountDownLatch done = new CountDownLatch(2);
		CountDownLatch end = new CountDownLatch(1);
		List<Thread> threads = new ArrayList<>();
		for (String name : List.of("kafka-producer-network-thread | p1", "waterdrop.poller#7")) {
			threads.add(Thread.ofPlatform().name(name).start(() -> {
				Threads.await(go);
				work(1_000);
				done.countDown();
				Threads.await(end); // alive when the costs are read
			}));
		}
		ThreadCosts before = ThreadCosts.read();
		go.countDown();
		done.await();
		ThreadCosts.Cost senders = new ThreadCosts.Cost(5_000, 300);
		ThreadCosts.Cost total = new ThreadCosts.Cost(10_000_000_000L, 1L << 40);

		ThreadCosts.Split split = ThreadCosts.read().since(before, senders, total);
		end.countDown();
		Threads.join(threads);

		assertThat(split.network().cpuNanos()).isPositive();
		assertThat(split.network().allocatedBytes()).isGreaterThanOrEqualTo(1_000 * 16L);
		assertThat(split.dispatch().cpuNanos()).isPositive();
		assertThat(split.dispatch().allocatedBytes()).isGreaterThanOrEqualTo(1_000 * 16L);
		assertThat(split.senders()).isEqualTo(senders);
		assertThat(split.rest()).isEqualTo(total.minus(split.network()).minus(senders).minus(split.dispatch()));
	}

	/** Allocates {@code arrays} small arrays, at least 16 bytes each. */
	private static void work(int arrays) {
		for (int i = 0; i < arrays; i++) {
			sink = new long[4];
		}
	}

}
