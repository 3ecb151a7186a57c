package io.waterdrop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.producer.ProducerConfig;

import io.waterdrop.testing.KafkaTestBroker;

/**
 * Creates producers against the test broker and closes every one of them after a test, so that no test
 * leaves a producer registered on the global Poller for the next one.
 */
final class TestProducers {

	private static final AtomicInteger ids = new AtomicInteger();

	private final List<Producer> producers = new CopyOnWriteArrayList<>();

	/** A unique producer id starting with {@code prefix}. */
	static String uniqueId(String prefix) {
		return prefix + "-" + ids.incrementAndGet();
	}

	/** Settings reaching the test broker; {@code linger.ms=0} keeps one-at-a-time sync sends fast. */
	static io.waterdrop.ProducerConfig.Builder config(String idPrefix) {
		return io.waterdrop.ProducerConfig.builder()
			.id(uniqueId(idPrefix))
			.kafka(KafkaTestBroker.clientProperties())
			.kafka(ProducerConfig.LINGER_MS_CONFIG, 0)
			.maxWaitTimeout(Duration.ofSeconds(30));
	}

	Producer create(io.waterdrop.ProducerConfig config) {
		Producer producer = new Producer(config);
		this.producers.add(producer);
		return producer;
	}

	Producer create(io.waterdrop.ProducerConfig.Builder config) {
		return create(config.build());
	}

	/** Closes every producer created here; the first failure is thrown once all were tried. */
	void closeAll() {
		List<RuntimeException> failures = new ArrayList<>();
		for (Producer producer : this.producers) {
			try {
				producer.close(Duration.ofSeconds(30));
			}
			catch (RuntimeException ex) {
				failures.add(ex);
			}
		}
		this.producers.clear();
		if (!failures.isEmpty()) {
			RuntimeException first = failures.get(0);
			failures.subList(1, failures.size()).forEach(first::addSuppressed);
			throw first;
		}
	}

	/** Live threads whose name starts with {@code prefix}. */
	static List<Thread> threadsNamed(String prefix) {
		return Thread.getAllStackTraces()
			.keySet()
			.stream()
			.filter((thread) -> thread.isAlive() && thread.getName().startsWith(prefix))
			.toList();
	}

	/** Waits for the latch, failing the test after 30 s (a deadlock, not a slow machine). */
	static void awaitLatch(CountDownLatch latch) {
		try {
			if (!latch.await(30, TimeUnit.SECONDS)) {
				throw new AssertionError("latch not released");
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new AssertionError(ex);
		}
	}

	/** Waits for the latch whatever interrupts come meanwhile, and restores the interrupt flag. */
	static void awaitUninterruptibly(CountDownLatch latch) {
		boolean interrupted = false;
		while (true) {
			try {
				latch.await();
				break;
			}
			catch (InterruptedException ex) {
				interrupted = true;
			}
		}
		if (interrupted) {
			Thread.currentThread().interrupt();
		}
	}

}
