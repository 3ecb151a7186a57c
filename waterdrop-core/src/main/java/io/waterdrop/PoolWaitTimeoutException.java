package io.waterdrop;

import java.time.Duration;

/**
 * A {@link TransactionalPool} had no free member within its wait timeout: every member was running a
 * transaction for another caller. Nothing was sent and no transaction began.
 */
public class PoolWaitTimeoutException extends WaterDropException {

	private static final long serialVersionUID = 1L;

	public PoolWaitTimeoutException(String poolName, int size, Duration waited) {
		super("Transactional pool '" + poolName + "' had none of its " + size + " member(s) free within " + waited
				+ "; no transaction began. Keep transaction blocks short, raise the pool size, or raise its wait "
				+ "timeout");
	}

}
