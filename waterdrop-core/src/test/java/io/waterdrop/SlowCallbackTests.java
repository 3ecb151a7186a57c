package io.waterdrop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
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
 * {@code waterdrop.callbacks.slow} meter; and a callback that holds its polling thread stalls only the
 * producers served by that thread: those on a dedicated Poller (or next to a slow producer in thread mode)
 * are served meanwhile. {@link InMemoryKafka} acknowledges at once. Latencies are not asserted here (the
 * isolation benchmark measures them): a held callback shows the same isolation without a clock.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES, threadMode = ThreadMode.SEPARATE_THREAD)
class SlowCallbackTests {

	private static final Duration SLOW = Duration.ofMillis(5);

	/** How long a held callback blocks its polling thread at least. */
	private static final Duration HELD = Duration.ofSeconds(1);

	/** Deadlock guard for waits that normally end at once. */
	private static final Duration GUARD = Duration.ofSeconds(30);

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
		// The ledger settles inside the last callback; the slots come back after its dispatch was counted.
		org.awaitility.Awaitility.await()
			.atMost(Duration.ofSeconds(30))
			.until(() -> ledger.pending() == 0 && producer.inFlight() == 0);
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

	/**
	 * A callback of a producer on the global Poller holds that Poller's thread: producers on a dedicated Poller
	 * are served meanwhile, while a neighbour on the global Poller waits for it. Only the slow producer's
	 * dispatch is reported as slow; the neighbour's wait behind it is not its own slow callback.
	 */
	@Test
	void producersOnADedicatedPollerAreServedWhileASlowCallbackHoldsTheGlobalOne() throws Exception {
		Poller dedicated = new Poller(PollerConfig.named("isolated"));
		Producer slow = create(ProducerConfig.builder()
			.id(TestProducers.uniqueId("slow-global"))
			.slowCallbackThreshold(Duration.ofMillis(2)));
		Producer neighbour = create(ProducerConfig.builder()
			.id(TestProducers.uniqueId("neighbour-global"))
			.slowCallbackThreshold(HELD));
		List<Producer> isolated = new ArrayList<>();
		for (int i = 0; i < 3; i++) {
			isolated.add(create(ProducerConfig.builder()
				.id(TestProducers.uniqueId("isolated"))
				.poller(dedicated)
				.slowCallbackThreshold(HELD)));
		}
		List<ProducerEvent.SlowCallback> slowEvents = new CopyOnWriteArrayList<>();
		for (Producer producer : this.created) {
			producer.monitor().subscribe(ProducerEvent.SlowCallback.class, slowEvents::add);
		}
		Hold hold = new Hold();
		DeliveryHandle held = slow.produceAsync(Message.of("slow", "held"), hold.callback());
		hold.awaitHolding();
		DeliveryHandle waiting;
		List<String> isolatedThreads = new CopyOnWriteArrayList<>();
		try {
			// Queued on the global Poller behind the held callback.
			waiting = neighbour.produceAsync(Message.of("measured", "neighbour"));
			List<DeliveryHandle> served = new ArrayList<>();
			for (Producer producer : isolated) {
				for (int i = 0; i < 20; i++) {
					served.add(producer.produceAsync(Message.of("measured", "isolated-" + i),
							(report, failure) -> isolatedThreads.add(Thread.currentThread().getName())));
				}
			}
			for (DeliveryHandle handle : served) {
				handle.await(GUARD);
			}
			assertThat(waiting).as("neighbour's report while the global Poller is held").isNotDone();
		}
		finally {
			hold.release();
		}
		assertThat(waiting.await(GUARD)).isNotNull();
		assertThat(held.await(GUARD)).isNotNull();
		// A handle completes before its callback runs: wait for the last callbacks too.
		org.awaitility.Awaitility.await().atMost(GUARD).until(() -> isolatedThreads.size() >= 60);
		assertThat(isolatedThreads).hasSize(60).containsOnly(dedicated.threadName());
		org.awaitility.Awaitility.await().atMost(GUARD).until(() -> slow.stats().slowCallbacks() == 1);
		assertThat(slowEvents).singleElement().satisfies((event) -> {
			assertThat(event.producerId()).isEqualTo(slow.id());
			assertThat(event.pollingThread()).isEqualTo("waterdrop.poller#0");
			assertThat(event.duration()).isGreaterThanOrEqualTo(HELD);
		});
		for (Producer producer : isolated) {
			assertThat(producer.stats().slowCallbacks()).isZero();
		}
		assertThat(neighbour.stats().slowCallbacks()).isZero();
	}

	/** A thread-mode producer whose callback holds its own dispatch thread stalls nobody else. */
	@Test
	void slowCallbackInThreadModeStallsOnlyItsOwnProducer() throws Exception {
		Producer slow = create(ProducerConfig.builder()
			.id(TestProducers.uniqueId("slow-thread"))
			.pollingMode(PollingMode.THREAD)
			.slowCallbackThreshold(Duration.ofMillis(2)));
		Producer neighbour = create(ProducerConfig.builder()
			.id(TestProducers.uniqueId("neighbour-fd"))
			.slowCallbackThreshold(HELD));
		List<ProducerEvent.SlowCallback> slowEvents = new CopyOnWriteArrayList<>();
		slow.monitor().subscribe(ProducerEvent.SlowCallback.class, slowEvents::add);
		neighbour.monitor().subscribe(ProducerEvent.SlowCallback.class, slowEvents::add);
		Hold hold = new Hold();
		DeliveryHandle held = slow.produceAsync(Message.of("slow", "held"), hold.callback());
		hold.awaitHolding();
		DeliveryHandle behind;
		try {
			behind = slow.produceAsync(Message.of("slow", "behind"));
			for (int i = 0; i < 20; i++) {
				assertThat(neighbour.produceAsync(Message.of("measured", "m-" + i)).await(GUARD)).isNotNull();
			}
			assertThat(behind).as("the slow producer's next report while its callback holds its thread").isNotDone();
		}
		finally {
			hold.release();
		}
		assertThat(behind.await(GUARD)).isNotNull();
		assertThat(held.await(GUARD)).isNotNull();
		org.awaitility.Awaitility.await().atMost(GUARD).until(() -> slow.stats().slowCallbacks() >= 1);
		assertThat(slowEvents).isNotEmpty().allSatisfy((event) -> {
			assertThat(event.producerId()).isEqualTo(slow.id());
			assertThat(event.pollingThread()).isEqualTo("waterdrop.dispatch-" + slow.id());
		});
		assertThat(neighbour.stats().slowCallbacks()).isZero();
	}

	/**
	 * A callback that blocks its polling thread until released, and for at least {@link #HELD}: surely slow
	 * for a 2 ms threshold, and longer than the threshold of producers that must not count it as theirs.
	 */
	private static final class Hold {

		private final CountDownLatch holding = new CountDownLatch(1);

		private final CountDownLatch released = new CountDownLatch(1);

		private volatile long heldSince;

		DeliveryCallback callback() {
			return (report, failure) -> {
				this.heldSince = System.nanoTime();
				this.holding.countDown();
				try {
					this.released.await(2, TimeUnit.MINUTES);
				}
				catch (InterruptedException ex) {
					Thread.currentThread().interrupt();
				}
			};
		}

		void awaitHolding() throws InterruptedException {
			assertThat(this.holding.await(GUARD.toSeconds(), TimeUnit.SECONDS)).as("callback started").isTrue();
		}

		void release() throws InterruptedException {
			long left = HELD.toNanos() - (System.nanoTime() - this.heldSince);
			if (left > 0) {
				TimeUnit.NANOSECONDS.sleep(left);
			}
			this.released.countDown();
		}

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
