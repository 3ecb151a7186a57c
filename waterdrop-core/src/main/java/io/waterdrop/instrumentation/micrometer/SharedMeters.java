package io.waterdrop.instrumentation.micrometer;

import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The meters of an object that outlives no application context but may be bound by several binders into
 * one registry: a Poller or a pool of a child context bound into its parent's registry, the global Poller
 * bound by a parent and each child. The meters of a key ({@code poller:critical}) read the object last bound
 * under it: another object of that key (a restarted child's Poller of the same name) takes them over, since
 * the registry would otherwise hand it the meters reading the old one. They are removed once every binder
 * that bound the object they read has {@linkplain #release let go} (its context closed), so that a closed
 * context leaves no meter reading a dead object behind.
 * <p>
 * Threading: any thread; binding and release run under one lock.
 */
final class SharedMeters {

	private static final ReentrantLock LOCK = new ReentrantLock();

	/** Per registry, the meters of each key; guarded by LOCK. */
	private static final Map<MeterRegistry, Map<String, Bound>> BOUND = new IdentityHashMap<>();

	private SharedMeters() {
	}

	/**
	 * Binds the meters {@code register} creates for {@code source} under {@code key}, held by {@code binder}
	 * until it {@linkplain #release releases}; registers nothing if they are bound for that source already.
	 */
	static void bind(MeterRegistry registry, String key, Object source, Object binder,
			Function<MeterRegistry, List<Meter>> register) {
		LOCK.lock();
		try {
			Map<String, Bound> keys = BOUND.computeIfAbsent(registry, (ignored) -> new HashMap<>());
			Bound bound = keys.get(key);
			if (bound == null || bound.source != source) {
				if (bound != null) {
					bound.remove();
				}
				bound = new Bound(registry, source, register.apply(registry));
				keys.put(key, bound);
			}
			bound.binders.add(binder);
		}
		finally {
			LOCK.unlock();
		}
	}

	/** Lets go of what {@code binder} bound: meters no other binder holds are removed. */
	static void release(Object binder) {
		LOCK.lock();
		try {
			for (Iterator<Map<String, Bound>> registries = BOUND.values().iterator(); registries.hasNext();) {
				Map<String, Bound> keys = registries.next();
				for (Iterator<Bound> entries = keys.values().iterator(); entries.hasNext();) {
					Bound bound = entries.next();
					if (bound.binders.remove(binder) && bound.binders.isEmpty()) {
						bound.remove();
						entries.remove();
					}
				}
				if (keys.isEmpty()) {
					registries.remove();
				}
			}
		}
		finally {
			LOCK.unlock();
		}
	}

	/** The meters reading one source, and the binders holding them. */
	private static final class Bound {

		final MeterRegistry registry;

		final Object source;

		final List<Meter> meters;

		final Set<Object> binders = Collections.newSetFromMap(new IdentityHashMap<>());

		Bound(MeterRegistry registry, Object source, List<Meter> meters) {
			this.registry = registry;
			this.source = source;
			this.meters = List.copyOf(meters);
		}

		void remove() {
			this.meters.forEach(this.registry::remove);
		}

	}

}
