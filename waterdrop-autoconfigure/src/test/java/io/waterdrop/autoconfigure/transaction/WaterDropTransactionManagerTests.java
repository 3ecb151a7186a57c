package io.waterdrop.autoconfigure.transaction;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.transaction.InvalidIsolationLevelException;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.TransactionSystemException;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerConfig;
import io.waterdrop.TransactionOutcomeUnknownException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

@Timeout(60)
class WaterDropTransactionManagerTests {

	private final List<MockProducer<byte[], byte[]>> clients = new CopyOnWriteArrayList<>();

	private final AtomicInteger built = new AtomicInteger();

	/** Its first client's commit keeps timing out; the client built after it commits. */
	private final Producer producer = new Producer(ProducerConfig.builder()
		.id("payments")
		.kafka("transactional.id", "payments-manager-tests")
		.maxWaitTimeout(Duration.ofSeconds(30))
		.clientFactory((properties) -> {
			MockProducer<byte[], byte[]> client = new MockProducer<>(true, null, new ByteArraySerializer(),
					new ByteArraySerializer());
			if (this.built.getAndIncrement() == 0) {
				client.commitTransactionException = new TimeoutException("commit timed out (simulated)");
			}
			this.clients.add(client);
			return client;
		})
		.build());

	@AfterEach
	void close() {
		this.producer.closeForcefully();
	}

	/** Kafka has no isolation levels: a transaction asking for one is refused, as KafkaTransactionManager does. */
	@Test
	void anIsolationLevelIsRefusedBeforeAnythingBegins() {
		TransactionTemplate template = new TransactionTemplate(new WaterDropTransactionManager(this.producer));
		template.setIsolationLevel(TransactionDefinition.ISOLATION_SERIALIZABLE);

		assertThatExceptionOfType(InvalidIsolationLevelException.class)
			.isThrownBy(() -> template.executeWithoutResult(
					(status) -> this.producer.produceAsync(Message.of("ledger", "entry"))))
			.withMessageContaining("no isolation level");
		assertThat(this.clients).isEmpty();
		assertThat(this.producer.inTransaction()).isFalse();
	}

	/**
	 * A commit whose outcome is unknown (it may have landed) is no rollback: synchronizations hear
	 * {@code STATUS_UNKNOWN}, not {@code STATUS_ROLLED_BACK} (their after-rollback compensations must not run),
	 * and the caller gets Spring's exception for a commit that failed so, with WaterDrop's as its cause.
	 */
	@Test
	void aCommitWhoseOutcomeIsUnknownIsNotReportedAsARollback() {
		TransactionTemplate template = new TransactionTemplate(new WaterDropTransactionManager(this.producer));
		List<Integer> completions = new CopyOnWriteArrayList<>();

		assertThatExceptionOfType(TransactionSystemException.class)
			.isThrownBy(() -> template.executeWithoutResult((status) -> {
				TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
					@Override
					public void afterCompletion(int completion) {
						completions.add(completion);
					}
				});
				this.producer.produceAsync(Message.of("ledger", "entry"));
			}))
			.withCauseInstanceOf(TransactionOutcomeUnknownException.class)
			.withMessageContaining("outcome is unknown");
		assertThat(completions).containsExactly(TransactionSynchronization.STATUS_UNKNOWN);
		// The producer is usable again (its client rebuilt), as after any unknown outcome.
		template.executeWithoutResult((status) -> this.producer.produceAsync(Message.of("ledger", "next")));
		assertThat(this.clients).hasSize(2);
		assertThat(this.clients.get(1).transactionCommitted()).isTrue();
	}

}
