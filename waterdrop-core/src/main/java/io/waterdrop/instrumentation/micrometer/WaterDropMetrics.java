package io.waterdrop.instrumentation.micrometer;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.ToDoubleFunction;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.waterdrop.Producer;
import io.waterdrop.ProducerStats;
import io.waterdrop.ProducerStatus;
import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.Monitor;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.Poller;
import io.waterdrop.polling.PollerStats;
import io.waterdrop.polling.PollingMode;

/**
 * Binds WaterDrop's poll and acknowledgement meters for the given producers and Pollers.
 * <p>
 * Poller meters, tagged {@code poller}:
 * <ul>
 * <li>{@code waterdrop.poller.wakeups} (counter, tag {@code cause} = {@code signal} | {@code timeout}):
 * the Poller took up a producer's signal (a pipe byte that woke its selector, or a signal collected while
 * it was awake), or its selector waited {@code pollTimeout} with nothing to do.</li>
 * <li>{@code waterdrop.poller.drains} (function timer): drain slices served and the time spent in them.</li>
 * <li>{@code waterdrop.poller.drains.ended.early} (counter, tag {@code reason} = {@code max-time} |
 * {@code producer-waiting}): slices that ended with reports still waiting, because they used up the
 * producer's {@code max-time} (steadily rising means the Poller is saturated), or because another producer
 * signalled after {@code min-time} (rising means producers contend for the Poller).</li>
 * <li>{@code waterdrop.poller.producers} (gauge): producers registered.</li>
 * <li>{@code waterdrop.poller.loop.errors} (counter): failures of the polling loop itself.</li>
 * </ul>
 * Producer meters, tagged {@code producer} and {@code poller} (the Poller's name in fd mode,
 * {@code thread} in thread mode):
 * <ul>
 * <li>{@code waterdrop.messages.produced} (counter, tag {@code mode} = {@code sync} | {@code async}).</li>
 * <li>{@code waterdrop.messages.acknowledged} (counter).</li>
 * <li>{@code waterdrop.messages.failed} (counter, tag {@code error} = simple class name of Kafka's exception).</li>
 * <li>{@code waterdrop.messages.purged} (counter): removed undelivered by a close that timed out or was
 * forced, by {@code purge()}, or by the abort of their transaction.</li>
 * <li>{@code waterdrop.messages.inflight} (gauge): accepted, report not yet dispatched.</li>
 * <li>{@code waterdrop.producer.connected} (gauge): 1 while the producer holds a Kafka client, 0 while it is
 * disconnected (idle) or not yet connected; summed over producers, the Kafka clients in use.</li>
 * <li>{@code waterdrop.reports.pending} (gauge): reports received from Kafka, waiting for the polling thread.</li>
 * <li>{@code waterdrop.delivery.latency} (timer): from the produce call to the acknowledgement's dispatch;
 * percentiles and histograms can be published through Micrometer's distribution settings.</li>
 * <li>{@code waterdrop.dispatch} (function timer): reports dispatched and the time their handles,
 * callbacks and listeners took.</li>
 * <li>{@code waterdrop.callbacks.slow} (counter): dispatches longer than the slow-callback threshold.</li>
 * </ul>
 * A producer's meters are removed when it closes; a Poller's when every binder that bound it is
 * {@linkplain #close closed} (then another Poller of the same name bound meanwhile gets them). Counters and
 * the dispatch timer read the totals the polling thread keeps anyway; the latency timer is a latency
 * recorder of the producer's {@link Monitor} (a number per acknowledgement, no event), and only the failure
 * counter listens to events (to {@code error.occurred}), so that no other event is built for them.
 * Threading: {@link #bindTo} from any thread; the meters read thread-safe counters.
 */
public final class WaterDropMetrics implements MeterBinder, AutoCloseable {

	private static final Logger logger = LoggerFactory.getLogger(WaterDropMetrics.class);

	private final List<Producer> producers;

	private final List<Poller> pollers;

	public WaterDropMetrics(Collection<Producer> producers, Collection<Poller> pollers) {
		this.producers = List.copyOf(producers);
		this.pollers = List.copyOf(pollers);
	}

	@Override
	public void bindTo(MeterRegistry registry) {
		for (Poller poller : this.pollers) {
			bindPoller(registry, poller);
		}
		for (Producer producer : this.producers) {
			if (producer.status() != ProducerStatus.CLOSED) {
				ProducerMeters.bind(registry, producer);
			}
		}
	}

	/**
	 * Lets go of the Poller meters this binder bound: those no other binder holds are removed (a child
	 * context's Pollers when it closes; the global Poller's once no context binds it). Producer meters go with
	 * their producers. Spring calls it when the context that defines the binder closes.
	 */
	@Override
	public void close() {
		SharedMeters.release(this);
	}

	private void bindPoller(MeterRegistry registry, Poller poller) {
		SharedMeters.bind(registry, "poller:" + poller.name(), poller, this,
				(target) -> pollerMeters(target, poller));
	}

	private static List<Meter> pollerMeters(MeterRegistry registry, Poller poller) {
		Tags tags = Tags.of("poller", poller.name());
		PollerStats stats = poller.stats();
		List<Meter> meters = new ArrayList<>();
		meters.add(FunctionCounter.builder("waterdrop.poller.wakeups", stats, PollerStats::signalWakeups)
			.tags(tags)
			.tag("cause", "signal")
			.description("Poller cycles that took up a producer's signal (a pipe byte, or a signal while awake)")
			.register(registry));
		meters.add(FunctionCounter.builder("waterdrop.poller.wakeups", stats, PollerStats::timeoutWakeups)
			.tags(tags)
			.tag("cause", "timeout")
			.description("Selector waits that ended by the poll timeout")
			.register(registry));
		meters.add(FunctionTimer
			.builder("waterdrop.poller.drains", stats, PollerStats::drains, PollerStats::drainNanos,
					TimeUnit.NANOSECONDS)
			.tags(tags)
			.description("Drain slices served and the time spent in them")
			.register(registry));
		meters.add(FunctionCounter
			.builder("waterdrop.poller.drains.ended.early", stats, PollerStats::exhaustedDrains)
			.tags(tags)
			.tag("reason", "max-time")
			.description("Drain slices ended with reports still waiting")
			.register(registry));
		meters.add(FunctionCounter
			.builder("waterdrop.poller.drains.ended.early", stats, PollerStats::yieldedDrains)
			.tags(tags)
			.tag("reason", "producer-waiting")
			.description("Drain slices ended with reports still waiting")
			.register(registry));
		meters.add(Gauge.builder("waterdrop.poller.producers", poller, Poller::registeredProducers)
			.tags(tags)
			.description("Producers registered with the Poller")
			.register(registry));
		meters.add(FunctionCounter.builder("waterdrop.poller.loop.errors", stats, PollerStats::loopErrors)
			.tags(tags)
			.description("Failures of the polling loop itself")
			.register(registry));
		return meters;
	}

	/**
	 * The meters of one producer in one registry, removed together when the producer closes. A producer owns
	 * the meters of its name: one bound while another open producer has them waits for them (a warning says
	 * so; taking them over would leave the open one unmetered once the newer closes) and gets them when that
	 * one closes; one bound while another of that name is still closing (a runtime producer removed and
	 * created again) takes them over, since the registry would otherwise hand it the closing producer's meters,
	 * reading that producer, and remove them when it closes; the closing producer then counts its failures no
	 * more (they would land in the new one's counter). Binding and removal run under one lock, so that a
	 * removal never takes meters another producer has just registered.
	 */
	private static final class ProducerMeters {

		private static final Set<String> NAMES = Set.of("waterdrop.messages.produced",
				"waterdrop.messages.acknowledged", "waterdrop.messages.failed", "waterdrop.messages.purged",
				"waterdrop.messages.inflight", "waterdrop.producer.connected", "waterdrop.reports.pending",
				"waterdrop.delivery.latency", "waterdrop.dispatch", "waterdrop.callbacks.slow");

		private static final ReentrantLock OWNERSHIP = new ReentrantLock();

		/** The producer meters that own each producer name's meters, per registry; guarded by OWNERSHIP. */
		private static final Map<MeterRegistry, Map<String, ProducerMeters>> OWNERS = new IdentityHashMap<>();

		private final MeterRegistry registry;

		private final Producer producer;

		private final Tags tags;

		private final CopyOnWriteArrayList<Meter> meters = new CopyOnWriteArrayList<>();

		private final Timer latency;

		private final List<Monitor.Subscription> subscriptions = new CopyOnWriteArrayList<>();

		/** Another producer of this name took the meters over: this one's failures are no longer counted. */
		private volatile boolean superseded;

		/** Open producers of this name bound meanwhile, which get the meters in turn; guarded by OWNERSHIP. */
		private final List<Producer> waiting = new ArrayList<>();

		static void bind(MeterRegistry registry, Producer producer) {
			OWNERSHIP.lock();
			try {
				ProducerMeters owner = OWNERS.getOrDefault(registry, Map.of()).get(producer.id());
				if (owner != null && owner.producer != producer && isOpen(owner.producer)) {
					logger.warn("Producer '{}' gets no meters in {} while another open producer of that name (of "
							+ "another application context sharing the registry?) has them; give producers that share "
							+ "a registry distinct names", producer.id(), registry.getClass().getSimpleName());
					owner.waiting.add(producer);
					// Closed first: let go of it at once, not when the owner closes (its settings hold its context).
					producer.monitor()
						.subscribe(ProducerEvent.Closed.class, (closed) -> stopWaiting(registry, producer));
					if (producer.status() == ProducerStatus.CLOSED) {
						owner.waiting.remove(producer); // closed meanwhile: its Closed event may have gone by
					}
					return;
				}
				for (Meter meter : registry.getMeters()) { // those of a closing producer of this name
					Meter.Id id = meter.getId();
					if (NAMES.contains(id.getName()) && producer.id().equals(id.getTag("producer"))) {
						registry.remove(meter);
					}
				}
				ProducerMeters meters = new ProducerMeters(registry, producer);
				ProducerMeters previous = OWNERS.computeIfAbsent(registry, (key) -> new HashMap<>())
					.put(producer.id(), meters);
				if (previous != null) {
					previous.superseded = true;
					meters.waiting.addAll(previous.waiting);
					previous.waiting.clear();
				}
				meters.bind();
			}
			finally {
				OWNERSHIP.unlock();
			}
		}

		/** Takes a closed producer off the waiting list of whichever producer of its name owns the meters now. */
		private static void stopWaiting(MeterRegistry registry, Producer producer) {
			OWNERSHIP.lock();
			try {
				ProducerMeters owner = OWNERS.getOrDefault(registry, Map.of()).get(producer.id());
				if (owner != null) {
					owner.waiting.remove(producer);
				}
			}
			finally {
				OWNERSHIP.unlock();
			}
		}

		private static boolean isOpen(Producer producer) {
			ProducerStatus status = producer.status();
			return status != ProducerStatus.CLOSING && status != ProducerStatus.CLOSED;
		}

		private ProducerMeters(MeterRegistry registry, Producer producer) {
			this.registry = registry;
			this.producer = producer;
			String poller = (producer.config().pollingMode() == PollingMode.FD) ? producer.config().poller().name()
					: "thread";
			this.tags = Tags.of("producer", producer.id(), "poller", poller);
			this.latency = Timer.builder("waterdrop.delivery.latency")
				.tags(this.tags)
				.description("Time from the produce call to the acknowledgement's dispatch")
				.register(registry);
			this.meters.add(this.latency);
		}

		private void bind() {
			ProducerStats stats = this.producer.stats();
			counter("waterdrop.messages.produced", ProducerStats::producedSync, "Messages accepted for sending",
					"mode", "sync");
			counter("waterdrop.messages.produced", ProducerStats::producedAsync, "Messages accepted for sending",
					"mode", "async");
			counter("waterdrop.messages.acknowledged", ProducerStats::acknowledged,
					"Messages whose acknowledgement was dispatched");
			counter("waterdrop.messages.purged", ProducerStats::purged,
					"Messages removed undelivered by a close, purge() or their transaction's abort");
			counter("waterdrop.callbacks.slow", ProducerStats::slowCallbacks,
					"Dispatches longer than the slow-callback threshold");
			this.meters.add(FunctionTimer
				.builder("waterdrop.dispatch", stats, ProducerStats::dispatched, ProducerStats::dispatchNanos,
						TimeUnit.NANOSECONDS)
				.tags(this.tags)
				.description("Reports dispatched and the time their handles, callbacks and listeners took")
				.register(this.registry));
			this.meters.add(Gauge.builder("waterdrop.messages.inflight", this.producer, Producer::inFlight)
				.tags(this.tags)
				.description("Messages accepted whose report has not been dispatched")
				.register(this.registry));
			this.meters.add(Gauge
				.builder("waterdrop.producer.connected", this.producer,
						(p) -> (p.status() == ProducerStatus.CONNECTED) ? 1 : 0)
				.tags(this.tags)
				.description("Whether the producer holds a Kafka client (1) or not (0)")
				.register(this.registry));
			this.meters.add(Gauge.builder("waterdrop.reports.pending", this.producer, Producer::queueSize)
				.tags(this.tags)
				.description("Delivery reports waiting for the polling thread")
				.register(this.registry));
			Monitor monitor = this.producer.monitor();
			this.subscriptions.add(monitor.subscribeLatency((nanos) -> this.latency.record(nanos, TimeUnit.NANOSECONDS)));
			this.subscriptions.add(monitor.subscribe(ProducerEvent.ErrorOccurred.class, this::onError));
			this.subscriptions.add(monitor.subscribe(ProducerEvent.Closed.class, (closed) -> remove()));
			if (this.producer.status() == ProducerStatus.CLOSED) {
				remove(); // closed while binding: its Closed event may have gone by
			}
		}

		private void counter(String name, ToDoubleFunction<ProducerStats> value, String description,
				String... extraTags) {
			this.meters.add(FunctionCounter.builder(name, this.producer.stats(), value)
				.tags(this.tags)
				.tags(extraTags)
				.description(description)
				.register(this.registry));
		}

		private void onError(ProducerEvent.ErrorOccurred error) {
			if (error.type() != ErrorType.DELIVERY || this.superseded) {
				return;
			}
			Throwable cause = (error.error().getCause() != null) ? error.error().getCause() : error.error();
			Counter failed = this.registry.counter("waterdrop.messages.failed",
					this.tags.and("error", cause.getClass().getSimpleName()));
			this.meters.addIfAbsent(failed);
			failed.increment();
		}

		/** Removes this producer's meters, those another producer of its name took over excepted. */
		private void remove() {
			for (Monitor.Subscription subscription : this.subscriptions) {
				subscription.close();
			}
			this.subscriptions.clear();
			OWNERSHIP.lock();
			try {
				// Superseded: its meters went when the successor bound; those registered now are the successor's
				// (a failure counted in the instant before the takeover may have listed its counter here).
				for (Meter meter : this.superseded ? List.<Meter>of() : new ArrayList<>(this.meters)) {
					Meter.Id id = meter.getId();
					if (this.registry.find(id.getName()).tags(id.getTags()).meter() == meter) {
						this.registry.remove(meter);
					}
				}
				Map<String, ProducerMeters> owners = OWNERS.get(this.registry);
				if (owners != null && owners.remove(this.producer.id(), this)) {
					if (owners.isEmpty()) {
						OWNERS.remove(this.registry);
					}
					handOver();
				}
			}
			finally {
				OWNERSHIP.unlock();
			}
			this.meters.clear();
		}

		/** Binds the first open producer that waited for the meters; those after it wait for it. Under OWNERSHIP. */
		private void handOver() {
			for (int i = 0; i < this.waiting.size(); i++) {
				Producer next = this.waiting.get(i);
				if (isOpen(next)) {
					bind(this.registry, next);
					ProducerMeters successor = OWNERS.getOrDefault(this.registry, Map.of()).get(next.id());
					if (successor != null) {
						successor.waiting.addAll(this.waiting.subList(i + 1, this.waiting.size()));
					}
					break;
				}
			}
			this.waiting.clear();
		}

	}

}
