package io.waterdrop.autoconfigure;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import io.waterdrop.Producer;

/**
 * A {@link WaterDropRuntimeProducers.Listener} and what it has been told of each runtime producer, so that it
 * hears of a producer's removal once and only after its addition. Creations and the replay of the producers
 * that exist when it subscribes tell of additions under the runtime producers' lock; removals tell without it
 * (polling threads must not wait for a creation's listeners), so a removal may come while the replay runs.
 * <p>
 * States of one producer for this listener (no entry: not told of it):
 * <table>
 * <caption>What this listener was told of a producer</caption>
 * <tr><th>state</th><th>meaning</th><th>a removal</th></tr>
 * <tr><td>{@code PENDING}</td><td>the replay will tell of it</td><td>→ {@code GONE}: the replay skips it</td></tr>
 * <tr><td>{@code ADDING}</td><td>being told of its addition</td><td>→ {@code REMOVED_WHILE_ADDING}: the teller of
 * the addition then tells of the removal</td></tr>
 * <tr><td>{@code ADDED}</td><td>told of its addition</td><td>→ {@code REMOVED}, tells of it, drops the
 * entry</td></tr>
 * </table>
 * <p>
 * Threading: {@link #pending} and {@link #added} under the runtime producers' lock; {@link #removed} from any
 * thread, once per producer from the removal and possibly once more from a replay that saw it gone.
 */
final class RuntimeProducerSubscription {

	private static final Log logger = LogFactory.getLog(RuntimeProducerSubscription.class);

	private static final int PENDING = 0;

	private static final int GONE = 1;

	private static final int ADDING = 2;

	private static final int REMOVED_WHILE_ADDING = 3;

	private static final int ADDED = 4;

	private static final int REMOVED = 5;

	private final WaterDropRuntimeProducers.Listener listener;

	private final Map<Producer, AtomicInteger> told = new ConcurrentHashMap<>();

	RuntimeProducerSubscription(WaterDropRuntimeProducers.Listener listener) {
		this.listener = listener;
	}

	/** Notes a producer the replay will tell of, before this subscription can hear of removals. */
	void pending(Producer producer) {
		this.told.put(producer, new AtomicInteger(PENDING));
	}

	/**
	 * Tells of an addition, unless the producer was removed before the replay came to it.
	 * @param rethrow whether a failure of the listener propagates (the subscriber's replay) or is logged
	 */
	void added(String name, Producer producer, boolean rethrow) {
		AtomicInteger state = this.told.computeIfAbsent(producer, (key) -> new AtomicInteger(PENDING));
		if (!state.compareAndSet(PENDING, ADDING)) { // GONE: removed before the replay came to it
			this.told.remove(producer, state);
			return;
		}
		try {
			this.listener.added(name, producer);
		}
		catch (RuntimeException ex) {
			if (rethrow) {
				throw ex;
			}
			logger.warn("A listener failed on the addition of runtime producer '" + name + "'", ex);
		}
		finally {
			if (!state.compareAndSet(ADDING, ADDED)) {
				this.told.remove(producer, state);
				tellRemoved(name, producer);
			}
		}
	}

	/** Forgets a producer the replay did not come to (it failed on an earlier one). */
	void abandon(Producer producer) {
		AtomicInteger state = this.told.get(producer);
		if (state != null && (state.compareAndSet(PENDING, GONE) || state.get() == GONE)) {
			this.told.remove(producer, state);
		}
	}

	/** Tells of a removal once, after the addition; nothing if this listener was never told of the producer. */
	void removed(String name, Producer producer) {
		AtomicInteger state = this.told.get(producer);
		if (state == null) {
			return;
		}
		while (true) {
			int now = state.get();
			if ((now == PENDING && state.compareAndSet(PENDING, GONE))
					|| (now == ADDING && state.compareAndSet(ADDING, REMOVED_WHILE_ADDING))) {
				return;
			}
			if (now == ADDED && state.compareAndSet(ADDED, REMOVED)) {
				this.told.remove(producer, state);
				tellRemoved(name, producer);
				return;
			}
			if (now == GONE || now == REMOVED_WHILE_ADDING || now == REMOVED) {
				return;
			}
		}
	}

	private void tellRemoved(String name, Producer producer) {
		try {
			this.listener.removed(name, producer);
		}
		catch (RuntimeException ex) {
			logger.warn("A listener failed on the removal of runtime producer '" + name + "'", ex);
		}
	}

}
