package io.waterdrop.sample;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.ResultActions;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;
import org.springframework.web.context.WebApplicationContext;

import io.waterdrop.ProducerStatus;
import io.waterdrop.autoconfigure.WaterDropProducerCustomizer;
import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/**
 * What Kafka, not the request, got wrong is answered with a 502 problem detail rather than a bare 500: a
 * tenant's Kafka client that cannot be built (the operator gave the template an unusable
 * {@code bootstrap.servers}; the real client refuses it, without a broker or a timing to wait for) and a
 * transaction whose commit Kafka refused ({@code payments} runs on kafka-clients' {@link MockProducer}, told
 * to fail the commit). No in-memory Kafka here: it would replace the tenant's real client.
 */
@SpringBootTest(classes = SampleApplication.class,
		properties = { "spring.kafka.bootstrap-servers=127.0.0.1:1", "spring.kafka.listener.auto-startup=false",
				// a name that never resolves (RFC 2606): Kafka refuses to build the client
				"waterdrop.templates.tenant.kafka.bootstrap.servers=garbage.invalid:9092" })
@Import(KafkaFailureProblemDetailsTests.MockClients.class)
@Timeout(60)
class KafkaFailureProblemDetailsTests {

	@Autowired
	private WebApplicationContext context;

	@Autowired
	private WaterDropRuntimeProducers producers;

	private MockMvc mvc;

	@BeforeEach
	void mockMvc() {
		this.mvc = MockMvcBuilders.webAppContextSetup(this.context).build();
	}

	@AfterEach
	void removeTenants() {
		this.producers.names().forEach(this.producers::remove);
	}

	@Test
	void aTenantWhoseKafkaClientCannotBeBuiltIsABadGatewayNamingTheKindOfFailureOnly() throws Exception {
		this.mvc.perform(post("/tenants/acme")).andExpect(status().isCreated()); // connects on its first message
		for (int attempt = 0; attempt < 2; attempt++) { // stays unconnected, and tries again
			problem(this.mvc.perform(post("/tenants/acme/messages").contentType(MediaType.TEXT_PLAIN).content("x")),
					502, "Kafka client failed")
				.andExpect(jsonPath("$.detail").value(containsString("ConfigException")))
				.andExpect(jsonPath("$.detail").value(not(containsString("garbage")))) // the log has it
				.andExpect(jsonPath("$.kafkaError").value("org.apache.kafka.common.config.ConfigException"));
		}
		assertThat(this.producers.get("tenant-acme").status()).isEqualTo(ProducerStatus.CONFIGURED);
	}

	@Test
	void aTransactionKafkaDidNotCommitIsABadGateway() throws Exception {
		problem(this.mvc.perform(post("/messages/transaction").contentType(MediaType.APPLICATION_JSON)
			.content("[\"debit\",\"credit\"]")), 502, "Transaction failed")
			.andExpect(header().doesNotExist("Retry-After"))
			.andExpect(jsonPath("$.detail").value(containsString("could not be committed and was rolled back")))
			.andExpect(jsonPath("$.kafkaError").value(KafkaException.class.getName()));
	}

	private static ResultActions problem(ResultActions result, int status, String title) throws Exception {
		return result.andExpect(status().is(status))
			.andExpect(content().contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON))
			.andExpect(jsonPath("$.status").value(status))
			.andExpect(jsonPath("$.title").value(title));
	}

	@TestConfiguration(proxyBeanMethods = false)
	static class MockClients {

		/**
		 * The sample's producers on kafka-clients' {@link MockProducer}, which connects nowhere (the real
		 * client would retry 127.0.0.1:1 and log it all along); every commit of {@code payments} fails as a
		 * broker's refusal would, its rollback works. The tenants keep the real client: its refusal is tested.
		 */
		@Bean
		WaterDropProducerCustomizer mockClients() {
			return (name, builder) -> {
				if (name.startsWith("tenant-")) {
					return;
				}
				builder.clientFactory((settings) -> {
					MockProducer<byte[], byte[]> client = new MockProducer<>(true, null, new ByteArraySerializer(),
							new ByteArraySerializer());
					if (name.equals("payments")) {
						client.commitTransactionException = new KafkaException("commit refused by the test");
					}
					return client;
				});
			};
		}

	}

}
