package io.waterdrop;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A callback closes producer B while another thread is still connecting B for the first time. Whether the
 * close runs on the polling thread must be decided once B's connect is done (under its lifecycle lock): B
 * turns out to be served by this very Poller, so its blocking releases must run elsewhere, or the Poller
 * would wait for itself.
 */
class CloseFromCallbackRaceTests {

	private final List<Producer> producers = new CopyOnWriteArrayList<>();

	@AfterEach
	void closeAll() {
		this.producers.forEach(Producer::closeForcefully);
	}

	@RepeatedTest(5)
	@Timeout(60)
	void closeFromACallbackRacingAFirstConnectNeverRunsOnThePoller() throws Exception {
		Poller poller = new Poller(PollerConfig.named("close-race"));
		CountDownLatch connecting = new CountDownLatch(1);
		CountDownLatch mayConnect = new CountDownLatch(1);
		Producer source = producer(poller, (properties) -> new MisbehavingKafka());
		Producer target = producer(poller, (properties) -> {
			connecting.countDown();
			awaitLatch(mayConnect);
			return new MisbehavingKafka();
		});
		List<String> closingThreads = new CopyOnWriteArrayList<>();
		target.monitor().subscribe(ProducerEvent.Closing.class,
				(event) -> closingThreads.add(Thread.currentThread().getName()));
		source.connect();
		source.produceSync(Message.of("fine", "warm-up")); // the Poller thread is running

		CompletableFuture<Void> firstConnect = CompletableFuture.runAsync(target::connect);
		awaitLatch(connecting);
		CompletableFuture<Void> callbackReturned = new CompletableFuture<>();
		source.produceAsync(Message.of("fine", "closes the target"), (report, failure) -> {
			target.close(Duration.ofSeconds(30));
			callbackReturned.complete(null);
		});
		// The callback is now blocked on the target's lifecycle lock, which its first connect holds.
		Thread pollerThread = thread(poller.threadName());
		await().atMost(Duration.ofSeconds(30)).until(() -> pollerThread.getState() == Thread.State.WAITING);
		mayConnect.countDown();

		firstConnect.get(30, TimeUnit.SECONDS);
		callbackReturned.get(30, TimeUnit.SECONDS);
		await().atMost(Duration.ofSeconds(30)).until(() -> target.status() == ProducerStatus.CLOSED);
		assertThat(closingThreads).singleElement().asString().startsWith("waterdrop.close-");
		// The Poller still serves the source.
		assertThat(source.produceSync(Message.of("fine", "after")).topic()).isEqualTo("fine");
	}

	private Producer producer(Poller poller,
			java.util.function.Function<java.util.Map<String, Object>, org.apache.kafka.clients.producer.Producer<byte[], byte[]>> client) {
		Producer producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("close-race"))
			.poller(poller)
			.maxWaitTimeout(Duration.ofSeconds(5))
			.clientFactory(client)
			.build());
		this.producers.add(producer);
		return producer;
	}

	private static Thread thread(String name) {
		return Thread.getAllStackTraces()
			.keySet()
			.stream()
			.filter((thread) -> thread.getName().equals(name))
			.findFirst()
			.orElseThrow();
	}

	private static void awaitLatch(CountDownLatch latch) {
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

}
