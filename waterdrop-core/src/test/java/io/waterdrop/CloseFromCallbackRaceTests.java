package io.waterdrop;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerConfig;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A callback closes producer B while another thread is still connecting B for the first time. The close must
 * neither wait on the Poller for B's connect (which builds B's client outside B's lifecycle lock) nor run
 * blocking releases there: B, never connected, is closed at once, and its connect refuses.
 */
class CloseFromCallbackRaceTests {

	private final List<Producer> producers = new CopyOnWriteArrayList<>();

	@AfterEach
	void closeAll() {
		this.producers.forEach(Producer::closeForcefully);
	}

	/**
	 * A close from a callback while another thread's first connect builds the client: the close does not wait
	 * for the connect (it holds no lock while it builds), the producer is closed at once, and the connect then
	 * closes the client it built and refuses.
	 */
	@RepeatedTest(5)
	@Timeout(180) // five waits of up to 30 s each
	void closeFromACallbackRacingAFirstConnectReturnsAtOnceAndTheConnectRefuses() throws Exception {
		Poller poller = new Poller(PollerConfig.named("close-race"));
		CountDownLatch connecting = new CountDownLatch(1);
		CountDownLatch mayConnect = new CountDownLatch(1);
		List<MisbehavingKafka> built = new CopyOnWriteArrayList<>();
		Producer source = producer(poller, (properties) -> new MisbehavingKafka());
		Producer target = producer(poller, (properties) -> {
			connecting.countDown();
			TestProducers.awaitLatch(mayConnect);
			MisbehavingKafka client = new MisbehavingKafka();
			built.add(client);
			return client;
		});
		source.connect();
		source.produceSync(Message.of("fine", "warm-up")); // the Poller thread is running

		CompletableFuture<Void> firstConnect = CompletableFuture.runAsync(target::connect);
		TestProducers.awaitLatch(connecting);
		CompletableFuture<Void> callbackReturned = new CompletableFuture<>();
		try {
			source.produceAsync(Message.of("fine", "closes the target"), (report, failure) -> {
				target.close(Duration.ofSeconds(30));
				callbackReturned.complete(null);
			});
			callbackReturned.get(30, TimeUnit.SECONDS);
			assertThat(target.status()).isEqualTo(ProducerStatus.CLOSED);
			assertThat(firstConnect).isNotDone();
		}
		finally {
			mayConnect.countDown();
		}
		assertThat(firstConnect).failsWithin(Duration.ofSeconds(30))
			.withThrowableOfType(ExecutionException.class)
			.withCauseInstanceOf(ProducerClosedException.class);
		assertThat(built).singleElement().satisfies((client) -> assertThat(client.closed()).isTrue());
		// The Poller still serves the source.
		assertThat(source.produceSync(Message.of("fine", "after")).topic()).isEqualTo("fine");
	}

	private Producer producer(Poller poller,
			java.util.function.Function<java.util.Map<String, Object>, org.apache.kafka.clients.producer.Producer<byte[], byte[]>> client) {
		Producer producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("close-race"))
			.poller(poller)
			.maxWaitTimeout(Duration.ofSeconds(30))
			.clientFactory(client)
			.build());
		this.producers.add(producer);
		return producer;
	}

}
