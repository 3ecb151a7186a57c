package io.waterdrop.autoconfigure.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;

import io.waterdrop.instrumentation.micrometer.TransactionalPoolMetrics;
import io.waterdrop.instrumentation.micrometer.WaterDropMetrics;

/**
 * Binds this context's WaterDrop binders ({@link WaterDropMetrics}, {@link TransactionalPoolMetrics}) to the
 * registry of an ancestor context when this context has no registry of its own. Boot binds the
 * {@code MeterBinder} beans of the context that defines the registry only, so a child context (one of
 * {@code SpringApplicationBuilder.child}) using its parent's registry would otherwise have no WaterDrop meters.
 * Runs once every singleton exists, as Boot's own binding does.
 */
final class ParentRegistryBinding implements SmartInitializingSingleton {

	private final ListableBeanFactory beanFactory;

	private final ObjectProvider<MeterRegistry> registry;

	ParentRegistryBinding(ListableBeanFactory beanFactory, ObjectProvider<MeterRegistry> registry) {
		this.beanFactory = beanFactory;
		this.registry = registry;
	}

	@Override
	public void afterSingletonsInstantiated() {
		if (this.beanFactory.getBeanNamesForType(MeterRegistry.class, true, false).length > 0) {
			return; // a registry of this context: Boot binds this context's binders to it
		}
		MeterRegistry parents = this.registry.getIfUnique();
		if (parents == null) {
			return;
		}
		bind(WaterDropMetrics.class, parents);
		bind(TransactionalPoolMetrics.class, parents);
	}

	private void bind(Class<? extends MeterBinder> type, MeterRegistry target) {
		this.beanFactory.getBeansOfType(type, false, true).values().forEach((binder) -> binder.bindTo(target));
	}

}
