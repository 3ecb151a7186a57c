package io.waterdrop.autoconfigure.lifecycle;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.SmartLifecycle;

import io.waterdrop.Producer;
import io.waterdrop.ProducerStatus;
import io.waterdrop.autoconfigure.ProducerBeans;
import io.waterdrop.autoconfigure.WaterDropEventListener;
import io.waterdrop.instrumentation.ErrorLogger;
import io.waterdrop.instrumentation.ProducerEvent;

/**
 * Connects every {@link Producer} bean of its context on start and drains them when the context closes.
 * It manages the producer beans the context itself defines (never an ancestor context's), whatever the
 * {@link io.waterdrop.autoconfigure.WaterDropProducers} bean holds.
 * <p>
 * Phase {@link #PHASE}: started before and stopped after what may produce: the web server (Boot's graceful
 * shutdown runs in {@code DEFAULT_PHASE - 1024}, the web server in {@code DEFAULT_PHASE - 2048}), so requests
 * being drained can still produce; listener containers, at {@code DEFAULT_PHASE - 100} or at phase 0 (a share
 * consumer's container factory sets 0, and spring-kafka's registry then starts and stops every container
 * there); plain {@code Lifecycle} beans (phase 0). spring-kafka's producer factories stop later still
 * ({@code Integer.MIN_VALUE}).
 * <p>
 * <b>Start</b>: subscribes the {@link WaterDropEventListener} beans to each producer (once; here rather than
 * while the producer bean is created, so that a listener may itself inject a producer), and with
 * {@code waterdrop.log-errors} the {@link ErrorLogger}, then connects it.
 * If a producer fails to connect at start-up (a transactional one whose {@code initTransactions} times out,
 * say), every producer of the context is closed at once with its {@code close-timeout}, and start-up fails
 * with a {@link ProducerConnectException}. On a later start (after a stop, or resuming a paused test
 * context) the context runs on whatever happens and a closed producer could never connect again: one that
 * fails to connect stays disconnected, with a warning, and connects on its next message.
 * <p>
 * <b>Stop</b>: when the context closes, the producers are drained ({@link ProducerDrains}): all at once, each
 * waits up to its {@code close-timeout} until every message handed to Kafka has its outcome, and one whose
 * messages do not is closed, purging them; completion is reported through the lifecycle callback. The
 * others stay open until the context destroys them ({@link ProducerCloser}), after the beans that depend on
 * them, whose {@code @PreDestroy} may still produce; the Pollers are waited for after that
 * ({@link PollersLifecycle}).
 * A closed WaterDrop producer cannot be connected again, and application beans hold
 * the producer beans themselves, so a stop that is not a close ({@code context.stop()}, {@code restart()},
 * a checkpoint, or the pause of an inactive cached test context) {@linkplain Producer#disconnect()
 * disconnects} each idle producer instead: its Kafka client goes (threads, connections, and a transactional
 * producer's hold on its {@code transactional.id}, which another context using the same id would otherwise
 * fence for good, as spring-kafka's producer factory closes its producers on stop), and the next start, or
 * message, connects again. A producer that is not idle (messages in flight or buffered, a transaction open)
 * stays connected.
 */
final class ProducersLifecycle implements SmartLifecycle {

	static final int PHASE = Integer.MIN_VALUE + 4096;

	static final String BEAN_NAME = "waterdropProducersLifecycle";

	private static final Log logger = LogFactory.getLog(ProducersLifecycle.class);

	/** Set by the bean registrar on a pool member's bean definition: its pool's name. */
	static final String POOL_ATTRIBUTE = "waterdrop.pool";

	/** Set by the bean registrar on a producer bean it defines: the path of its settings. */
	static final String SETTINGS_ATTRIBUTE = "waterdrop.settings";

	/** The starter's default producer ({@code waterdrop.kafka.*} and the top-level settings). */
	private static final String DEFAULT_PRODUCER = "waterdropProducer";

	private final ConfigurableApplicationContext context;

	private final ObjectProvider<WaterDropEventListener> listeners;

	/** {@code waterdrop.log-errors}: subscribes {@link ErrorLogger} to each producer. */
	private final boolean logErrors;

	private final CloseTimeouts closeTimeouts;

	private final Duration shutdownPhaseTimeout;

	private final Set<String> subscribed = ConcurrentHashMap.newKeySet();

	private volatile boolean budgetChecked;

	/** The producer beans at the last start, for a drain while beans are destroyed (no lookup is allowed then). */
	private volatile Map<String, Producer> started = Map.of();

	/** Whether the context's close has drained the producers, in the stop phase or before their destruction. */
	private final AtomicBoolean drainedOnClose = new AtomicBoolean();

	private volatile boolean running;

	/** Whether a start has connected every producer once: later starts restart a running context. */
	private volatile boolean startedBefore;

	ProducersLifecycle(ConfigurableApplicationContext context, ObjectProvider<WaterDropEventListener> listeners,
			boolean logErrors, CloseTimeouts closeTimeouts, Duration shutdownPhaseTimeout) {
		this.context = context;
		this.listeners = listeners;
		this.logErrors = logErrors;
		this.closeTimeouts = closeTimeouts;
		this.shutdownPhaseTimeout = shutdownPhaseTimeout;
	}

	/** A spy would silently send through the producer it copies, which nothing then closes: say so at once. */
	private void refuseSpies() {
		this.context.getBeanFactory().getBeansOfType(Producer.class, false, true).forEach((name, producer) -> {
			if (Producer.isCopy(producer)) {
				throw new IllegalStateException("Producer bean '" + name + "' is a Mockito spy (@MockitoSpyBean), "
						+ "which WaterDrop does not support: a producer hands itself to its parts when it is made, "
						+ "and a spy is a copy they do not know. Mock it with @MockitoBean, or assert what it "
						+ "produced with @AutoConfigureWaterDropInMemory and the InMemoryKafka bean.");
			}
		});
	}

	/** The managed producer beans of this context (not of its ancestors), in definition order. */
	Map<String, Producer> producers() {
		return ProducerBeans.of(this.context.getBeanFactory(), true);
	}

	@Override
	public void start() {
		refuseSpies();
		Map<String, Producer> producers = producers();
		checkShutdownBudget(producers);
		List<String> connected = new ArrayList<>();
		for (Map.Entry<String, Producer> entry : producers.entrySet()) {
			String name = entry.getKey();
			Producer producer = entry.getValue();
			subscribeListeners(name, producer);
			try {
				producer.connect();
			}
			catch (RuntimeException ex) {
				if (this.startedBefore) {
					logger.warn("WaterDrop producer '" + name + "' could not connect again on this start; it stays "
							+ "disconnected and connects on its next message", ex);
					continue;
				}
				closeAll(producers).join();
				throw new ProducerConnectException(name, settingsOf(name), producer, connected, ex);
			}
			connected.add(name);
		}
		this.started = producers;
		this.startedBefore = true;
		this.running = true;
	}

	private void subscribeListeners(String name, Producer producer) {
		if (this.subscribed.add(name)) {
			// Unique beans only; ancestors' listeners apply too, as with any injection of listener beans.
			String pool = poolOf(name);
			this.listeners.orderedStream()
				.filter((listener) -> listener.appliesTo(name) || (pool != null && listener.appliesTo(pool)))
				.forEach((listener) -> producer.monitor().subscribe(listener));
			if (this.logErrors) {
				producer.monitor().subscribe(ProducerEvent.ErrorOccurred.class, new ErrorLogger());
			}
		}
	}

	/** The transactional pool a producer bean is a member of ({@code waterdrop.producers.<pool>.pool-size}). */
	/**
	 * Where a producer bean's own settings are: its entry's path, {@code waterdrop} for the default producer,
	 * {@code null} for a producer the application built itself.
	 */
	private @Nullable String settingsOf(String name) {
		if (!this.context.getBeanFactory().containsBeanDefinition(name)) {
			return null;
		}
		BeanDefinition definition = this.context.getBeanFactory().getBeanDefinition(name);
		if (definition.getAttribute(SETTINGS_ATTRIBUTE) instanceof String path) {
			return path;
		}
		// The starter's own @Bean method, not an application's of that name.
		return (name.equals(DEFAULT_PRODUCER) && DEFAULT_PRODUCER.equals(definition.getFactoryMethodName())
				&& definition.getFactoryBeanName() != null
				&& definition.getFactoryBeanName().startsWith("io.waterdrop.autoconfigure.")) ? "waterdrop" : null;
	}

	private @Nullable String poolOf(String name) {
		if (!this.context.getBeanFactory().containsBeanDefinition(name)) {
			return null;
		}
		Object pool = this.context.getBeanFactory().getBeanDefinition(name).getAttribute(POOL_ATTRIBUTE);
		return (pool instanceof String poolName) ? poolName : null;
	}

	/**
	 * Warns once when a producer's close may outlast the shutdown phase Spring waits for: a producer bean's,
	 * or a template's, which its runtime producers drain with.
	 */
	private void checkShutdownBudget(Map<String, Producer> producers) {
		if (this.budgetChecked) {
			return;
		}
		this.budgetChecked = true;
		Map<String, Duration> tooLong = new LinkedHashMap<>();
		producers.keySet().forEach((name) -> {
			Duration closeTimeout = this.closeTimeouts.of(name);
			if (closeTimeout.compareTo(this.shutdownPhaseTimeout) >= 0) {
				tooLong.put(this.closeTimeouts.propertyOf(name), closeTimeout);
			}
		});
		this.closeTimeouts.ofTemplates().forEach((property, closeTimeout) -> {
			if (closeTimeout.compareTo(this.shutdownPhaseTimeout) >= 0) {
				tooLong.put(property, closeTimeout);
			}
		});
		if (!tooLong.isEmpty()) {
			logger.warn("WaterDrop close timeouts " + tooLong + " are not below "
					+ "spring.lifecycle.timeout-per-shutdown-phase (" + this.shutdownPhaseTimeout + "): on shutdown "
					+ "Spring stops waiting for those producers before they have drained and goes on with the next "
					+ "phase; they finish when the context destroys its beans. Set them below the phase "
					+ "timeout (waterdrop.close-timeout defaults to 20s, the phase timeout to 30s).");
		}
	}

	@Override
	public void stop() {
		stop(() -> {
		});
	}

	@Override
	public void stop(Runnable callback) {
		this.running = false;
		if (!this.context.isClosed()) {
			// context.stop(), restart(), a checkpoint or a pause: a closed producer could never connect again.
			producers().forEach(ProducersLifecycle::disconnectIfIdle);
			callback.run();
			return;
		}
		this.drainedOnClose.set(true);
		ProducerDrains.drainAll(producers(), this.closeTimeouts::of).whenComplete((result, ex) -> callback.run());
	}

	/**
	 * Called before a producer bean is destroyed. A close without a stop phase for this bean (the context was
	 * stopped before, or it is a paused test context evicted from the cache) has not drained the producers:
	 * they drain now, all at once, so that their closes, one after another, have little left to wait for. A
	 * bean destroyed while the context is not closing drains nothing.
	 */
	void drainBeforeDestruction() {
		if (this.context.isClosed() && this.drainedOnClose.compareAndSet(false, true)) {
			ProducerDrains.drainAll(this.started, this.closeTimeouts::of).join();
		}
	}

	/** On a stop that is not a close: an idle connected producer lets go of its client; a busy one stays. */
	static void disconnectIfIdle(String name, Producer producer) {
		if (producer.status() != ProducerStatus.CONNECTED) {
			return;
		}
		try {
			producer.disconnect();
		}
		catch (IllegalStateException ex) {
			logger.debug("Context stopped but not closed: WaterDrop producer '" + name + "' stays connected ("
					+ ex.getMessage() + ")");
		}
	}

	/**
	 * Closes every producer at once, each with its close timeout (a start-up failure); completes when all are
	 * closed. Producers closing already are waited for, closed ones are skipped.
	 */
	private CompletableFuture<Void> closeAll(Map<String, Producer> producers) {
		List<CompletableFuture<Void>> closes = new ArrayList<>();
		producers.forEach((name, producer) -> {
			if (producer.status() != ProducerStatus.CLOSED) {
				closes.add(producer.closeAsync(this.closeTimeouts.of(name)).handle((result, ex) -> {
					if (ex != null) {
						logger.warn("Closing WaterDrop producer '" + name + "' failed", ex);
					}
					return null;
				}));
			}
		});
		return CompletableFuture.allOf(closes.toArray(CompletableFuture[]::new));
	}

	@Override
	public boolean isRunning() {
		return this.running;
	}

	@Override
	public int getPhase() {
		return PHASE;
	}

}
