package io.waterdrop;

import java.time.Duration;
import java.util.concurrent.locks.ReentrantLock;

import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;

import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.ProducerEvent;

/**
 * A producer's transactions: creating a transactional client, running blocks one after another, commit,
 * abort, and rebuilding the client after a fatal error (fenced and the like), which Kafka's client cannot
 * recover from.
 * <p>
 * Threading: a fair lock admits one transaction at a time, in arrival order; the thread holding it may open
 * nested transactions, which join the open one. The client is replaced only under that lock.
 */
final class Transactions {

	private final Producer producer;

	private final boolean enabled;

	private final ReentrantLock lock = new ReentrantLock(true);

	Transactions(Producer producer) {
		this.producer = producer;
		this.enabled = producer.config().kafka().containsKey(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
	}

	boolean enabled() {
		return this.enabled;
	}

	boolean isOpenOnThisThread() {
		return this.lock.isHeldByCurrentThread();
	}

	/** A new Kafka client, with its transactions initialised when the producer is transactional. */
	org.apache.kafka.clients.producer.Producer<byte[], byte[]> newClient() {
		org.apache.kafka.clients.producer.Producer<byte[], byte[]> client = this.producer.config()
			.clientFactory()
			.apply(this.producer.config().clientProperties());
		if (this.enabled) {
			try {
				client.initTransactions();
			}
			catch (RuntimeException ex) {
				client.close(Duration.ZERO); // do not leak its network thread
				throw ex;
			}
		}
		return client;
	}

	<T> T run(TransactionBlock<T> block) {
		if (!this.enabled) {
			throw new IllegalStateException("Producer '" + this.producer.id()
					+ "' is not transactional; set the Kafka property transactional.id to use transactions");
		}
		if (this.lock.isHeldByCurrentThread()) {
			return block.run(new Transaction(this.producer));
		}
		this.producer.checkMayWait("run a transaction");
		this.lock.lock();
		try {
			begin();
			publish(new ProducerEvent.TransactionStarted(this.producer.id()));
			T result;
			try {
				result = block.run(new Transaction(this.producer));
			}
			catch (AbortTransaction ex) {
				abort(null);
				return null;
			}
			catch (RuntimeException | Error ex) {
				abort(ex);
				throw ex;
			}
			commit();
			return result;
		}
		finally {
			publish(new ProducerEvent.TransactionFinished(this.producer.id()));
			this.lock.unlock();
		}
	}

	/**
	 * Begins on the current client; one that hit a fatal error between transactions (fenced while idle) is
	 * rebuilt first, which is safe since nothing of this transaction was sent yet.
	 */
	private void begin() {
		try {
			this.producer.client().beginTransaction();
		}
		catch (KafkaException ex) {
			if (!isFatal(ex) || !this.producer.config().reloadOnTransactionFatalError()) {
				throw ex;
			}
			reload(ex);
			this.producer.client().beginTransaction();
		}
	}

	private void commit() {
		try {
			this.producer.client().commitTransaction();
		}
		catch (KafkaException ex) {
			publish(new ProducerEvent.ErrorOccurred(this.producer.id(), ErrorType.TRANSACTION_COMMIT, ex, null, null));
			abort(ex);
			throw new TransactionFailedException("Transaction of producer '" + this.producer.id()
					+ "' could not be committed and was rolled back: " + ex, ex);
		}
		publish(new ProducerEvent.TransactionCommitted(this.producer.id()));
	}

	/** Rolls back; after a fatal error that cannot be rolled back, rebuilds the client instead. */
	private void abort(Throwable cause) {
		if (isFatal(cause)) {
			reload(cause);
			publish(new ProducerEvent.TransactionAborted(this.producer.id()));
			return;
		}
		try {
			this.producer.client().abortTransaction();
		}
		catch (KafkaException ex) {
			publish(new ProducerEvent.ErrorOccurred(this.producer.id(), ErrorType.TRANSACTION_ABORT, ex, null, null));
			if (isFatal(ex)) {
				reload(ex);
			}
			else {
				throw ex;
			}
		}
		publish(new ProducerEvent.TransactionAborted(this.producer.id()));
	}

	/**
	 * Replaces a client that hit a fatal error (WaterDrop's reload): the old one is closed at once (its
	 * unfinished messages fail and are reported), the new one initialises its transactions, which fences
	 * any other client with the same {@code transactional.id}.
	 */
	private void reload(Throwable cause) {
		publish(new ProducerEvent.ErrorOccurred(this.producer.id(), ErrorType.PRODUCER_RELOAD, cause, null, null));
		if (!this.producer.config().reloadOnTransactionFatalError()) {
			return;
		}
		this.producer.client().close(Duration.ZERO);
		this.producer.replaceClient(newClient());
		publish(new ProducerEvent.Reloaded(this.producer.id(), cause));
	}

	/** Errors after which Kafka's producer cannot go on (its documented fatal ones), found in the cause chain. */
	private static boolean isFatal(Throwable error) {
		for (Throwable current = error; current != null; current = current.getCause()) {
			if (current instanceof ProducerFencedException || current instanceof OutOfOrderSequenceException
					|| current instanceof AuthorizationException || current instanceof UnsupportedVersionException) {
				return true;
			}
		}
		return false;
	}

	private void publish(ProducerEvent event) {
		this.producer.monitor().publish(event);
	}

}
