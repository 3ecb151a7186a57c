package io.waterdrop.sample;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import io.waterdrop.DeliveryReport;
import io.waterdrop.DeliveryTimeoutException;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.QueueFullException;
import io.waterdrop.autoconfigure.WaterDropProducers;

/**
 * Produce with curl. Each endpoint answers with the delivery report(s); {@code producer} picks one of the
 * producers defined in {@code application.yml} (default {@code orders}). A bad request is answered with a
 * problem detail ({@link ProblemDetails}): 400 for an invalid message, 404 for an unknown producer, 503 when
 * the producer cannot take it now.
 *
 * <pre>
 * curl -XPOST localhost:8080/messages/sync -H 'Content-Type: text/plain' -d 'hello'
 * curl -XPOST 'localhost:8080/messages/async?producer=audit&amp;key=k1' -H 'Content-Type: text/plain' -d 'hello'
 * curl -XPOST localhost:8080/messages/batch -H 'Content-Type: application/json' -d '["a","b","c"]'
 * curl -XPOST localhost:8080/messages/transaction -H 'Content-Type: application/json' -d '["debit","credit"]'
 * </pre>
 */
@RestController
@RequestMapping("/messages")
class MessagesController {

	private final WaterDropProducers producers;

	MessagesController(WaterDropProducers producers) {
		this.producers = producers;
	}

	@PostMapping("/sync")
	DeliveryReport sync(@RequestBody String payload, @RequestParam(defaultValue = "orders") String producer,
			@RequestParam(defaultValue = "sample") String topic, @RequestParam(required = false) String key) {
		return UnknownProducerException.lookup(this.producers, producer).produceSync(message(topic, key, payload));
	}

	/**
	 * Answered when the report comes, without holding a request thread meanwhile; without one within the
	 * producer's {@code max-wait-timeout}, a 504 as {@code /sync} would answer (the message may still land).
	 */
	@PostMapping("/async")
	CompletableFuture<DeliveryReport> async(@RequestBody String payload,
			@RequestParam(defaultValue = "orders") String producer, @RequestParam(defaultValue = "sample") String topic,
			@RequestParam(required = false) String key) {
		Producer target = UnknownProducerException.lookup(this.producers, producer);
		Message message = message(topic, key, payload);
		Duration wait = target.config().maxWaitTimeout();
		return target.produceAsync(message)
			.toCompletableFuture()
			.orTimeout(wait.toMillis(), TimeUnit.MILLISECONDS)
			.exceptionallyCompose((failure) -> CompletableFuture.failedFuture(
					(failure instanceof TimeoutException) ? new DeliveryTimeoutException(message, wait) : failure));
	}

	@PostMapping("/batch")
	List<DeliveryReport> batch(@RequestBody List<String> payloads,
			@RequestParam(defaultValue = "orders") String producer, @RequestParam(defaultValue = "sample") String topic) {
		return UnknownProducerException.lookup(this.producers, producer)
			.produceManySync(payloads.stream().map((payload) -> message(topic, null, payload)).toList());
	}

	/**
	 * Every payload in one transaction of the transactional {@code payments} producer; at most its
	 * {@code max-in-flight} payloads, as a batch (413 above): the transaction holds the producer while it runs.
	 */
	@PostMapping("/transaction")
	List<DeliveryReport> transaction(@RequestBody List<String> payloads,
			@RequestParam(defaultValue = "payments") String topic) {
		Producer payments = UnknownProducerException.lookup(this.producers, "payments");
		if (payloads.size() > payments.config().maxInFlight()) {
			throw new QueueFullException(payments.id(), payloads.size(), payments.config().maxInFlight());
		}
		return payments.transaction((transaction) -> payloads.stream()
			.map((payload) -> transaction.produceAsync(message(topic, null, payload)))
			.toList())
			.stream()
			.map((handle) -> handle.await())
			.toList();
	}

	private static Message message(String topic, String key, String payload) {
		return Message.builder(topic).key(key).payload(payload).label("http").build();
	}

}
