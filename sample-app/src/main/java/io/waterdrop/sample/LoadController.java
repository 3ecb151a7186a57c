package io.waterdrop.sample;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponseException;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import io.waterdrop.DeliveryHandle;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.WaterDropProducers;

/**
 * A small load generator, so that the metrics move: {@code curl -XPOST
 * 'localhost:8080/load?messages=50000&producers=orders,audit,legacy'} sends that many 100-byte messages
 * asynchronously through each named producer and answers when every report was dispatched.
 */
@RestController
class LoadController {

	private static final int MAX_MESSAGES = 1_000_000;

	private final WaterDropProducers producers;

	LoadController(WaterDropProducers producers) {
		this.producers = producers;
	}

	@PostMapping("/load")
	Map<String, Object> load(@RequestParam(defaultValue = "10000") int messages,
			@RequestParam(defaultValue = "orders,audit,legacy") List<String> producers,
			@RequestParam(defaultValue = "load") String topic) {
		if (messages < 1 || messages > MAX_MESSAGES) {
			ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST,
					"messages must be between 1 and " + MAX_MESSAGES + " but was " + messages);
			problem.setProperty("parameter", "messages");
			throw new ErrorResponseException(HttpStatus.BAD_REQUEST, problem, null);
		}
		List<String> names = producers.stream().distinct().toList();
		List<Producer> selected = names.stream()
			.map((name) -> UnknownProducerException.lookup(this.producers, name))
			.toList();
		List<String> transactional = selected.stream().filter(Producer::transactional).map(Producer::id).toList();
		if (!transactional.isEmpty()) { // each message outside a transaction would be one transaction of its own
			ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, "producers "
					+ transactional + " are transactional: each message would be a transaction of its own; load "
					+ "producers that are not (POST /messages/transaction sends in one transaction)");
			problem.setProperty("parameter", "producers");
			throw new ErrorResponseException(HttpStatus.BAD_REQUEST, problem, null);
		}
		if ((long) messages * selected.size() > MAX_MESSAGES) { // every handle is kept until the answer
			ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, "messages times "
					+ "producers must be at most " + MAX_MESSAGES + " but was " + messages + " x " + selected.size());
			problem.setProperty("parameter", "messages");
			throw new ErrorResponseException(HttpStatus.BAD_REQUEST, problem, null);
		}
		String payload = "x".repeat(100);
		long start = System.nanoTime();
		List<DeliveryHandle> handles = new ArrayList<>();
		for (int i = 0; i < messages; i++) {
			for (Producer producer : selected) {
				handles.add(producer.produceAsync(Message.of(topic, payload)));
			}
		}
		handles.forEach(DeliveryHandle::await);
		Duration took = Duration.ofNanos(System.nanoTime() - start);
		int sent = handles.size();
		return Map.of("producers", names, "messages", sent, "millis", took.toMillis(), "messagesPerSecond",
				Math.round(sent / Math.max(took.toNanos() / 1e9, 1e-9)));
	}

}
