package io.waterdrop.autoconfigure;

import java.util.Collection;
import java.util.Map;
import java.util.stream.Stream;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.BeanFactoryUtils;
import org.springframework.beans.factory.HierarchicalBeanFactory;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;

import io.waterdrop.Producer;

/**
 * Warns when Boot's {@code spring.kafka.producer.transaction-id-prefix} is set but no WaterDrop producer is
 * transactional: a migration from {@code KafkaTemplate} that kept the prefix would expect WaterDrop's sends in
 * a {@code @Transactional} method to roll back with it, and they would not (the prefix is Boot's factory's
 * alone). Silent once any producer, pool or template has a {@code transactional.id}: then the choice is made;
 * and in a child context whose parent checked already.
 */
final class TransactionIdPrefixCheck {

	private static final Log logger = LogFactory.getLog(TransactionIdPrefixCheck.class);

	private TransactionIdPrefixCheck() {
	}

	static void warnIfOnlyBootsFactoryIsTransactional(ListableBeanFactory beanFactory, @Nullable KafkaProperties boot,
			WaterDropProperties properties, Collection<Producer> producers) {
		if (boot == null || boot.getProducer().getTransactionIdPrefix() == null || checkedByAParent(beanFactory)) {
			return;
		}
		Stream<Map<String, String>> settings = Stream.concat(Stream.of(properties.getKafka()),
				Stream.concat(properties.getProducers().values().stream(), properties.getTemplates().values().stream())
					.map(WaterDropProperties.ProducerProperties::getKafka));
		if (producers.stream().anyMatch(Producer::transactional)
				|| settings.anyMatch((kafka) -> kafka.containsKey(ProducerConfig.TRANSACTIONAL_ID_CONFIG))) {
			return;
		}
		logger.warn("spring.kafka.producer.transaction-id-prefix is set, but it makes only Boot's own KafkaTemplate "
				+ "transactional: no WaterDrop producer is, so their messages sent in a @Transactional method are "
				+ "not rolled back with it. Give each producer that needs transactions a kafka.transactional.id of "
				+ "its own (waterdrop.producers.<name>.kafka.transactional.id, unique per instance), or remove the "
				+ "prefix if KafkaTemplate is not used. Where that split is meant (a transactional KafkaTemplate "
				+ "beside non-transactional WaterDrop producers), set logging.level."
				+ TransactionIdPrefixCheck.class.getName() + "=error.");
	}

	private static boolean checkedByAParent(ListableBeanFactory beanFactory) {
		return beanFactory instanceof HierarchicalBeanFactory child
				&& child.getParentBeanFactory() instanceof ListableBeanFactory parent
				&& BeanFactoryUtils.beanNamesForTypeIncludingAncestors(parent, WaterDropProducers.class).length > 0;
	}

}
