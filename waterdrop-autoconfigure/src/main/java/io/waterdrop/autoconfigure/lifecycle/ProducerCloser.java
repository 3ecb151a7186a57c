package io.waterdrop.autoconfigure.lifecycle;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.DestructionAwareBeanPostProcessor;

import io.waterdrop.Producer;
import io.waterdrop.ProducerStatus;
import io.waterdrop.autoconfigure.ProducerBeans;
import io.waterdrop.autoconfigure.WaterDropProperties;

/**
 * Closes every {@link Producer} bean of the context with its {@code close-timeout} when the bean is
 * destroyed (after the beans that depend on it), before its own {@code close()} (which would wait
 * {@code max-wait-timeout}) runs and finds it closed. On an ordinary shutdown the {@link ProducersLifecycle}
 * has drained them already, so only what a {@code @PreDestroy} produced since is waited for; a close that had
 * no stop phase for them drains them all at once before the first one closes. This also covers producers that
 * connected (by a first message) while the context failed before its lifecycle bean existed.
 */
final class ProducerCloser implements DestructionAwareBeanPostProcessor {

	private static final Log logger = LogFactory.getLog(ProducerCloser.class);

	private final ObjectProvider<WaterDropProperties> properties;

	/** Set once the context's lifecycle bean exists; looking it up while beans are destroyed is not allowed. */
	private volatile ProducersLifecycle lifecycle;

	ProducerCloser(ObjectProvider<WaterDropProperties> properties) {
		this.properties = properties;
	}

	void drainWith(ProducersLifecycle lifecycle) {
		this.lifecycle = lifecycle;
	}

	@Override
	public boolean requiresDestruction(Object bean) {
		return bean instanceof Producer producer && ProducerBeans.isManaged(producer);
	}

	@Override
	public void postProcessBeforeDestruction(Object bean, String beanName) {
		if (bean instanceof Producer producer && producer.status() != ProducerStatus.CLOSED) {
			ProducersLifecycle current = this.lifecycle;
			if (current != null) {
				try {
					current.drainBeforeDestruction();
				}
				catch (RuntimeException | Error ex) { // a drain thread that cannot start: this close goes on
					logger.warn("Draining the WaterDrop producers before closing '" + beanName + "' failed", ex);
				}
			}
			WaterDropProperties properties = this.properties.getIfAvailable(WaterDropProperties::new);
			try {
				producer.close(new CloseTimeouts(properties).of(beanName));
			}
			catch (RuntimeException ex) {
				logger.warn("Closing WaterDrop producer '" + beanName + "' failed", ex);
			}
		}
	}

}
