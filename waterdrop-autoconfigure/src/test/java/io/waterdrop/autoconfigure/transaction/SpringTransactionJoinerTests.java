package io.waterdrop.autoconfigure.transaction;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.AbstractPlatformTransactionManager;
import org.springframework.transaction.support.DefaultTransactionStatus;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionSynchronizationUtils;
import org.springframework.transaction.support.TransactionTemplate;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerConfig;
import io.waterdrop.TransactionFailedException;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

/**
 * The joiner's synchronizations called as a JTA transaction manager calls them: {@code afterCompletion} on
 * the transaction manager's own thread, when it rolls back on a timeout while the thread that began the
 * transaction is still at work; and after a commit, among synchronizations registered after the first produce.
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

	private final List<MockProducer<byte[], byte[]>> mockClients = new CopyOnWriteArrayList<>();

	/** Over Kafka's mocks ({@link #mockClients}), whose commit can be made to fail. */
	private final Producer mocked = new Producer(ProducerConfig.builder()
		.id("ledger")
		.kafka("transactional.id", "ledger-joiner-tests")
		.maxWaitTimeout(Duration.ofSeconds(20))
		.transactionJoiner(SpringTransactionJoiner.INSTANCE)
		.clientFactory((properties) -> {
			MockProducer<byte[], byte[]> client = new MockProducer<>(true, null, new ByteArraySerializer(),
					new ByteArraySerializer());
			this.mockClients.add(client);
			return client;
		})
		.build());

	private final ExecutorService transactionManagerThread = Executors.newSingleThreadExecutor();

	@AfterEach
	void close() {
		this.mocked.closeForcefully();
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

	/**
	 * A synchronization of the default order registered after the first produce (by a service the transaction
	 * calls, say) runs its {@code afterCommit} before the Kafka commit: what it produces joins the Kafka
	 * transaction and commits with it, not in a second one that {@code afterCompletion} would commit.
	 */
	@Test
	void whatAnAfterCommitRegisteredAfterTheFirstProduceProducesCommitsWithTheKafkaTransaction() {
		new TransactionTemplate(new DatabaseLikeTransactionManager()).executeWithoutResult((status) -> {
			this.mocked.produceAsync(Message.of("orders", "placed"));
			TransactionSynchronizationManager.registerSynchronization(
					afterCommit(() -> this.mocked.produceAsync(Message.of("orders", "follow-up"))));
		});

		assertThat(this.mockClients).hasSize(1);
		assertThat(this.mockClients.get(0).commitCount()).isOne();
		assertThat(this.mockClients.get(0).history()).extracting((record) -> new String(record.value()))
			.containsExactly("placed", "follow-up");
		assertThat(this.mocked.inTransaction()).isFalse();
	}

	/** The Kafka commit failing after such an {@code afterCommit} reaches the caller, not only the log. */
	@Test
	void aKafkaCommitFailingAfterAnAfterCommitRegisteredAfterTheFirstProduceIsThrownToTheCaller() {
		TransactionTemplate template = new TransactionTemplate(new DatabaseLikeTransactionManager());

		assertThatExceptionOfType(TransactionFailedException.class)
			.isThrownBy(() -> template.executeWithoutResult((status) -> {
				this.mocked.produceAsync(Message.of("orders", "placed"));
				TransactionSynchronizationManager.registerSynchronization(afterCommit(() -> {
					this.mockClients.get(0).commitTransactionException = new KafkaException("refused (simulated)");
					this.mocked.produceAsync(Message.of("orders", "follow-up"));
				}));
			}));
		assertThat(this.mockClients.get(0).commitCount()).isZero();
		assertThat(this.mocked.inTransaction()).isFalse();
	}

	/**
	 * An {@code afterCommit} that throws stops Spring before the Kafka commit: the Kafka transaction is still
	 * open when {@code afterCompletion} runs, where Spring runs {@code AFTER_COMMIT} event listeners. It is ended
	 * first there, so that a listener's {@code transaction(...)} is a transaction of its own, as after any
	 * commit: aborted, its message is not committed with the Spring transaction's.
	 */
	@Test
	void afterAFailingAfterCommitAnAfterCommitListenersTransactionIsItsOwn() {
		List<Object> listener = new CopyOnWriteArrayList<>();
		TransactionTemplate template = new TransactionTemplate(new DatabaseLikeTransactionManager());

		assertThatIllegalStateException().isThrownBy(() -> template.executeWithoutResult((status) -> {
			TransactionSynchronizationManager.registerSynchronization(afterCommit(() -> {
				throw new IllegalStateException("afterCommit failed (simulated)");
			}));
			TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {

				@Override
				public void afterCompletion(int completed) {
					Producer ledger = SpringTransactionJoinerTests.this.mocked;
					listener.add(ledger.inTransaction());
					String result = ledger.transaction((transaction) -> {
						transaction.produceAsync(Message.of("orders", "listener aborted"));
						transaction.abort();
						return "not aborted";
					});
					listener.add(String.valueOf(result));
				}

			});
			this.mocked.produceAsync(Message.of("orders", "placed"));
		})).withMessage("afterCommit failed (simulated)");

		assertThat(listener).containsExactly(false, "null");
		assertThat(this.mockClients).hasSize(1);
		assertThat(this.mockClients.get(0).history()).extracting((record) -> new String(record.value()))
			.containsExactly("placed");
		assertThat(this.mocked.inTransaction()).isFalse();
	}

	/** A synchronization of the default order running {@code work} in its {@code afterCommit}. */
	private static TransactionSynchronization afterCommit(Runnable work) {
		return new TransactionSynchronization() {

			@Override
			public void afterCommit() {
				work.run();
			}

		};
	}

	private static void awaitUninterruptibly(CountDownLatch latch) {
		try {
			latch.await();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

	/** A transaction manager of no resource, standing in for a database's. */
	static final class DatabaseLikeTransactionManager extends AbstractPlatformTransactionManager {

		private static final long serialVersionUID = 1L;

		@Override
		protected Object doGetTransaction() {
			return new Object();
		}

		@Override
		protected void doBegin(Object transaction, TransactionDefinition definition) {
		}

		@Override
		protected void doCommit(DefaultTransactionStatus status) {
		}

		@Override
		protected void doRollback(DefaultTransactionStatus status) {
		}

	}

}
