package io.waterdrop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.Timeout.ThreadMode;

import io.waterdrop.DeliveryLedger.Outcome;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.instrumentation.micrometer.WaterDropMetrics;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;
import io.waterdrop.polling.PollingMode;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * A producer whose delivery callback is slow: back-pressure engages (produce calls wait for room instead of
 * piling up reports) and what the producer holds never exceeds {@code maxInFlight}; the slow dispatches are
 * reported as {@code callback.slow} events, counted in {@code stats().slowCallbacks()} and in the
 * {@code waterdrop.callbacks.slow} meter; and producers on a dedicated Poller (or a slow producer in thread
 * mode) keep their neighbours' dispatch latency low. {@link InMemoryKafka} acknowledges at once, so every
 * delay measured here is WaterDrop's.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES, threadMode = ThreadMode.SEPARATE_THREAD)
class SlowCallbackTests {

	private static final Duration SLOW = Duration.ofMillis(5);

	private final List<Producer> created = new CopyOnWriteArrayList<>();

	private final InMemoryKafka memory = new InMemoryKafka();

	@AfterEach
	void closeProducers() {
		assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
			for (Producer producer : this.created) {
				producer.close(Duration.ofSeconds(30));
			}
		});
	}

	@Test
	void slowCallbackEngagesBackPressureAndNothingExceedsMaxInFlight() throws Exception {
		int maxInFlight = 500;
		int count = 1_000;
		Producer producer = create(ProducerConfig.builder()
			.id(TestProducers.uniqueId("slow"))
			.maxInFlight(maxInFlight)
			.waitTimeoutOnQueueFull(Duration.ofSeconds(30))
			.slowCallbackThreshold(Duration.ofMillis(2)));
		DeliveryLedger ledger = new DeliveryLedger().watch(producer);
		List<ProducerEvent.SlowCallback> slowEvents = new CopyOnWriteArrayList<>();
		producer.monitor().subscribe(ProducerEvent.SlowCallback.class, slowEvents::add);
		SimpleMeterRegistry registry = new SimpleMeterRegistry();
		new WaterDropMetrics(List.of(producer), List.of()).bindTo(registry);
		AtomicLong mostInFlight = new AtomicLong();
		AtomicLong mostQueued = new AtomicLong();
		Runnable sample = () -> {
			mostInFlight.accumulateAndGet(producer.inFlight(), Math::max);
			mostQueued.accumulateAndGet(producer.queueSize(), Math::max);
		};
		AtomicBoolean sampling = new AtomicBoolean(true);
		Thread sampler = start("in-flight-sampler", () -> {
			while (sampling.get()) {
				sample.run();
				LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(50));
			}
		});
		AtomicInteger waitedForRoom = new AtomicInteger();
		AtomicInteger labels = new AtomicInteger();
		ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
		long started = System.nanoTime();
		List<Thread> senders = new ArrayList<>();
		for (int t = 0; t < 2; t++) {
			senders.add(start("slow-sender-" + t, () -> {
				int label;
				while ((label = labels.getAndIncrement()) < count) {
					DeliveryCallback booked = ledger.book(label);
					long calling = System.nanoTime();
					try {
						producer.produceAsync(Message.builder("slow").payload("m-" + label).label(label).build(),
								(report, failure) -> {
									sample.run();
									booked.onDelivery(report, failure);
									LockSupport.parkNanos(SLOW.toNanos());
								});
					}
					catch (Throwable ex) {
						ledger.refused(label);
						failures.add(ex);
						return;
					}
					sample.run();
					if (System.nanoTime() - calling > TimeUnit.MILLISECONDS.toNanos(2)) {
						waitedForRoom.incrementAndGet();
					}
				}
			}));
		}
		for (Thread sender : senders) {
			sender.join();
		}
		Duration producing = Duration.ofNanos(System.nanoTime() - started);
		org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> ledger.pending() == 0);
		// Read before the close, which removes the producer's meters.
		double slowMeter = registry.get("waterdrop.callbacks.slow")
			.tag("producer", producer.id())
			.functionCounter()
			.count();
		producer.close(Duration.ofSeconds(30));
		sampling.set(false);
		sampler.join();

		System.out.println("Slow callbacks: produced " + count + " in " + producing.toMillis() + " ms, "
				+ waitedForRoom + " produce calls waited for room, at most " + mostInFlight + " in flight and "
				+ mostQueued + " queued");
		assertThat(failures).isEmpty();
		assertThat(ledger.violations(producer)).isEmpty();
		assertThat(ledger.count(Outcome.ACKNOWLEDGED)).isEqualTo(count);
		// What the producer holds is bounded however slow the callback.
		assertThat(mostInFlight.get()).isLessThanOrEqualTo(maxInFlight);
		assertThat(mostQueued.get()).isLessThanOrEqualTo(maxInFlight);
		// Back-pressure: producing went at the callbacks' pace once the first maxInFlight were taken.
		assertThat(waitedForRoom.get()).isGreaterThan((count - maxInFlight) / 2);
		assertThat(producing).isGreaterThanOrEqualTo(SLOW.multipliedBy(count - maxInFlight));
		// Every dispatch was slower than the 2 ms threshold: each one is reported and counted, on the Poller.
		assertThat(producer.stats().slowCallbacks()).isEqualTo(count);
		assertThat(slowEvents).hasSize(count).allSatisfy((event) -> {
			assertThat(event.producerId()).isEqualTo(producer.id());
			assertThat(event.pollingThread()).isEqualTo("waterdrop.poller#0");
			assertThat(event.duration()).isGreaterThanOrEqualTo(SLOW);
			assertThat(event.threshold()).isEqualTo(Duration.ofMillis(2));
		});
		assertThat(slowMeter).isEqualTo(count);
	}

	@Test
	void producersOnADedicatedPollerKeepTheirLatencyWhileASlowCallbackHoldsTheGlobalOne() throws Exception {
		Poller dedicated = new Poller(PollerConfig.named("isolated"));
		Producer slow = create(ProducerConfig.builder()
			.id(TestProducers.uniqueId("slow-global"))
			.maxInFlight(500)
			.slowCallbackThreshold(Duration.ofMillis(2)));
		Producer neighbour = create(ProducerConfig.builder().id(TestProducers.uniqueId("neighbour-global")));
		List<Producer> isolated = new ArrayList<>();
		for (int i = 0; i < 3; i++) {
			isolated.add(create(ProducerConfig.builder().id(TestProducers.uniqueId("isolated")).poller(dedicated)));
		}
		List<ProducerEvent.SlowCallback> slowEvents = new CopyOnWriteArrayList<>();
		slow.monitor().subscribe(ProducerEvent.SlowCallback.class, slowEvents::add);
		AtomicBoolean running = new AtomicBoolean(true);
		Thread flood = start("slow-flood", () -> {
			while (running.get()) {
				slow.produceAsync(Message.of("slow", "slow"),
						(report, failure) -> LockSupport.parkNanos(SLOW.toNanos()));
			}
		});
		// The slow producer fills the global Poller's cycles before anybody measures.
		org.awaitility.Awaitility.await().until(() -> slow.inFlight() >= 400);

		List<Long> neighbourLatencies = measureLatencies(neighbour, Duration.ofSeconds(3));
		List<List<Long>> isolatedLatencies = new ArrayList<>();
		List<Thread> measuring = new ArrayList<>();
		for (Producer producer : isolated) {
			List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
			isolatedLatencies.add(latencies);
			measuring.add(start("measure-" + producer.id(),
					() -> latencies.addAll(measureLatencies(producer, Duration.ofSeconds(3)))));
		}
		for (Thread thread : measuring) {
			thread.join();
		}
		running.set(false);
		flood.join(TimeUnit.SECONDS.toMillis(30));

		List<Long> allIsolated = isolatedLatencies.stream().flatMap(List::stream).sorted().toList();
		System.out.println("Dispatch latency with a slow callback on the global Poller: neighbour on it "
				+ describe(neighbourLatencies) + "; on a dedicated Poller " + describe(allIsolated));
		assertThat(allIsolated).hasSizeGreaterThan(300);
		assertThat(percentile(allIsolated, 0.99)).as("p99 on the dedicated Poller, ms")
			.isLessThan(TimeUnit.MILLISECONDS.toNanos(50));
		// The contrast: a neighbour sharing the Poller waits for the slow producer's slices.
		assertThat(percentile(neighbourLatencies, 0.5)).as("median of the neighbour on the global Poller")
			.isGreaterThan(percentile(allIsolated, 0.5));
		assertThat(slowEvents).isNotEmpty();
		assertThat(slow.stats().slowCallbacks()).isPositive();
		for (Producer producer : isolated) {
			assertThat(producer.stats().slowCallbacks()).isZero();
		}
	}

	@Test
	void slowCallbackInThreadModeStallsOnlyItsOwnProducer() throws Exception {
		Producer slow = create(ProducerConfig.builder()
			.id(TestProducers.uniqueId("slow-thread"))
			.pollingMode(PollingMode.THREAD)
			.maxInFlight(500)
			.slowCallbackThreshold(Duration.ofMillis(2)));
		Producer neighbour = create(ProducerConfig.builder().id(TestProducers.uniqueId("neighbour-fd")));
		List<ProducerEvent.SlowCallback> slowEvents = new CopyOnWriteArrayList<>();
		slow.monitor().subscribe(ProducerEvent.SlowCallback.class, slowEvents::add);
		AtomicBoolean running = new AtomicBoolean(true);
		Thread flood = start("slow-thread-flood", () -> {
			while (running.get()) {
				slow.produceAsync(Message.of("slow", "slow"),
						(report, failure) -> LockSupport.parkNanos(SLOW.toNanos()));
			}
		});
		org.awaitility.Awaitility.await().until(() -> slow.inFlight() >= 400);

		List<Long> latencies = measureLatencies(neighbour, Duration.ofSeconds(2));
		running.set(false);
		flood.join(TimeUnit.SECONDS.toMillis(30));

		System.out.println("Dispatch latency of an fd-mode producer next to a slow thread-mode one: "
				+ describe(latencies));
		assertThat(percentile(latencies, 0.99)).isLessThan(TimeUnit.MILLISECONDS.toNanos(50));
		assertThat(slowEvents).isNotEmpty()
			.allSatisfy((event) -> assertThat(event.pollingThread()).isEqualTo("waterdrop.dispatch-" + slow.id()));
	}

	/** Produces one message every 5 ms for {@code duration}; the time from each produce call to its callback. */
	private static List<Long> measureLatencies(Producer producer, Duration duration) {
		List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
		AtomicInteger outstanding = new AtomicInteger();
		long end = System.nanoTime() + duration.toNanos();
		while (System.nanoTime() - end < 0) {
			long produced = System.nanoTime();
			outstanding.incrementAndGet();
			producer.produceAsync(Message.of("measured", "m"), (report, failure) -> {
				latencies.add(System.nanoTime() - produced);
				outstanding.decrementAndGet();
			});
			LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
		}
		org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> outstanding.get() == 0);
		List<Long> sorted = new ArrayList<>(latencies);
		Collections.sort(sorted);
		return sorted;
	}

	private static long percentile(List<Long> sorted, double quantile) {
		return sorted.get((int) Math.min(sorted.size() - 1, Math.floor(quantile * sorted.size())));
	}

	private static String describe(List<Long> sorted) {
		return String.format("%d samples, p50 %.2f ms, p99 %.2f ms, max %.2f ms", sorted.size(),
				percentile(sorted, 0.5) / 1e6, percentile(sorted, 0.99) / 1e6, sorted.get(sorted.size() - 1) / 1e6);
	}

	private Producer create(ProducerConfig.Builder config) {
		Producer producer = new Producer(config.clientFactory(this.memory).build());
		this.created.add(producer);
		return producer;
	}

	private static Thread start(String name, Runnable work) {
		Thread thread = new Thread(work, name);
		thread.setDaemon(true);
		thread.start();
		return thread;
	}

}
