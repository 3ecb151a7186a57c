package io.waterdrop.autoconfigure.endpoint;

import java.util.AbstractMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;

/**
 * The producers the endpoint shows, read each time: the context's producer beans, then its runtime
 * producers as they are now (a runtime producer named like a bean is not possible: creating it fails).
 */
final class ProducersView extends AbstractMap<String, Producer> {

	private final Map<String, Producer> beans;

	private final Iterable<WaterDropRuntimeProducers> runtime;

	ProducersView(Map<String, Producer> beans, Iterable<WaterDropRuntimeProducers> runtime) {
		this.beans = beans;
		this.runtime = runtime;
	}

	@Override
	public Set<Entry<String, Producer>> entrySet() {
		Map<String, Producer> all = new LinkedHashMap<>(this.beans);
		this.runtime.forEach((producers) -> producers.asMap().forEach(all::putIfAbsent));
		return all.entrySet();
	}

}
