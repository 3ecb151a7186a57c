package io.waterdrop;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/** A failed nested block dooms only the transaction(...) block around it, on its own thread. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class NestedTransactionFailureTests {

	private final InMemoryKafka kafka = new InMemoryKafka();

	private Producer producer;

	private TransactionalPool pool;

	@AfterEach
	void close() {
		if (this.producer != null) {
			this.producer.closeForcefully();
		}
		if (this.pool != null) {
			this.pool.close(Duration.ZERO);
		}
	}

	/**
	 * Owner A has a bound transaction and runs a nested transaction(...) in it; another thread ends the bound
	 * transaction (allowed: "any thread but a polling one may end it"); thread C then runs an unrelated
	 * transaction(...) block; A's nested block throws meanwhile: C's transaction is not doomed by it.
	 */
	@Test
	void aNestedBlockFailingAfterItsBoundTransactionWasEndedElsewhereDoesNotDoomAnotherThreadsTransaction()
			throws Exception {
		this.producer = new Producer(ProducerConfig.builder()
			.id(TestProducers.uniqueId("review-race"))
			.kafka("transactional.id", TestProducers.uniqueId("review-race"))
			.maxWaitTimeout(Duration.ofSeconds(30))
			.clientFactory(this.kafka)
			.build());
		ExecutorService a = Executors.newSingleThreadExecutor();
		ExecutorService c = Executors.newSingleThreadExecutor();
		try {
			AtomicReference<BoundTransaction> bound = new AtomicReference<>();
			CountDownLatch inNested = new CountDownLatch(1);
			CountDownLatch cInBlock = new CountDownLatch(1);
			CountDownLatch nestedThrew = new CountDownLatch(1);
			Future<?> owner = a.submit(() -> {
				bound.set(this.producer.beginTransaction());
				try {
					this.producer.transaction((nested) -> {
						inNested.countDown();
						TestProducers.awaitLatch(cInBlock);
						throw new IllegalStateException("owner's nested block failed (after its transaction ended)");
					});
				}
				catch (IllegalStateException expected) {
					// the owner handles it
				}
				nestedThrew.countDown();
				return null;
			});
			assertThat(inNested.await(30, TimeUnit.SECONDS)).isTrue();
			bound.get().commit(); // from this thread, not the owner
			Future<String> unrelated = c.submit(() -> this.producer.transaction((transaction) -> {
				transaction.produceSync(Message.of("orders", "C's message"));
				cInBlock.countDown();
				TestProducers.awaitLatch(nestedThrew);
				return "C committed";
			}));
			owner.get(30, TimeUnit.SECONDS);
			assertThat(unrelated.get(30, TimeUnit.SECONDS)).isEqualTo("C committed");
			assertThat(this.kafka.payloads("orders")).containsExactly("C's message");
		}
		finally {
			a.shutdownNow();
			c.shutdownNow();
		}
	}

	/**
	 * A pool's produceSync inside a member's own transaction(...) block borrows that member and joins the block:
	 * its failure, caught, is the block's to handle, as any call's.
	 */
	@Test
	void aFailedPoolProduceSyncInsideAMembersOwnBlockDoesNotDoomIt() {
		this.pool = TransactionalPool.of(ProducerConfig.builder()
			.id("review-direct")
			.kafka("transactional.id", TestProducers.uniqueId("review-direct"))
			.clientFactory(this.kafka.topic("direct", 1)), 1, Duration.ofSeconds(5));
		Producer member = this.pool.members().get(0);
		Object value = member.transaction((transaction) -> {
			transaction.produceAsync(Message.of("direct", "kept"));
			assertThatExceptionOfType(InvalidMessageException.class).isThrownBy(
					() -> this.pool.produceSync(Message.builder("direct").partition(-1).payload("refused").build()));
			return "committed";
		});
		assertThat(value).isEqualTo("committed");
		assertThat(this.kafka.payloads("direct")).containsExactly("kept");
	}

}
