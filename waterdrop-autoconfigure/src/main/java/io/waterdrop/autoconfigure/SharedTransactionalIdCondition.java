package io.waterdrop.autoconfigure;

import java.util.List;

import org.jspecify.annotations.Nullable;
import org.springframework.boot.autoconfigure.condition.ConditionMessage;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Matches when a {@code transactional.id} is set in a layer of Kafka settings every producer shares:
 * {@code waterdrop.kafka}, {@code spring.kafka.producer.properties} or {@code spring.kafka.properties}. Read
 * through the {@link Binder}, as the producers read them, so that every form of the key counts (a YAML
 * {@code "[transactional.id]"} or a property {@code waterdrop.kafka[transactional.id]} too).
 */
class SharedTransactionalIdCondition extends SpringBootCondition {

	private static final String TRANSACTIONAL_ID =
			org.apache.kafka.clients.producer.ProducerConfig.TRANSACTIONAL_ID_CONFIG;

	private static final List<String> SHARED_LAYERS = List.of("waterdrop.kafka", "spring.kafka.producer.properties",
			"spring.kafka.properties");

	@Override
	public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
		ConditionMessage.Builder message = ConditionMessage.forCondition("shared transactional.id");
		String layer = layerWithTransactionalId(Binder.get(context.getEnvironment()));
		if (layer != null) {
			return ConditionOutcome.match(message.found("transactional.id in").items(layer));
		}
		return ConditionOutcome.noMatch(message.didNotFind("transactional.id in").items(SHARED_LAYERS));
	}

	/** The first shared layer that sets {@code transactional.id}, or {@code null}. */
	static @Nullable String layerWithTransactionalId(Binder binder) {
		for (String layer : SHARED_LAYERS) {
			boolean set = binder.bind(layer, Bindable.mapOf(String.class, String.class))
				.map((kafka) -> kafka.containsKey(TRANSACTIONAL_ID))
				.orElse(false);
			if (set) {
				return layer;
			}
		}
		return null;
	}

}
