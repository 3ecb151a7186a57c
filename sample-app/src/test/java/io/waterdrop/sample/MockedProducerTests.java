package io.waterdrop.sample;

import java.time.Instant;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.http.MediaType;
import org.springframework.test.context.bean.override.mockito.MockitoBean;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.web.context.WebApplicationContext;

import io.waterdrop.DeliveryReport;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.inmemory.AutoConfigureWaterDropInMemory;

import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.BDDMockito.given;
import static org.mockito.BDDMockito.then;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/**
 * A producer replaced by a Mockito mock in a test ({@code @MockitoBean}), as one stubs a {@code KafkaTemplate}:
 * the application context starts, the code under test gets the mock (in a transaction of its transaction
 * manager too), and the starter's health, meters, endpoint and lifecycle go on for the real producers, leaving
 * the mock alone. No broker.
 */
@SpringBootTest(classes = SampleApplication.class,
		properties = { "spring.kafka.bootstrap-servers=127.0.0.1:1", "spring.kafka.listener.auto-startup=false" })
@AutoConfigureWaterDropInMemory
@Timeout(60)
class MockedProducerTests {

	@MockitoBean(name = "orders")
	private Producer orders;

	@MockitoBean(name = "payments")
	private Producer payments;

	@Autowired
	@Qualifier("paymentsTransactionManager")
	private PlatformTransactionManager paymentsTransactions;

	@Autowired
	private WebApplicationContext context;

	@Test
	void theCodeUnderTestGetsTheMockAndTheStarterServesTheOtherProducers() throws Exception {
		given(this.orders.produceSync(any(Message.class)))
			.willReturn(new DeliveryReport(OrdersController.TOPIC, 0, 42, Instant.EPOCH, null));
		MockMvc mvc = MockMvcBuilders.webAppContextSetup(this.context).build();

		mvc.perform(post("/orders").contentType(MediaType.APPLICATION_JSON)
			.content("{\"id\":\"o-1\",\"item\":\"book\",\"quantity\":2}"))
			.andExpect(status().isOk())
			.andExpect(jsonPath("$.offset").value(42));
		then(this.orders).should().produceSync(any(Message.class));

		mvc.perform(post("/messages/sync?producer=audit").contentType(MediaType.TEXT_PLAIN).content("hello"))
			.andExpect(status().isOk());
		mvc.perform(get("/actuator/health")).andExpect(status().isOk());
		mvc.perform(get("/actuator/waterdrop")).andExpect(status().isOk());
	}

	/**
	 * The mocked transactional producer's transaction manager begins no Kafka transaction; its Spring
	 * transactions join and nest as they would (a MANDATORY scope finds the outer one), and the code runs
	 * against the mock.
	 */
	@Test
	void codeInATransactionOfAMockedProducerRunsAgainstTheMock() {
		TransactionTemplate mandatory = new TransactionTemplate(this.paymentsTransactions);
		mandatory.setPropagationBehavior(TransactionDefinition.PROPAGATION_MANDATORY);
		new TransactionTemplate(this.paymentsTransactions).executeWithoutResult((status) -> mandatory
			.executeWithoutResult((inner) -> this.payments.produceAsync(Message.of("payments", "p-1"))));
		then(this.payments).should().produceAsync(any(Message.class));

		assertThatExceptionOfType(IllegalStateException.class)
			.isThrownBy(() -> new TransactionTemplate(this.paymentsTransactions).executeWithoutResult((status) -> {
				throw new IllegalStateException("rolled back (simulated)");
			}));
	}

}
