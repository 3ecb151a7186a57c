package io.waterdrop.autoconfigure.lifecycle;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanPostProcessor;

import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.WaterDropEventListener;

/**
 * Subscribes every {@link WaterDropEventListener} bean, in order, to the monitor of each {@link Producer}
 * bean it applies to, as the producer bean is initialized: before it is connected, so no event is missed.
 */
final class EventListenerSubscriber implements BeanPostProcessor {

	private final ObjectProvider<WaterDropEventListener> listeners;

	EventListenerSubscriber(ObjectProvider<WaterDropEventListener> listeners) {
		this.listeners = listeners;
	}

	@Override
	public Object postProcessAfterInitialization(Object bean, String beanName) {
		if (bean instanceof Producer producer) {
			this.listeners.orderedStream()
				.filter((listener) -> listener.appliesTo(beanName))
				.forEach((listener) -> producer.monitor().subscribe(listener));
		}
		return bean;
	}

}
