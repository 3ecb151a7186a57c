package io.waterdrop.sample;

import java.util.List;
import java.util.concurrent.FutureTask;

import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.ResultActions;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;
import org.springframework.web.context.WebApplicationContext;

import io.waterdrop.BatchPartlySentException;
import io.waterdrop.BoundTransaction;
import io.waterdrop.DeliveryFailedException;
import io.waterdrop.DeliveryHandle;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerClosedException;
import io.waterdrop.ProducerStatus;
import io.waterdrop.TransactionFailedException;
import io.waterdrop.TransactionOutcomeUnknownException;
import io.waterdrop.WaterDropException;
import io.waterdrop.autoconfigure.inmemory.AutoConfigureWaterDropInMemory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/**
 * The sample's bad requests are answered with problem details, not HTTP 500: 400 with the violation for an
 * invalid message (payload too large, a null element in a batch), order or parameter, 404 for an unknown
 * producer, 413 for a batch larger than the producer can ever hold, 503 when it cannot take the messages
 * now (closed, or another thread's transaction open on it), 502 or 503 without Retry-After for a batch
 * refused part-way, 500 as a problem detail for another WaterDrop failure. The producers are the sample's own, plus
 * a few for these cases, storing their messages in memory: no broker.
 */
@SpringBootTest(classes = SampleApplication.class,
		properties = { "spring.kafka.bootstrap-servers=127.0.0.1:1", "spring.kafka.listener.auto-startup=false",
				"waterdrop.producers.tiny.max-payload-size=16B",
				"waterdrop.producers.small.max-in-flight=2", "waterdrop.producers.small.wait-on-queue-full=false",
				"waterdrop.producers.retired.max-in-flight=10", "waterdrop.producers.payments.max-wait-timeout=100ms",
				"waterdrop.producers.payments.max-in-flight=5" })
@AutoConfigureWaterDropInMemory
@Timeout(60)
class ProblemDetailsTests {

	@Autowired
	private WebApplicationContext context;

	@Autowired
	@Qualifier("retired")
	private Producer retired;

	@Autowired
	private ProblemDetails problems;

	private MockMvc mvc;

	@BeforeEach
	void mockMvc() {
		this.mvc = MockMvcBuilders.webAppContextSetup(this.context).build();
	}

	@Test
	void aValidMessageIsDelivered() throws Exception {
		send("/messages/sync", MediaType.TEXT_PLAIN, "hello").andExpect(status().isOk())
			.andExpect(jsonPath("$.topic").value("sample"));
	}

	@Test
	void anUnknownProducerIsNotFound() throws Exception {
		problem(send("/messages/sync?producer=nope", MediaType.TEXT_PLAIN, "hello"), 404, "Unknown producer")
			.andExpect(jsonPath("$.producer").value("nope"))
			.andExpect(jsonPath("$.knownProducers[0]").value("audit"))
			.andExpect(jsonPath("$.knownProducers.length()").value(7))
			.andExpect(jsonPath("$.detail").value(org.hamcrest.Matchers.startsWith("No producer named 'nope'")));
		problem(send("/load?producers=orders,nope", MediaType.APPLICATION_JSON, ""), 404, "Unknown producer");
	}

	@Test
	void aPayloadOverMaxPayloadSizeIsABadRequestNamingTheViolation() throws Exception {
		problem(send("/messages/sync?producer=tiny", MediaType.TEXT_PLAIN, "x".repeat(17)), 400, "Invalid message")
			.andExpect(jsonPath("$.violation").value("PAYLOAD_TOO_LARGE"))
			.andExpect(jsonPath("$.detail")
				.value(org.hamcrest.Matchers.containsString("over max-payload-size 16 bytes")));
	}

	@Test
	void aNullElementInABatchIsABadRequest() throws Exception {
		problem(send("/messages/batch", MediaType.APPLICATION_JSON, "[\"a\", null]"), 400, "Invalid message")
			.andExpect(jsonPath("$.violation").value("TOMBSTONE_WITHOUT_KEY"));
	}

	@Test
	void aNegativeMessageCountIsABadRequest() throws Exception {
		problem(send("/load?messages=-5", MediaType.APPLICATION_JSON, ""), 400, "Bad Request")
			.andExpect(jsonPath("$.parameter").value("messages"))
			.andExpect(jsonPath("$.detail").value("messages must be between 1 and 1000000 but was -5"));
		problem(send("/load?messages=many", MediaType.APPLICATION_JSON, ""), 400, "Bad Request");
	}

	/** Every handle of a load is kept until it answers: the messages of all its producers together are bounded. */
	@Test
	void aLoadOverTheLimitAcrossItsProducersIsABadRequest() throws Exception {
		problem(send("/load?messages=600000&producers=orders,tiny", MediaType.APPLICATION_JSON, ""), 400,
				"Bad Request")
			.andExpect(jsonPath("$.parameter").value("messages"))
			.andExpect(jsonPath("$.detail")
				.value("messages times producers must be at most 1000000 but was 600000 x 2"));
	}

	@Test
	void aBatchLargerThanTheProducerCanEverHoldIsTooLargeNotUnavailable() throws Exception {
		problem(send("/messages/batch?producer=small", MediaType.APPLICATION_JSON, "[\"a\",\"b\",\"c\"]"), 413,
				"Batch too large")
			.andExpect(header().doesNotExist("Retry-After"))
			.andExpect(jsonPath("$.detail").value(containsString("Split it")));
	}

	/** A transaction holds its producer while it runs: it takes at most max-in-flight payloads, as a batch. */
	@Test
	void aTransactionLargerThanItsProducerCanHoldIsTooLarge() throws Exception {
		String six = "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\"]";
		problem(send("/messages/transaction", MediaType.APPLICATION_JSON, six), 413, "Batch too large")
			.andExpect(jsonPath("$.detail").value(containsString("batch of 6 messages: maxInFlight is 5")));
		this.mvc.perform(post("/messages/transaction").contentType(MediaType.APPLICATION_JSON).content("[\"1\",\"2\"]"))
			.andExpect(status().isOk());
	}

	/** Each message of a load on a transactional producer would be a transaction (and a commit) of its own. */
	@Test
	void aLoadOnATransactionalProducerIsABadRequest() throws Exception {
		problem(send("/load?messages=10&producers=orders,payments", MediaType.APPLICATION_JSON, ""), 400,
				"Bad Request")
			.andExpect(jsonPath("$.parameter").value("producers"))
			.andExpect(jsonPath("$.detail").value(containsString("producers [payments] are transactional")));
	}

	@Test
	void anOrderWithoutAnIdOrAPositiveQuantityIsABadRequest() throws Exception {
		problem(send("/orders", MediaType.APPLICATION_JSON, "{\"item\":\"book\",\"quantity\":2}"), 400, "Invalid order")
			.andExpect(jsonPath("$.field").value("id"));
		problem(send("/orders", MediaType.APPLICATION_JSON, "{\"id\":\"o-1\",\"item\":\"book\",\"quantity\":-2}"), 400,
				"Invalid order")
			.andExpect(jsonPath("$.field").value("quantity"));
		problem(send("/orders", MediaType.APPLICATION_JSON, "{\"id\":\"o-1\",\"item\":\"book\"}"), 400, "Invalid order")
			.andExpect(jsonPath("$.field").value("quantity"));
		problem(send("/orders", MediaType.APPLICATION_JSON, "{\"id\":\"o-1\",\"quantity\":\"two\"}"), 400,
				"Bad Request");
	}

	@Test
	void aClosedProducerIsUnavailable() throws Exception {
		this.retired.close();
		problem(send("/messages/sync?producer=retired", MediaType.TEXT_PLAIN, "hello"), 503, "Producer closed")
			.andExpect(header().string("Retry-After", "1"));
	}

	@Test
	void aTransactionWaitingLongerThanMaxWaitTimeoutForAnotherOneIsUnavailable() throws Exception {
		Producer payments = this.context.getBean("payments", Producer.class);
		FutureTask<BoundTransaction> begin = new FutureTask<>(payments::beginTransaction);
		new Thread(begin, "another-request").start();
		BoundTransaction open = begin.get();
		try {
			problem(send("/messages/transaction", MediaType.APPLICATION_JSON, "[\"debit\"]"), 503, "Producer busy")
				.andExpect(header().string("Retry-After", "1"))
				.andExpect(jsonPath("$.detail").value(containsString("max-wait-timeout")));
		}
		finally {
			open.abort();
		}
	}

	@Test
	void anotherWaterDropFailureIsAnInternalErrorAsAProblemDetail() throws Exception {
		Thread.currentThread().interrupt(); // the transaction's wait for its turn fails at once
		try {
			problem(send("/messages/transaction", MediaType.APPLICATION_JSON, "[\"debit\"]"), 500, "Producer failed")
				.andExpect(jsonPath("$.detail").value(containsString("Interrupted while waiting for its turn")));
		}
		finally {
			Thread.interrupted(); // WaterDrop leaves the flag set
		}
	}

	/**
	 * Who is to blame decides the status: the application's own code failing in Kafka's send (a custom
	 * partitioner) or an interrupted request is the server's, a 500, not a 502 naming it as Kafka's error; a
	 * commit Kafka did not answer in time is a 504; a transaction rolled back because the producer closed a 503.
	 */
	@Test
	void aFailureIsBlamedOnKafkaOnlyWhenItIsKafkas() {
		Producer orders = this.context.getBean("orders", Producer.class);
		Message message = Message.builder("sample").payload("first").build();
		List<Message> batch = List.of(message, Message.builder("sample").payload("second").build());
		List<DeliveryHandle> sent = orders.produceManyAsync(batch.subList(0, 1));

		ProblemDetail partitionerFailed = this.problems.deliveryFailed(
				new DeliveryFailedException("refused", message, new IllegalStateException("partitioner failed")));
		ResponseEntity<ProblemDetail> interruptedBatch = this.problems.batchPartlySent(new BatchPartlySentException(
				"orders", sent, batch, new WaterDropException("Interrupted while Kafka's client waited")));
		ProblemDetail commitTimedOut = this.problems.transactionFailed(new TransactionOutcomeUnknownException(
				"timed out while committing", new TimeoutException("Timeout expired while awaiting EndTxn")));
		ProblemDetail closedMeanwhile = this.problems.transactionFailed(new TransactionFailedException("rolled back",
				new ProducerClosedException("payments", ProducerStatus.CLOSING)));

		assertThat(partitionerFailed.getStatus()).isEqualTo(500);
		assertThat(partitionerFailed.getProperties()).isNull();
		assertThat(interruptedBatch.getStatusCode().value()).isEqualTo(500);
		assertThat(commitTimedOut.getStatus()).isEqualTo(504);
		assertThat(commitTimedOut.getProperties()).containsEntry("kafkaError", TimeoutException.class.getName());
		assertThat(closedMeanwhile.getStatus()).isEqualTo(503);
	}

	@Test
	void aBatchRefusedPartWaySaysHowManyWereSentAndOffersNoRetry() {
		Producer orders = this.context.getBean("orders", Producer.class);
		Message refused = Message.builder("sample").payload("third").build();
		List<Message> batch = List.of(Message.builder("sample").payload("first").build(),
				Message.builder("sample").payload("second").build(), refused);
		List<DeliveryHandle> sent = orders.produceManyAsync(batch.subList(0, 2));

		ResponseEntity<ProblemDetail> kafkaRefused = this.problems.batchPartlySent(
				new BatchPartlySentException("orders", sent, batch,
						new DeliveryFailedException("refused", refused, null)));
		ResponseEntity<ProblemDetail> closed = this.problems.batchPartlySent(new BatchPartlySentException("orders",
				sent, batch, new ProducerClosedException("orders", ProducerStatus.CLOSING)));

		assertThat(kafkaRefused.getStatusCode().value()).isEqualTo(502);
		assertThat(closed.getStatusCode().value()).isEqualTo(503);
		for (ResponseEntity<ProblemDetail> answer : List.of(kafkaRefused, closed)) {
			assertThat(answer.getHeaders().containsHeader("Retry-After")).isFalse();
			assertThat(answer.getBody().getTitle()).isEqualTo("Batch partly sent");
			assertThat(answer.getBody().getProperties()).containsEntry("sent", 2).containsEntry("batchSize", 3);
		}
	}

	private ResultActions send(String path, MediaType type, String body) throws Exception {
		return this.mvc.perform(post(path).contentType(type).content(body));
	}

	private static ResultActions problem(ResultActions result, int status, String title) throws Exception {
		return result.andExpect(status().is(status))
			.andExpect(content().contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON))
			.andExpect(jsonPath("$.status").value(status))
			.andExpect(jsonPath("$.title").value(title));
	}

}
