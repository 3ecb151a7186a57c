package io.waterdrop.autoconfigure;

import java.util.Map;

import org.springframework.boot.autoconfigure.condition.ConditionMessage;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

import io.waterdrop.autoconfigure.WaterDropProperties.ProducerProperties;

/**
 * Matches when {@code waterdrop.producers} has no entries, so that the default producer is defined.
 */
class NoProducerEntriesCondition extends SpringBootCondition {

	@Override
	public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
		Map<String, ProducerProperties> producers = Binder.get(context.getEnvironment())
			.bind("waterdrop.producers", Bindable.mapOf(String.class, ProducerProperties.class))
			.orElse(Map.of());
		ConditionMessage.Builder message = ConditionMessage.forCondition("WaterDrop producer entries");
		if (producers.isEmpty()) {
			return ConditionOutcome.match(message.didNotFind("entries under waterdrop.producers").atAll());
		}
		return ConditionOutcome.noMatch(message.found("entries under waterdrop.producers").items(producers.keySet()));
	}

}
