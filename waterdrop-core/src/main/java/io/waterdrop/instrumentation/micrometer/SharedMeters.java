package io.waterdrop.instrumentation.micrometer;

import java.util.ArrayList;
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
 * The meters of an object that may be bound by several binders into one registry: a Poller or a pool of a
 * child context bound into its parent's registry, the global Poller bound by a parent and each child. The
 * meters of a key ({@code poller:critical}) read the first object bound under it that a binder still holds;
 * another object of that key (a sibling context's Poller of the same name, a restarted child's) waits and
 * takes them over when the first is let go of. They are removed once no binder holds an object of their key,
 * so that a closed context leaves no meter reading a dead object behind. A binder holds what it bound until
 * it {@linkplain #release releases} (its context closes).
 * <p>
 * Threading: any thread; binding and release run under one lock.
 */
final class SharedMeters {

	private static final ReentrantLock LOCK = new ReentrantLock();

	/** Per registry, per key, the objects bound in the order they came (the first has the meters); under LOCK. */
	private static final Map<MeterRegistry, Map<String, List<Bound>>> BOUND = new IdentityHashMap<>();

	private SharedMeters() {
	}

	/**
	 * Binds {@code source} under {@code key}, held by {@code binder}: the meters {@code register} creates read
	 * it now if no other object of that key is bound, else once the objects bound before it are let go of.
	 */
	static void bind(MeterRegistry registry, String key, Object source, Object binder,
			Function<MeterRegistry, List<Meter>> register) {
		LOCK.lock();
		try {
			List<Bound> bound = BOUND.computeIfAbsent(registry, (ignored) -> new HashMap<>())
				.computeIfAbsent(key, (ignored) -> new ArrayList<>());
			Bound entry = bound.stream().filter((candidate) -> candidate.source == source).findFirst().orElse(null);
			if (entry == null) {
				entry = new Bound(registry, source, register);
				bound.add(entry);
				if (bound.size() == 1) {
					entry.register();
				}
			}
			entry.binders.add(binder);
		}
		finally {
			LOCK.unlock();
		}
	}

	/**
	 * Lets go of what {@code binder} bound: an object no binder holds any more loses its meters, which the next
	 * object of its key takes over, if any.
	 */
	static void release(Object binder) {
		LOCK.lock();
		try {
			for (Iterator<Map<String, List<Bound>>> registries = BOUND.values().iterator(); registries.hasNext();) {
				Map<String, List<Bound>> keys = registries.next();
				for (Iterator<List<Bound>> lists = keys.values().iterator(); lists.hasNext();) {
					List<Bound> bound = lists.next();
					release(bound, binder);
					if (bound.isEmpty()) {
						lists.remove();
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

	private static void release(List<Bound> bound, Object binder) {
		boolean firstLetGo = false;
		for (Iterator<Bound> entries = bound.iterator(); entries.hasNext();) {
			Bound entry = entries.next();
			if (entry.binders.remove(binder) && entry.binders.isEmpty()) {
				firstLetGo |= entry.unregister();
				entries.remove();
			}
		}
		if (firstLetGo && !bound.isEmpty()) {
			bound.get(0).register();
		}
	}

	/** An object bound under a key, the binders holding it, and its meters while it has them. */
	private static final class Bound {

		final MeterRegistry registry;

		final Object source;

		final Function<MeterRegistry, List<Meter>> register;

		final Set<Object> binders = Collections.newSetFromMap(new IdentityHashMap<>());

		List<Meter> meters = List.of();

		Bound(MeterRegistry registry, Object source, Function<MeterRegistry, List<Meter>> register) {
			this.registry = registry;
			this.source = source;
			this.register = register;
		}

		void register() {
			this.meters = List.copyOf(this.register.apply(this.registry));
		}

		/** Removes its meters; whether it had any. */
		boolean unregister() {
			this.meters.forEach(this.registry::remove);
			boolean had = !this.meters.isEmpty();
			this.meters = List.of();
			return had;
		}

	}

}
