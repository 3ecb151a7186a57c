package io.waterdrop.autoconfigure.transaction;

import org.jspecify.annotations.Nullable;

import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.transaction.InvalidIsolationLevelException;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.TransactionSystemException;
import org.springframework.transaction.support.AbstractPlatformTransactionManager;
import org.springframework.transaction.support.DefaultTransactionStatus;
import org.springframework.transaction.support.ResourceTransactionManager;
import org.springframework.transaction.support.SmartTransactionObject;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionSynchronizationUtils;

import io.waterdrop.Producer;
import io.waterdrop.TransactionOutcomeUnknownException;
import io.waterdrop.autoconfigure.ProducerBeans;

/**
 * A {@code PlatformTransactionManager} for one transactional WaterDrop producer: a Spring transaction it
 * manages is a Kafka transaction of that producer, bound to the thread ({@link Producer#beginTransaction()}),
 * which what the thread produces on the producer joins; committed on commit, aborted on rollback. The
 * starter defines one per transactional producer, named {@code <producer>TransactionManager}, for
 * {@code @Transactional("ordersTransactionManager")}; it is not a default candidate, so that it never takes
 * the place of the application's own transaction manager.
 * <p>
 * It shares the resource of {@link SpringTransactionJoiner} (the producer is the key): joining a Kafka
 * transaction synchronized with another transaction manager's transaction participates in it.
 * One producer runs one transaction at a time, so a new transaction ({@code REQUIRES_NEW}) on a producer
 * whose transaction is open on the thread is refused, and while a {@code NOT_SUPPORTED} scope suspends the
 * open one what the thread produces on the producer is refused rather than joining it; nested transactions
 * are not supported. (Another manager's {@code REQUIRES_NEW} inside this one's transaction suspends only that
 * manager's resources: what it produces on the producer joins this transaction, as {@code KafkaTemplate}
 * joins a {@code KafkaTransactionManager}'s.) Over a test's mock in the producer's place ({@code @MockitoBean})
 * its transactions join, nest and roll back as Spring's do, with no Kafka transaction in them.
 */
public class WaterDropTransactionManager extends AbstractPlatformTransactionManager
		implements ResourceTransactionManager {

	private static final long serialVersionUID = 1L;

	private final transient Producer producer;

	public WaterDropTransactionManager(Producer producer) {
		this.producer = producer;
		setTransactionSynchronization(SYNCHRONIZATION_ON_ACTUAL_TRANSACTION);
	}

	/** The producer whose transactions this manages. */
	public Producer getProducer() {
		return this.producer;
	}

	@Override
	public Object getResourceFactory() {
		return this.producer;
	}

	@Override
	protected Object doGetTransaction() {
		return new KafkaTransactionObject(
				(ProducerTransactionHolder) TransactionSynchronizationManager.getResource(this.producer));
	}

	@Override
	protected boolean isExistingTransaction(Object transaction) {
		ProducerTransactionHolder holder = ((KafkaTransactionObject) transaction).holder;
		return holder != null && holder.isTransactionOpen();
	}

	@Override
	protected void doBegin(Object transaction, TransactionDefinition definition) {
		if (definition.getIsolationLevel() != TransactionDefinition.ISOLATION_DEFAULT) {
			// As KafkaTransactionManager: honoured silently, it would promise what Kafka cannot give.
			throw new InvalidIsolationLevelException("A Kafka transaction has no isolation level to set (level "
					+ definition.getIsolationLevel() + " was asked for): leave this transaction's isolation at its "
					+ "default");
		}
		boolean mock = !ProducerBeans.isManaged(this.producer); // a test's, in the producer's place
		if (!mock && this.producer.inTransaction()) {
			throw new CannotCreateTransactionException("Producer '" + this.producer.id()
					+ "' has a Kafka transaction open on this thread already (suspended?); one producer runs one "
					+ "transaction at a time, so a new one cannot begin: use another producer");
		}
		// A holder of a Kafka transaction that ended already (committed after its outer commit) goes.
		TransactionSynchronizationManager.unbindResourceIfPossible(this.producer);
		ProducerTransactionHolder holder;
		try {
			holder = mock ? ProducerTransactionHolder.forMock()
					: new ProducerTransactionHolder(this.producer.beginTransaction());
		}
		catch (RuntimeException ex) {
			throw new CannotCreateTransactionException(
					"Could not begin a Kafka transaction on producer '" + this.producer.id() + "'", ex);
		}
		holder.setSynchronizedWithTransaction(true);
		((KafkaTransactionObject) transaction).holder = holder;
		TransactionSynchronizationManager.bindResource(this.producer, holder);
	}

	/**
	 * Suspended ({@code NOT_SUPPORTED}), the Kafka transaction takes none of the thread's work until resumed.
	 * One that the joiner synchronized with another manager's transaction was suspended and unbound by its
	 * synchronization already, which resumes it too: nothing to do here then.
	 */
	@Override
	protected @Nullable Object doSuspend(Object transaction) {
		((KafkaTransactionObject) transaction).holder = null;
		ProducerTransactionHolder holder = (ProducerTransactionHolder) TransactionSynchronizationManager
			.unbindResourceIfPossible(this.producer);
		if (holder != null) {
			holder.suspend();
		}
		return holder;
	}

	@Override
	protected void doResume(@Nullable Object transaction, Object suspendedResources) {
		ProducerTransactionHolder holder = (ProducerTransactionHolder) suspendedResources;
		holder.resume();
		TransactionSynchronizationManager.bindResource(this.producer, holder);
	}

	/**
	 * A commit whose outcome is unknown (it kept timing out; the broker may have committed) is thrown as
	 * Spring's {@link TransactionSystemException}, for which Spring tells synchronizations
	 * {@code STATUS_UNKNOWN}: any other exception would have them told the transaction rolled back.
	 */
	@Override
	protected void doCommit(DefaultTransactionStatus status) {
		try {
			holder(status).commit();
		}
		catch (TransactionOutcomeUnknownException ex) {
			throw new TransactionSystemException(ex.getMessage(), ex);
		}
	}

	@Override
	protected void doRollback(DefaultTransactionStatus status) {
		holder(status).abort();
	}

	@Override
	protected void doSetRollbackOnly(DefaultTransactionStatus status) {
		holder(status).setRollbackOnly();
	}

	@Override
	protected void doCleanupAfterCompletion(Object transaction) {
		ProducerTransactionHolder holder = ((KafkaTransactionObject) transaction).holder;
		TransactionSynchronizationManager.unbindResourceIfPossible(this.producer);
		if (holder != null) {
			holder.abort(); // only if something left it open
			holder.clear();
		}
	}

	private static ProducerTransactionHolder holder(DefaultTransactionStatus status) {
		ProducerTransactionHolder holder = ((KafkaTransactionObject) status.getTransaction()).holder;
		if (holder == null) {
			throw new IllegalStateException("No Kafka transaction is bound to this Spring transaction");
		}
		return holder;
	}

	/** The transaction object: the bound Kafka transaction, if any. */
	private static final class KafkaTransactionObject implements SmartTransactionObject {

		private @Nullable ProducerTransactionHolder holder;

		KafkaTransactionObject(@Nullable ProducerTransactionHolder holder) {
			this.holder = holder;
		}

		@Override
		public boolean isRollbackOnly() {
			return this.holder != null && this.holder.isRollbackOnly();
		}

		@Override
		public void flush() {
			TransactionSynchronizationUtils.triggerFlush();
		}

	}

}
