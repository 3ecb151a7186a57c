package io.waterdrop.sample;

import java.time.Duration;
import java.util.TreeSet;

import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.TimeoutException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.context.request.async.AsyncRequestTimeoutException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

import io.waterdrop.BatchPartlySentException;
import io.waterdrop.DeliveryFailedException;
import io.waterdrop.DeliveryInterruptedException;
import io.waterdrop.DeliveryTimeoutException;
import io.waterdrop.InvalidConfigurationException;
import io.waterdrop.InvalidMessageException;
import io.waterdrop.MessagePurgedException;
import io.waterdrop.ProducerClosedException;
import io.waterdrop.ProducerNameInUseException;
import io.waterdrop.QueueFullException;
import io.waterdrop.TransactionFailedException;
import io.waterdrop.TransactionWaitTimeoutException;
import io.waterdrop.WaterDropException;

/**
 * WaterDrop's exceptions as RFC 9457 problem details ({@code application/problem+json}), instead of a bare
 * 500: what the client sent wrong is a 400 naming the rule it broke, an unknown producer a 404, a producer
 * that cannot take messages now (queue full, closing, another thread's transaction open on it) a 503 to
 * retry later, a batch larger than it can ever hold a 413, a tenant's producer that exists already a 409,
 * invalid settings for one a 400 naming the setting, a delivery Kafka refused or did not confirm in time a
 * 502 or 504, and a transaction Kafka did not commit or a Kafka client that could not be built a 502 (the
 * broker's or the settings' fault, not the request's); any other WaterDrop failure is a 500, as a problem
 * detail too, and so is a failure of the application's own code inside Kafka's send (a custom partitioner's)
 * or an interrupted request: {@code kafkaError} names only Kafka's errors. Spring MVC's own exceptions (a
 * malformed body or parameter, a request parameter out of range) become problem details too, by
 * {@link ResponseEntityExceptionHandler}.
 */
@RestControllerAdvice
class ProblemDetails extends ResponseEntityExceptionHandler {

	/** Refused before anything was queued: the violation says which rule the message broke. */
	@ExceptionHandler
	ProblemDetail invalidMessage(InvalidMessageException ex) {
		ProblemDetail problem = problem(HttpStatus.BAD_REQUEST, "Invalid message", ex.getMessage());
		problem.setProperty("violation", ex.violation().name());
		return problem;
	}

	@ExceptionHandler
	ProblemDetail unknownProducer(UnknownProducerException ex) {
		ProblemDetail problem = problem(HttpStatus.NOT_FOUND, "Unknown producer", ex.getMessage());
		problem.setProperty("producer", ex.producer());
		problem.setProperty("knownProducers", new TreeSet<>(ex.known()));
		return problem;
	}

	/** A runtime producer (a tenant's) of that name exists already. */
	@ExceptionHandler
	ProblemDetail nameInUse(ProducerNameInUseException ex) {
		ProblemDetail problem = problem(HttpStatus.CONFLICT, "Producer exists", ex.getMessage());
		problem.setProperty("producer", ex.name());
		return problem;
	}

	/** Settings given for a runtime producer (a tenant's overrides) are unknown or invalid. */
	@ExceptionHandler
	ProblemDetail invalidSettings(InvalidConfigurationException ex) {
		ProblemDetail problem = problem(HttpStatus.BAD_REQUEST, "Invalid producer settings", ex.getMessage());
		problem.setProperty("property", ex.property());
		problem.setProperty("action", ex.action());
		return problem;
	}

	/**
	 * Back-pressure: max-in-flight messages are waiting for their reports. Worth retrying shortly; a batch
	 * larger than the producer can ever hold is not, so it is the client's to split (413).
	 */
	@ExceptionHandler
	ResponseEntity<ProblemDetail> queueFull(QueueFullException ex) {
		if (ex.exceedsMaxInFlight()) {
			return ResponseEntity.status(HttpStatus.CONTENT_TOO_LARGE)
				.body(problem(HttpStatus.CONTENT_TOO_LARGE, "Batch too large", ex.getMessage()));
		}
		return unavailable(problem(HttpStatus.SERVICE_UNAVAILABLE, "Producer queue full", ex.getMessage()));
	}

	/** The application is shutting down (or the producer was closed): nothing was sent. */
	@ExceptionHandler
	ResponseEntity<ProblemDetail> producerClosed(ProducerClosedException ex) {
		return unavailable(problem(HttpStatus.SERVICE_UNAVAILABLE, "Producer closed", ex.getMessage()));
	}

	/**
	 * Another thread's transaction (another request's, say) on the transactional producer stayed open all of
	 * its max-wait-timeout (one runs at a time): nothing began, and the producer is likely free again shortly.
	 */
	@ExceptionHandler
	ResponseEntity<ProblemDetail> transactionWaitTimeout(TransactionWaitTimeoutException ex) {
		return unavailable(problem(HttpStatus.SERVICE_UNAVAILABLE, "Producer busy", ex.getMessage()));
	}

	/** Accepted, then purged by a shutdown before Kafka confirmed it: it may or may not have been written. */
	@ExceptionHandler
	ResponseEntity<ProblemDetail> purged(MessagePurgedException ex) {
		return unavailable(problem(HttpStatus.SERVICE_UNAVAILABLE, "Message purged", ex.getMessage()));
	}

	/**
	 * Part of a batch was sent before a message was refused: those are on their way (and would be sent twice
	 * by retrying the whole batch), so the answer says how many, and no Retry-After.
	 */
	@ExceptionHandler
	ResponseEntity<ProblemDetail> batchPartlySent(BatchPartlySentException ex) {
		Throwable refusal = ex.getCause();
		HttpStatus status;
		if (refusal instanceof ProducerClosedException || refusal instanceof QueueFullException) {
			status = HttpStatus.SERVICE_UNAVAILABLE;
		}
		else if (refusal instanceof KafkaException || (refusal instanceof DeliveryFailedException failed
				&& kafkasDoing(failed.getCause()))) {
			status = HttpStatus.BAD_GATEWAY;
		}
		else { // an interrupt, the application's own partitioner or interceptor: the server's
			this.logger.error("WaterDrop failed while serving a request", ex);
			status = HttpStatus.INTERNAL_SERVER_ERROR;
		}
		ProblemDetail problem = problem(status, "Batch partly sent", ex.getMessage());
		problem.setProperty("sent", ex.sent().size());
		problem.setProperty("batchSize", ex.batchSize());
		return ResponseEntity.status(status).body(problem);
	}

	/** Kafka refused the message (its cause says why: too large for the topic, not authorized, ...). */
	@ExceptionHandler
	ProblemDetail deliveryFailed(DeliveryFailedException ex) {
		if (!kafkasDoing(ex.getCause())) { // the application's own partitioner or interceptor failed
			return waterDropFailed(ex);
		}
		ProblemDetail problem = problem(HttpStatus.BAD_GATEWAY, "Delivery failed", ex.getMessage());
		if (ex.getCause() != null) {
			problem.setProperty("kafkaError", ex.getCause().getClass().getName());
		}
		return problem;
	}

	/** Whether Kafka refused the message (with its error, or without one), not the application's own code. */
	private static boolean kafkasDoing(Throwable cause) {
		return cause == null || cause instanceof KafkaException;
	}

	@ExceptionHandler
	ProblemDetail deliveryTimeout(DeliveryTimeoutException ex) {
		return problem(HttpStatus.GATEWAY_TIMEOUT, "No delivery report in time", ex.getMessage());
	}

	/**
	 * The server's async request timeout ({@code spring.mvc.async.request-timeout}) ran out before a report
	 * came ({@code /messages/async} with a producer's {@code max-wait-timeout} longer than it): as a delivery
	 * timeout, a 504 whose message may still land, not the 503 "retry later" that would send it twice.
	 */
	@Override
	protected ResponseEntity<Object> handleAsyncRequestTimeoutException(AsyncRequestTimeoutException ex,
			HttpHeaders headers, HttpStatusCode status, WebRequest request) {
		return handleExceptionInternal(ex,
				problem(HttpStatus.GATEWAY_TIMEOUT, "No delivery report in time", "No delivery report within the "
						+ "server's async request timeout (spring.mvc.async.request-timeout); it may still be delivered"),
				headers, HttpStatus.GATEWAY_TIMEOUT, request);
	}

	/**
	 * The commit failed and the transaction was rolled back (or its outcome is unknown, which the detail
	 * says): Kafka's doing, not the request's, so a 502; a 504 when Kafka did not answer in time (a send in it,
	 * or the commit), a 503 when the producer was closing. No Retry-After: the client decides whether to send it
	 * again. Rolled back because the request's thread was interrupted (a shutdown, a cancelled request), it is
	 * the server's: a 500, as any such failure.
	 */
	@ExceptionHandler
	ProblemDetail transactionFailed(TransactionFailedException ex) {
		Throwable cause = ex.getCause();
		if (cause instanceof DeliveryInterruptedException) {
			return waterDropFailed(ex);
		}
		HttpStatus status = (cause instanceof DeliveryTimeoutException || cause instanceof TimeoutException)
				? HttpStatus.GATEWAY_TIMEOUT
				: (cause instanceof ProducerClosedException) ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.BAD_GATEWAY;
		ProblemDetail problem = problem(status, "Transaction failed", ex.getMessage());
		if (cause instanceof KafkaException kafkaError) {
			problem.setProperty("kafkaError", kafkaError.getClass().getName());
		}
		return problem;
	}

	/**
	 * A Kafka client error WaterDrop passes on as it is: the producer's client could not be built on its first
	 * message (an unusable {@code bootstrap.servers}, say) or could not initialise its transactions. The
	 * producer stays unconnected and tries again on the next message; the fault is the broker's or the
	 * settings', so a 502 rather than a 500. Kafka's reason goes to the log, not to the caller: it may name
	 * hosts, files or credentials' errors.
	 */
	@ExceptionHandler
	ProblemDetail kafkaClientFailed(KafkaException ex) {
		Throwable reason = ex;
		while (reason.getCause() != null && reason.getCause() != reason) {
			reason = reason.getCause();
		}
		this.logger.warn("Kafka client failed while serving a request", ex); // ResponseEntityExceptionHandler's
		ProblemDetail problem = problem(HttpStatus.BAD_GATEWAY, "Kafka client failed",
				"The producer's Kafka client failed (" + reason.getClass().getSimpleName()
						+ "); the application's log has Kafka's reason");
		problem.setProperty("kafkaError", reason.getClass().getName());
		return problem;
	}

	/**
	 * A WaterDrop failure no handler above names (a wait interrupted, a producer that lost its polling thread):
	 * the server's, so a 500, but a problem detail as the rest. Spring picks the handler of the closest
	 * exception type, so this one takes only what the others do not. Logged: being handled, it would not be.
	 */
	@ExceptionHandler
	ProblemDetail waterDropFailed(WaterDropException ex) {
		this.logger.error("WaterDrop failed while serving a request", ex); // ResponseEntityExceptionHandler's
		return problem(HttpStatus.INTERNAL_SERVER_ERROR, "Producer failed", ex.getMessage());
	}

	private static ProblemDetail problem(HttpStatus status, String title, String detail) {
		ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, detail);
		problem.setTitle(title);
		return problem;
	}

	private static ResponseEntity<ProblemDetail> unavailable(ProblemDetail problem) {
		return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
			.header(HttpHeaders.RETRY_AFTER, String.valueOf(Duration.ofSeconds(1).toSeconds()))
			.body(problem);
	}

}
