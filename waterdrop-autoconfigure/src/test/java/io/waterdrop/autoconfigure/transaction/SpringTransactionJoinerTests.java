package io.waterdrop.autoconfigure.transaction;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionSynchronizationUtils;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerConfig;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The joiner's synchronizations called as a JTA transaction manager calls them: {@code afterCompletion} on
 * the transaction manager's own thread, when it rolls back on a timeout while the thread that began the
 * transaction is still at work.
 */
@Timeout(60)
class SpringTransactionJoinerTests {

	private final InMemoryKafka kafka = new InMemoryKafka();

	private final Producer producer = new Producer(ProducerConfig.builder()
		.id("payments")
		.kafka("transactional.id", "payments-joiner-tests")
		.transactionJoiner(SpringTransactionJoiner.INSTANCE)
		.clientFactory(this.kafka)
		.build());

	private final ExecutorService transactionManagerThread = Executors.newSingleThreadExecutor();

	@AfterEach
	void close() {
		this.transactionManagerThread.shutdownNow();
		if (TransactionSynchronizationManager.isSynchronizationActive()) {
			TransactionSynchronizationManager.clear();
		}
		TransactionSynchronizationManager.unbindResourceIfPossible(this.producer);
		this.producer.closeForcefully();
	}

	@Test
	void aRollbackCompletedOnAnotherThreadAbortsTheKafkaTransactionThereAndFreesTheProducer() throws Exception {
		TransactionSynchronizationManager.initSynchronization();
		TransactionSynchronizationManager.setActualTransactionActive(true);
		this.producer.produceSync(Message.of("orders", "doomed"));
		// An AFTER_ROLLBACK listener ordered before the joiner's abort produces on the thread that completes.
		TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {

			@Override
			public int getOrder() {
				return 0;
			}

			@Override
			public void afterCompletion(int status) {
				SpringTransactionJoinerTests.this.producer.produceSync(Message.of("orders", "rolled back notice"));
			}

		});
		List<TransactionSynchronization> first = TransactionSynchronizationManager.getSynchronizations();

		this.transactionManagerThread
			.submit(() -> TransactionSynchronizationUtils.invokeAfterCompletion(first,
					TransactionSynchronization.STATUS_ROLLED_BACK))
			.get(30, TimeUnit.SECONDS);

		assertThat(this.kafka.payloads("orders")).containsExactly("rolled back notice");
		assertThat(this.producer.inTransaction()).isFalse();
		this.transactionManagerThread.submit(() -> this.producer.produceSync(Message.of("orders", "another thread")))
			.get(30, TimeUnit.SECONDS);
		assertThat(this.kafka.payloads("orders")).containsExactly("rolled back notice", "another thread");

		// The thread that began it is still in its (rolled back) Spring scope: its later work joins a new
		// Kafka transaction of that scope, aborted when the scope completes on it.
		this.producer.produceAsync(Message.of("orders", "late work"));
		assertThat(this.producer.inTransaction()).isTrue();
		List<TransactionSynchronization> second = new ArrayList<>(
				TransactionSynchronizationManager.getSynchronizations());
		second.removeAll(first);
		TransactionSynchronizationUtils.invokeAfterCompletion(second, TransactionSynchronization.STATUS_ROLLED_BACK);
		assertThat(this.producer.inTransaction()).isFalse();
		assertThat(this.kafka.payloads("orders")).containsExactly("rolled back notice", "another thread");
	}

	/**
	 * The owner produces while the other thread is still completing (after the abort, before the holder is
	 * released): its message must not run in a Kafka transaction of its own, which would commit although its
	 * Spring transaction rolled back.
	 */
	@Test
	void whatTheOwnerProducesWhileAnotherThreadCompletesItsRollbackIsNotCommitted() throws Exception {
		TransactionSynchronizationManager.initSynchronization();
		TransactionSynchronizationManager.setActualTransactionActive(true);
		this.producer.produceSync(Message.of("orders", "doomed"));
		CountDownLatch aborted = new CountDownLatch(1);
		CountDownLatch ownerProduced = new CountDownLatch(1);
		TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {

			@Override
			public int getOrder() {
				return 0; // after the rollback guard's abort, before the joiner's synchronization
			}

			@Override
			public void afterCompletion(int status) {
				aborted.countDown();
				awaitUninterruptibly(ownerProduced);
			}

		});
		List<TransactionSynchronization> first = TransactionSynchronizationManager.getSynchronizations();
		Future<?> completion = this.transactionManagerThread.submit(() -> TransactionSynchronizationUtils
			.invokeAfterCompletion(first, TransactionSynchronization.STATUS_ROLLED_BACK));
		assertThat(aborted.await(30, TimeUnit.SECONDS)).isTrue();

		this.producer.produceSync(Message.of("orders", "late"));
		ownerProduced.countDown();
		completion.get(30, TimeUnit.SECONDS);

		assertThat(this.kafka.payloads("orders")).isEmpty();
		List<TransactionSynchronization> second = new ArrayList<>(
				TransactionSynchronizationManager.getSynchronizations());
		second.removeAll(first);
		TransactionSynchronizationUtils.invokeAfterCompletion(second, TransactionSynchronization.STATUS_ROLLED_BACK);
		assertThat(this.kafka.payloads("orders")).isEmpty();
		assertThat(this.producer.inTransaction()).isFalse();
	}

	private static void awaitUninterruptibly(CountDownLatch latch) {
		try {
			latch.await();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
