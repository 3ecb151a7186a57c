package io.waterdrop.autoconfigure.transaction;

import org.springframework.core.Ordered;
import org.springframework.transaction.support.ResourceHolderSynchronization;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

import io.waterdrop.Producer;
import io.waterdrop.TransactionJoiner;

/**
 * Joins a transactional producer's work to the Spring transaction active on the thread, as
 * {@code KafkaTemplate} does: the first produce (or {@code transaction(...)}) in a Spring transaction begins a
 * Kafka transaction bound to it, which everything the thread produces on that producer joins; it is committed
 * after the Spring transaction commits ({@code afterCommit}; a failure there is thrown to the caller of the
 * outer commit, whose database work stays committed) and aborted when it rolls back.
 * <p>
 * Without an actual Spring transaction on the thread (none, or only synchronization with
 * {@code PROPAGATION_SUPPORTS}), the producer runs its own transaction, as without Spring. In an inner scope
 * that suspends the Spring transaction ({@code REQUIRES_NEW}, {@code NOT_SUPPORTED}) the producer's Kafka
 * transaction is suspended too: the producer refuses the scope's work (one transaction per
 * {@code transactional.id}), while a transactional pool gives it another member.
 */
public final class SpringTransactionJoiner implements TransactionJoiner {

	/** The joiner of every producer the starter builds. */
	public static final SpringTransactionJoiner INSTANCE = new SpringTransactionJoiner();

	private SpringTransactionJoiner() {
	}

	@Override
	public boolean joinOuterTransaction(Producer producer) {
		if (!TransactionSynchronizationManager.isSynchronizationActive()
				|| !TransactionSynchronizationManager.isActualTransactionActive()) {
			return false;
		}
		if (TransactionSynchronizationManager.getResource(producer) instanceof ProducerTransactionHolder bound) {
			if (bound.isTransactionOpen()) {
				return false;
			}
			// Ended on another thread (a JTA transaction manager's rollback) while this thread's Spring scope
			// goes on: its work joins a new Kafka transaction of that scope, as KafkaTemplate's takes a new
			// producer then, rather than one of its own that would commit.
			TransactionSynchronizationManager.unbindResource(producer);
		}
		ProducerTransactionHolder holder = new ProducerTransactionHolder(producer.beginTransaction());
		holder.setSynchronizedWithTransaction(true);
		TransactionSynchronizationManager.bindResource(producer, holder);
		TransactionSynchronizationManager.registerSynchronization(new Synchronization(holder, producer));
		TransactionSynchronizationManager.registerSynchronization(new RollbackGuard(holder));
		return true;
	}

	/**
	 * Runs first after a Spring transaction that did not commit, or committed with its Kafka transaction marked
	 * rollback-only, and sets the Kafka transaction aside (as a suspend does) until {@link Synchronization},
	 * last, aborts it. Without it, what an earlier
	 * {@code afterCompletion} (an {@code AFTER_ROLLBACK} event listener, say) produces on this producer would
	 * join the Kafka transaction about to be aborted: acknowledged, then rolled back unseen. It is refused
	 * instead (a pool gives it another member), as {@code KafkaTemplate} refuses once its transaction completes.
	 * On another thread than the one that began the Kafka transaction (a JTA transaction manager's timeout) it
	 * aborts it at once.
	 * <p>
	 * After a commit whose {@code afterCommit} phase an earlier synchronization cut short by throwing (the
	 * {@link Synchronization.Committer} never ran), it ends the Kafka transaction left open first thing, so that
	 * the {@code afterCompletion} work (Spring runs {@code AFTER_COMMIT} event listeners there) gets transactions
	 * of its own, as after any commit, instead of joining this one.
	 */
	static final class RollbackGuard implements TransactionSynchronization {

		private final ProducerTransactionHolder holder;

		RollbackGuard(ProducerTransactionHolder holder) {
			this.holder = holder;
		}

		@Override
		public int getOrder() {
			return Ordered.HIGHEST_PRECEDENCE;
		}

		@Override
		public void afterCommit() {
			if (this.holder.isRollbackOnly()) {
				this.holder.refuseWork(); // aborted after the others' afterCommit: they must not add to it
			}
		}

		@Override
		public void afterCompletion(int status) {
			if (status != STATUS_COMMITTED) {
				this.holder.refuseWork();
			}
			else if (this.holder.isRollbackOnly()) {
				this.holder.abort();
			}
			else {
				this.holder.commit();
			}
		}

	}

	/**
	 * Commits the Kafka transaction after the Spring one committed, aborts it otherwise ({@link RollbackGuard}
	 * ends what an earlier failing {@code afterCommit} left open). The commit runs after the other
	 * synchronizations' {@code afterCommit}, so that what they produce joins it and a failure of it is thrown to
	 * the caller (Spring only logs one in {@code afterCompletion}). Lowest precedence alone does not give that, as
	 * spring-kafka's {@code KafkaResourceSynchronization} does not: Spring runs synchronizations of one order in
	 * the order they were registered, and one registered after the first produce would come later; an order
	 * value of its own would put it before theirs. So {@code beforeCompletion} registers a {@link Committer},
	 * after every synchronization registered until then, and the commit is left to it.
	 */
	static final class Synchronization extends ResourceHolderSynchronization<ProducerTransactionHolder, Object> {

		private final ProducerTransactionHolder holder;

		/** The thread of the Spring transaction: the joiner registers this synchronization on it. */
		private final Thread owner = Thread.currentThread();

		/**
		 * Set once {@code beforeCompletion} registered the {@link Committer}; read by {@code afterCommit}, which a
		 * JTA transaction manager may call on its own thread.
		 */
		private volatile boolean commitDeferred;

		Synchronization(ProducerTransactionHolder holder, Producer producer) {
			super(holder, producer);
			this.holder = holder;
		}

		/**
		 * An inner scope ({@code REQUIRES_NEW}, {@code NOT_SUPPORTED}) sets the Spring transaction aside: the
		 * Kafka transaction then takes none of the thread's work, which Kafka could not give a transaction of
		 * its own on this producer while this one is open (a pool's other members can).
		 */
		@Override
		public void suspend() {
			super.suspend();
			this.holder.suspend();
		}

		@Override
		public void resume() {
			this.holder.resume();
			super.resume();
		}

		@Override
		protected boolean shouldReleaseBeforeCompletion() {
			return false;
		}

		/**
		 * Registers the {@link Committer} on the Spring transaction's thread only: on another (a JTA transaction
		 * manager's, rolling back) the synchronizations active there, if any, are another transaction's.
		 */
		@Override
		public void beforeCompletion() {
			super.beforeCompletion();
			if (Thread.currentThread() == this.owner && TransactionSynchronizationManager.isSynchronizationActive()) {
				TransactionSynchronizationManager.registerSynchronization(new Committer());
				this.commitDeferred = true;
			}
		}

		/** Commits here only when no {@link Committer} was registered to commit later. */
		@Override
		public void afterCommit() {
			if (!this.commitDeferred) {
				super.afterCommit();
			}
		}

		/**
		 * Commits, unless a participating {@code WaterDropTransactionManager} transaction marked the Kafka
		 * transaction rollback-only: then it is aborted, the outer commit notwithstanding.
		 */
		@Override
		protected void processResourceAfterCommit(ProducerTransactionHolder resourceHolder) {
			if (resourceHolder.isRollbackOnly()) {
				resourceHolder.abort();
			}
			else {
				resourceHolder.commit();
			}
		}

		/**
		 * Ends what is still open: after {@link RollbackGuard}, which comes first, only a Kafka transaction the
		 * Spring transaction did not commit (to abort); a commit here serves a caller that runs this alone.
		 */
		@Override
		public void afterCompletion(int status) {
			try {
				if (status == TransactionSynchronization.STATUS_COMMITTED && !this.holder.isRollbackOnly()) {
					this.holder.commit();
				}
				else {
					this.holder.abort();
				}
			}
			finally {
				super.afterCompletion(status);
			}
		}

		/**
		 * Commits the Kafka transaction in {@code afterCommit}, registered when the Spring transaction begins to
		 * complete: of the synchronizations with the default order, it comes last. Its {@code afterCompletion} does
		 * nothing: {@link Synchronization}'s ends what is left open.
		 */
		final class Committer implements TransactionSynchronization {

			@Override
			public void afterCommit() {
				processResourceAfterCommit(Synchronization.this.holder);
			}

		}

	}

}
