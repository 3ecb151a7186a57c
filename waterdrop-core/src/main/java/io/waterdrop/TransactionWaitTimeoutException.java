package io.waterdrop;

import java.time.Duration;

/**
 * A transactional producer's turn did not come within its {@code max-wait-timeout}
 * ({@link ProducerConfig#maxWaitTimeout()}): another thread's
 * transaction on the producer stayed open all that time (one runs at a time per {@code transactional.id}).
 * Nothing was sent and no transaction began. Thrown rather than waiting on: two transactions that each hold
 * what the other waits for (a database row lock, say) would otherwise wait for ever, unseen by either.
 */
public class TransactionWaitTimeoutException extends WaterDropException {

	private static final long serialVersionUID = 1L;

	public TransactionWaitTimeoutException(String producerId, Duration waited) {
		super("The transaction of producer '" + producerId + "' open on another thread did not end within " + waited
				+ " (max-wait-timeout); no transaction began. Keep transactions that produce on one producer short, "
				+ "produce late in them, or give concurrent ones a transactional pool");
	}

}
