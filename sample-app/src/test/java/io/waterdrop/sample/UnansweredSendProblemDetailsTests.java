package io.waterdrop.sample;

import java.time.Duration;

import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.mock.web.MockAsyncContext;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.MvcResult;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;
import org.springframework.web.context.WebApplicationContext;

import io.waterdrop.DeliveryTimeoutException;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.TransactionFailedException;
import io.waterdrop.autoconfigure.WaterDropProducerCustomizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.asyncDispatch;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.request;

/**
 * A send Kafka has not answered. Synchronous, inside the transactional {@code payments} producer's own
 * transaction: rolled back, which the answer reflects as who is to blame. Interrupted (a shutdown, a cancelled
 * request) it is the server's, a 500; timed out, Kafka's, a 504. Asynchronous: a 504 too once the wait runs
 * out. The producers run on kafka-clients' {@link MockProducer}, which never answers here.
 */
@SpringBootTest(classes = SampleApplication.class,
		properties = { "spring.kafka.bootstrap-servers=127.0.0.1:1", "spring.kafka.listener.auto-startup=false",
				"waterdrop.producers.audit.max-wait-timeout=300ms" })
@Import(UnansweredSendProblemDetailsTests.SilentClients.class)
@Timeout(60)
class UnansweredSendProblemDetailsTests {

	@Autowired
	private WebApplicationContext context;

	private MockMvc mvc;

	@BeforeEach
	void mockMvc() {
		this.mvc = MockMvcBuilders.webAppContextSetup(this.context).build();
	}

	@Test
	void anInterruptedWaitRollingBackATransactionIsTheServersFailure() throws Exception {
		Producer payments = this.context.getBean("payments", Producer.class);
		long before = payments.inFlight();
		Thread request = Thread.currentThread();
		Thread interrupter = new Thread(() -> {
			await().atMost(Duration.ofSeconds(30))
				.until(() -> payments.inFlight() > before && request.getState() == Thread.State.TIMED_WAITING);
			request.interrupt();
		});
		interrupter.start();
		MvcResult result;
		try {
			result = this.mvc.perform(post("/messages/sync?producer=payments").contentType(MediaType.TEXT_PLAIN)
				.content("hello")).andReturn();
		}
		finally {
			interrupter.join(30_000);
			Thread.interrupted(); // WaterDrop leaves the flag set
		}
		assertThat(result.getResponse().getStatus()).isEqualTo(500);
		assertThat(result.getResponse().getContentAsString()).contains("\"title\":\"Producer failed\"")
			.contains("was interrupted while waiting for its report")
			.doesNotContain("kafkaError");
	}

	@Test
	void aTimedOutWaitRollingBackATransactionIsAGatewayTimeout() {
		ProblemDetail problem = this.context.getBean(ProblemDetails.class)
			.transactionFailed(new TransactionFailedException("rolled back",
					new DeliveryTimeoutException(Message.of("payments", "x"), Duration.ofSeconds(1))));
		assertThat(problem.getStatus()).isEqualTo(HttpStatus.GATEWAY_TIMEOUT.value());
		assertThat(problem.getTitle()).isEqualTo("Transaction failed");
		assertThat(problem.getProperties()).isNull();
	}

	/** As {@code /messages/sync} would answer: no report within the producer's max-wait-timeout is a 504. */
	@Test
	void anUnansweredAsyncSendIsAGatewayTimeoutAfterMaxWaitTimeout() throws Exception {
		MvcResult started = this.mvc
			.perform(post("/messages/async?producer=audit").contentType(MediaType.TEXT_PLAIN).content("hello"))
			.andExpect(request().asyncStarted())
			.andReturn();
		assertThat(started.getAsyncResult(30_000)).isInstanceOf(DeliveryTimeoutException.class);

		MvcResult result = this.mvc.perform(asyncDispatch(started)).andReturn();

		assertThat(result.getResponse().getStatus()).isEqualTo(504);
		assertThat(result.getResponse().getContentAsString()).contains("\"title\":\"No delivery report in time\"")
			.contains("within PT0.3S; it may still be delivered");
	}

	/** Run out before a longer max-wait-timeout, the server's own async timeout is a 504 too, not "retry later". */
	@Test
	void theServersAsyncRequestTimeoutIsAGatewayTimeout() throws Exception {
		MvcResult started = this.mvc
			.perform(post("/messages/async?producer=orders").contentType(MediaType.TEXT_PLAIN).content("hello"))
			.andExpect(request().asyncStarted())
			.andReturn();
		MockAsyncContext async = (MockAsyncContext) started.getRequest().getAsyncContext();
		for (AsyncListener listener : async.getListeners()) { // as the server does when its async timeout runs out
			listener.onTimeout(new AsyncEvent(async));
		}

		MvcResult result = this.mvc.perform(asyncDispatch(started)).andReturn();

		assertThat(result.getResponse().getStatus()).isEqualTo(504);
		assertThat(result.getResponse().getContentType()).isEqualTo(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
		assertThat(result.getResponse().getHeader(HttpHeaders.RETRY_AFTER)).isNull();
		assertThat(result.getResponse().getContentAsString()).contains("\"title\":\"No delivery report in time\"")
			.contains("\"instance\":\"/messages/async\"")
			.contains("it may still be delivered");
	}

	@TestConfiguration(proxyBeanMethods = false)
	static class SilentClients {

		@Bean
		WaterDropProducerCustomizer silentClients() {
			return (name, builder) -> builder.clientFactory((settings) -> new MockProducer<>(false, null,
					new ByteArraySerializer(), new ByteArraySerializer()));
		}

	}

}
