package io.waterdrop.sample;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.stereotype.Component;

/**
 * Reads the orders {@link OrdersController} publishes, with spring-kafka's {@code JacksonJsonDeserializer}
 * (see {@code spring.kafka.consumer} in {@code application.yml}): the {@code __TypeId__} header WaterDrop's JSON
 * serializer wrote makes each record an {@link Order}. With listener observation on, the log line carries the
 * trace id of the request that produced it.
 */
@Component
class OrderListener {

	private static final Logger logger = LoggerFactory.getLogger(OrderListener.class);

	@KafkaListener(topics = OrdersController.TOPIC, groupId = "sample-order-listener")
	void onOrder(Order order) {
		logger.info("Order {} received: {} x {}", order.id(), order.quantity(), order.item());
	}

}
