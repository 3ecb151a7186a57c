package io.waterdrop.sample;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponseException;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

import io.waterdrop.DeliveryReport;
import io.waterdrop.Message;
import io.waterdrop.Producer;

/**
 * Produces an {@link Order} as JSON: the payload is the record itself, no serializer is configured. With
 * tracing on the class path (as in this sample) the send is a span of the request's trace, and the trace
 * context travels in the record's {@code traceparent} header to {@link OrderListener}, whose log line shows
 * the same trace id.
 *
 * <pre>
 * curl -XPOST localhost:8080/orders -H 'Content-Type: application/json' -d '{"id":"o-1","item":"book","quantity":2}'
 * </pre>
 */
@RestController
class OrdersController {

	static final String TOPIC = "sample-orders";

	private static final Logger logger = LoggerFactory.getLogger(OrdersController.class);

	private final Producer orders;

	OrdersController(@Qualifier("orders") Producer orders) {
		this.orders = orders;
	}

	@PostMapping("/orders")
	DeliveryReport place(@RequestBody Order order) {
		checkValid(order);
		DeliveryReport report = this.orders.produceSync(Message.builder(TOPIC).key(order.id()).payload(order).build());
		logger.info("Order {} published to {}-{} at offset {}", order.id(), report.topic(), report.partition(),
				report.offset());
		return report;
	}

	/** An order without an id (the record key), an item or a positive quantity is refused before it is sent. */
	private static void checkValid(Order order) {
		String invalid = (order.id() == null || order.id().isBlank()) ? "id"
				: (order.item() == null || order.item().isBlank()) ? "item"
				: (order.quantity() == null || order.quantity() < 1) ? "quantity" : null;
		if (invalid != null) {
			ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST,
					"An order needs an id, an item and a quantity of at least 1; its " + invalid
							+ " is missing or invalid");
			problem.setTitle("Invalid order");
			problem.setProperty("field", invalid);
			throw new ErrorResponseException(HttpStatus.BAD_REQUEST, problem, null);
		}
	}

}
