package io.waterdrop.instrumentation.micrometer;

import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;

import io.waterdrop.TransactionalPool;
import io.waterdrop.TransactionalPoolStats;

/**
 * Binds the meters of {@link TransactionalPool}s, tagged {@code pool} (the pool's name):
 * <ul>
 * <li>{@code waterdrop.transactions.pool.wait} (function timer): borrows of a member (those that timed out
 * or were interrupted too) and the time callers waited for a free one; a mean wait that grows means the
 * pool is too small for the transactions' length and rate.</li>
 * <li>{@code waterdrop.transactions.pool.timeouts} (counter): borrows that found no free member within the
 * wait timeout ({@code PoolWaitTimeoutException}).</li>
 * <li>{@code waterdrop.transactions.pool.busy} (gauge): members running a transaction now.</li>
 * <li>{@code waterdrop.transactions.pool.size} (gauge): members.</li>
 * </ul>
 * Each member is a producer with meters of its own ({@link WaterDropMetrics}), tagged with its id. The meters
 * read the pool's counters; nothing is recorded per transaction.
 */
public final class TransactionalPoolMetrics implements MeterBinder, AutoCloseable {

	private final List<TransactionalPool> pools;

	public TransactionalPoolMetrics(Collection<TransactionalPool> pools) {
		this.pools = List.copyOf(pools);
	}

	@Override
	public void bindTo(MeterRegistry registry) {
		for (TransactionalPool pool : this.pools) {
			SharedMeters.bind(registry, "pool:" + pool.name(), pool, this, (target) -> poolMeters(target, pool));
		}
	}

	/**
	 * Lets go of the meters this binder bound: those no other binder holds are removed (a context's pools
	 * when it closes, so that a pool of the same name in a later context is not read through meters of a
	 * closed one). Spring calls it when the context that defines the binder closes.
	 */
	@Override
	public void close() {
		SharedMeters.release(this);
	}

	private static List<Meter> poolMeters(MeterRegistry registry, TransactionalPool pool) {
		Tags tags = Tags.of("pool", pool.name());
		TransactionalPoolStats stats = pool.stats();
		return List.of(
				FunctionTimer
					.builder("waterdrop.transactions.pool.wait", stats, TransactionalPoolStats::waits,
							TransactionalPoolStats::waitNanos, TimeUnit.NANOSECONDS)
					.tags(tags)
					.description("Borrows of a pool member and the time spent waiting for a free one")
					.register(registry),
				FunctionCounter
					.builder("waterdrop.transactions.pool.timeouts", stats, TransactionalPoolStats::timeouts)
					.tags(tags)
					.description("Borrows that found no free member within the wait timeout")
					.register(registry),
				Gauge.builder("waterdrop.transactions.pool.busy", pool, (p) -> p.size() - p.available())
					.tags(tags)
					.description("Pool members running a transaction")
					.register(registry),
				Gauge.builder("waterdrop.transactions.pool.size", pool, TransactionalPool::size)
					.tags(tags)
					.description("Pool members")
					.register(registry));
	}

}
