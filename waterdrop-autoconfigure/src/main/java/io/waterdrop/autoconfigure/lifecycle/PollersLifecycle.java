package io.waterdrop.autoconfigure.lifecycle;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;

import io.waterdrop.Producer;
import io.waterdrop.ProducerStatus;
import io.waterdrop.autoconfigure.ProducerBeans;
import io.waterdrop.polling.Poller;

/**
 * The end of the Pollers' lifecycle: when the context destroys its beans, waits until the thread of every
 * {@link Poller} bean of the context has ended, so that no polling thread outlives it. A Poller starts its
 * thread on its first producer and ends it after its last one, so there is nothing to do before.
 * <p>
 * Destroyed after the context's producers: it is created with the post-processors (the
 * {@link ProducerCloser} depends on it), before any application bean or producer, and the context destroys
 * its beans in the reverse order; so the producers' closes, which dispatch every remaining delivery report
 * and leave their Poller, come first, each after the beans that use it. A Poller that still serves
 * producers is not waited for: producers of another context (the global Poller is shared by the whole JVM),
 * or this context's own that have not closed, which a warning names.
 */
final class PollersLifecycle implements SmartInitializingSingleton, DisposableBean {

	static final String BEAN_NAME = "waterdropPollersLifecycle";

	/** A Poller's thread ends as soon as it has no producer left; this only bounds a wait that should not be. */
	static final Duration THREAD_END_TIMEOUT = Duration.ofSeconds(10);

	private static final Log logger = LogFactory.getLog(PollersLifecycle.class);

	private final ConfigurableListableBeanFactory beanFactory;

	/** The context's Pollers and producer beans, read once all singletons exist (not while they are destroyed). */
	private Collection<Poller> pollers = List.of();

	private Collection<Producer> producers = List.of();

	PollersLifecycle(ConfigurableListableBeanFactory beanFactory) {
		this.beanFactory = beanFactory;
	}

	@Override
	public void afterSingletonsInstantiated() {
		this.pollers = List.copyOf(this.beanFactory.getBeansOfType(Poller.class, false, false).values());
		this.producers = List.copyOf(ProducerBeans.of(this.beanFactory, false).values());
	}

	@Override
	public void destroy() {
		Set<String> open = this.producers.stream()
			.filter((producer) -> producer.status() != ProducerStatus.CLOSED)
			.map(Producer::id)
			.collect(Collectors.toCollection(TreeSet::new));
		for (Poller poller : this.pollers) {
			Set<String> served = new TreeSet<>(poller.producerIds());
			served.retainAll(open);
			if (!served.isEmpty()) {
				logger.warn("Poller '" + poller.name() + "' still serves producer(s) " + served + " of this context, "
						+ "which have not closed; not waiting for its thread");
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

}
