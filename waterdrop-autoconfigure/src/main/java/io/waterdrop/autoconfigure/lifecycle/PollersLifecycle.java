package io.waterdrop.autoconfigure.lifecycle;

import java.time.Duration;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.SmartLifecycle;

import io.waterdrop.polling.Poller;

/**
 * Waits on stop until the thread of every {@link Poller} bean has ended, so that no polling thread outlives
 * the context. A Poller starts its thread on its first producer and ends it after its last one, so there is
 * nothing to do on start.
 * <p>
 * Phase {@link #PHASE}: stopped after the producers ({@link ProducersLifecycle#PHASE}), whose closes
 * dispatch every remaining delivery report and unregister them. A Poller that still serves producers then
 * serves ones from outside this context (the global Poller is shared by the whole JVM): it is not waited for.
 */
final class PollersLifecycle implements SmartLifecycle {

	static final int PHASE = DEFAULT_PHASE - 8192;

	private static final Log logger = LogFactory.getLog(PollersLifecycle.class);

	private final ObjectProvider<Poller> pollers;

	private final Duration timeout;

	private volatile boolean running;

	PollersLifecycle(ObjectProvider<Poller> pollers, Duration timeout) {
		this.pollers = pollers;
		this.timeout = timeout;
	}

	@Override
	public void start() {
		this.running = true;
	}

	@Override
	public void stop() {
		this.running = false;
		for (Poller poller : this.pollers.orderedStream().toList()) {
			int registered = poller.registeredProducers();
			if (registered > 0) {
				logger.debug(poller + " still serves " + registered + " producer(s) from elsewhere; not waiting");
				continue;
			}
			try {
				if (!poller.awaitStopped(this.timeout)) {
					logger.warn(poller + " thread still runs after " + this.timeout);
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
