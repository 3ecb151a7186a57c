package io.waterdrop.autoconfigure.lifecycle;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.SmartLifecycle;

import io.waterdrop.Producer;
import io.waterdrop.ProducerStatus;
import io.waterdrop.polling.Poller;

/**
 * Waits, when the context closes, until the thread of every {@link Poller} bean of the context has ended,
 * so that no polling thread outlives it. A Poller starts its thread on its first producer and ends it after
 * its last one, so there is nothing to do on start, nor on a stop that is not a close (producers only
 * disconnect then and stay registered, see {@link ProducersLifecycle}).
 * <p>
 * Phase {@link #PHASE}: stopped after the producers ({@link ProducersLifecycle#PHASE}), whose closes
 * dispatch every remaining delivery report and leave their Poller. A Poller that still serves producers is
 * not waited for: producers of another context (the global Poller is shared by the whole JVM), or this
 * context's own whose close outlasted Spring's shutdown phase; these finish closing when the context
 * destroys its beans, and a warning says so.
 */
final class PollersLifecycle implements SmartLifecycle {

	static final int PHASE = DEFAULT_PHASE - 8192;

	/** A Poller's thread ends as soon as it has no producer left; this only bounds a wait that should not be. */
	static final Duration THREAD_END_TIMEOUT = Duration.ofSeconds(10);

	private static final Log logger = LogFactory.getLog(PollersLifecycle.class);

	private final ConfigurableApplicationContext context;

	private volatile boolean running;

	PollersLifecycle(ConfigurableApplicationContext context) {
		this.context = context;
	}

	@Override
	public void start() {
		this.running = true;
	}

	@Override
	public void stop() {
		this.running = false;
		if (!this.context.isClosed()) {
			return;
		}
		Set<String> stillClosing = this.context.getBeanFactory()
			.getBeansOfType(Producer.class, false, false)
			.values()
			.stream()
			.filter((producer) -> producer.status() != ProducerStatus.CLOSED)
			.map(Producer::id)
			.collect(Collectors.toCollection(TreeSet::new));
		Map<String, Poller> pollers = this.context.getBeanFactory().getBeansOfType(Poller.class, false, false);
		for (Poller poller : pollers.values()) {
			Set<String> served = new TreeSet<>(poller.producerIds());
			served.retainAll(stillClosing);
			if (!served.isEmpty()) {
				logger.warn("Poller '" + poller.name() + "' still serves producer(s) " + served + " of this context, "
						+ "whose close outlasted the shutdown phase (spring.lifecycle.timeout-per-shutdown-phase); they "
						+ "finish closing, up to their close-timeout, when the context destroys its beans");
				continue;
			}
			if (poller.registeredProducers() > 0) {
				logger.debug("Poller '" + poller.name() + "' still serves " + poller.registeredProducers()
						+ " producer(s) of another context; not waiting for its thread");
				continue;
			}
			try {
				if (!poller.awaitStopped(THREAD_END_TIMEOUT)) {
					logger.warn("The thread of Poller '" + poller.name() + "' serves no producer but still runs after "
							+ THREAD_END_TIMEOUT.toSeconds() + "s");
				}
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				return;
			}
		}
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
