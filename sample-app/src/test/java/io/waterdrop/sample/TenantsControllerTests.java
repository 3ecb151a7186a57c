package io.waterdrop.sample;

import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.http.MediaType;
import org.springframework.mock.env.MockEnvironment;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.ResultActions;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;
import org.springframework.web.context.WebApplicationContext;

import io.waterdrop.Producer;
import io.waterdrop.ProducerStatus;
import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;
import io.waterdrop.autoconfigure.inmemory.AutoConfigureWaterDropInMemory;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasItem;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.delete;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/**
 * The sample's tenant endpoint: a runtime producer per tenant from the template {@code tenant}, with the
 * overrides a caller may give and up to {@code sample.tenants.max} tenants (2 here), and problem details for
 * what cannot be done. Messages are stored in memory: no broker.
 */
@SpringBootTest(classes = SampleApplication.class,
		properties = { "spring.kafka.bootstrap-servers=127.0.0.1:1", "sample.tenants.max=2" })
@AutoConfigureWaterDropInMemory
@Timeout(60)
class TenantsControllerTests {

	@Autowired
	private WebApplicationContext context;

	@Autowired
	private WaterDropRuntimeProducers producers;

	@Autowired
	private InMemoryKafka kafka;

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
	void aTenantLimitThatIsNoNumberOrBelowOneFailsStartUpNamingIt() {
		assertThatExceptionOfType(InvalidConfigurationPropertyValueException.class)
			.isThrownBy(() -> new TenantsController(this.producers,
					new MockEnvironment().withProperty("sample.tenants.max", "0")))
			.withMessageContaining("sample.tenants.max with value '0'")
			.withMessageContaining("at least 1");
		assertThatExceptionOfType(BindException.class)
			.isThrownBy(() -> new TenantsController(this.producers,
					new MockEnvironment().withProperty("sample.tenants.max", "many")))
			.satisfies((ex) -> assertThat(ex.getProperty().getName()).hasToString("sample.tenants.max"));
	}

	@Test
	void aTenantGetsAProducerOfItsOwnFromTheTemplateWithItsOverrides() throws Exception {
		this.mvc.perform(post("/tenants/acme").contentType(MediaType.APPLICATION_JSON).content("{\"max-in-flight\": 50}"))
			.andExpect(status().isCreated())
			.andExpect(header().string("Location", "/tenants/acme"))
			.andExpect(jsonPath("$.producer").value("tenant-acme"))
			.andExpect(jsonPath("$.maxInFlight").value(50));
		Producer acme = this.producers.get("tenant-acme");
		assertThat(acme.config().kafka()).containsEntry("linger.ms", "10"); // from the template
		assertThat(acme.config().idleDisconnectTimeout()).hasMinutes(1);

		this.mvc.perform(post("/tenants/acme/messages").contentType(MediaType.TEXT_PLAIN).content("hello"))
			.andExpect(status().isOk())
			.andExpect(jsonPath("$.topic").value(TenantsController.TOPIC))
			.andExpect(jsonPath("$.label").value("acme"));
		assertThat(this.kafka.payloads(TenantsController.TOPIC)).containsExactly("hello");
		this.mvc.perform(post("/tenants/globex")).andExpect(status().isCreated());
		this.mvc.perform(get("/tenants"))
			.andExpect(status().isOk())
			.andExpect(jsonPath("$.length()").value(2))
			.andExpect(jsonPath("$[0].tenant").value("acme"))
			.andExpect(jsonPath("$[0].status").value("CONNECTED"))
			.andExpect(jsonPath("$[1].status").value("CONFIGURED"));

		this.mvc.perform(delete("/tenants/acme")).andExpect(status().isNoContent());
		assertThat(acme.status()).isEqualTo(ProducerStatus.CLOSED);
		assertThat(this.producers.names()).containsExactly("tenant-globex");
	}

	@Test
	void anExistingTenantIsAConflict() throws Exception {
		this.mvc.perform(post("/tenants/acme")).andExpect(status().isCreated());
		problem(this.mvc.perform(post("/tenants/acme")), 409, "Producer exists")
			.andExpect(jsonPath("$.producer").value("tenant-acme"));
	}

	@Test
	void anUnknownOrInvalidOverrideIsABadRequestNamingIt() throws Exception {
		problem(this.mvc.perform(post("/tenants/acme").contentType(MediaType.APPLICATION_JSON)
			.content("{\"max-in-fligth\": 50}")), 400, "Override not allowed")
			.andExpect(jsonPath("$.property").value("overrides.max-in-fligth"));
		problem(this.mvc.perform(post("/tenants/acme").contentType(MediaType.APPLICATION_JSON)
			.content("{\"max-in-flight\": 0}")), 400, "Invalid producer settings")
			.andExpect(jsonPath("$.property").value("overrides.max-in-flight"))
			.andExpect(jsonPath("$.detail").value(org.hamcrest.Matchers.containsString("must be at least 1")));
		problem(this.mvc.perform(post("/tenants/acme").contentType(MediaType.APPLICATION_JSON)
			.content("{\"polling.mode\": \"select\"}")), 400, "Invalid producer settings")
			.andExpect(jsonPath("$.property").value("overrides.polling.mode"));
		// A list would be bound as its first element, or ignored for a Kafka setting, rather than refused.
		problem(this.mvc.perform(post("/tenants/acme").contentType(MediaType.APPLICATION_JSON)
			.content("{\"kafka.acks\": [\"all\"]}")), 400, "Invalid producer settings")
			.andExpect(jsonPath("$.property").value("overrides.kafka.acks"))
			.andExpect(jsonPath("$.detail").value(containsString("not a list")));
		problem(this.mvc.perform(post("/tenants/acme").contentType(MediaType.APPLICATION_JSON)
			.content("{\"max-in-flight\": [1, 2]}")), 400, "Invalid producer settings")
			.andExpect(jsonPath("$.property").value("overrides.max-in-flight"));
		assertThat(this.producers.names()).isEmpty();
	}

	@Test
	void anOverrideOutsideTheAllowedOnesIsRefusedNamingItAndTheAllowedOnes() throws Exception {
		for (String key : List.of("kafka.bootstrap.servers", "kafka.interceptor.classes", "kafka.metric.reporters",
				"kafka.sasl.jaas.config", "kafka.ssl.keystore.location", "idle-disconnect-timeout")) {
			problem(this.mvc.perform(post("/tenants/acme").contentType(MediaType.APPLICATION_JSON)
				.content("{\"kafka.linger.ms\": 5, \"" + key + "\": \"evil.example:9092\"}")), 400,
					"Override not allowed")
				.andExpect(jsonPath("$.property").value("overrides." + key))
				.andExpect(jsonPath("$.detail").value(containsString("'" + key + "'")))
				.andExpect(jsonPath("$.allowed.length()").value(TenantsController.OVERRIDES.size()))
				.andExpect(jsonPath("$.allowed").value(hasItem("kafka.linger.ms")));
		}
		// The same Kafka setting nested: refused by its top-level key, before it is bound.
		problem(this.mvc.perform(post("/tenants/acme").contentType(MediaType.APPLICATION_JSON)
			.content("{\"kafka\": {\"bootstrap.servers\": \"evil.example:9092\"}}")), 400, "Override not allowed")
			.andExpect(jsonPath("$.property").value("overrides.kafka"));
		assertThat(this.producers.names()).isEmpty();

		// Every allowed key, as the README's curl gives them.
		this.mvc.perform(post("/tenants/acme").contentType(MediaType.APPLICATION_JSON)
			.content("{\"kafka.linger.ms\": 5, \"kafka.batch.size\": 32768, \"kafka.compression.type\": \"lz4\", "
					+ "\"kafka.acks\": \"1\", \"max-in-flight\": 50, \"polling.mode\": \"thread\"}"))
			.andExpect(status().isCreated());
		assertThat(this.producers.get("tenant-acme").config().kafka()).containsEntry("linger.ms", "5")
			.containsEntry("compression.type", "lz4");
	}

	@Test
	void aBatchSizeAboveBufferMemoryIsABadRequestNamingTheLimit() throws Exception {
		// Kafka would take it, then refuse every send: a batch is allocated out of buffer.memory (its default here).
		problem(this.mvc.perform(post("/tenants/acme").contentType(MediaType.APPLICATION_JSON)
			.content("{\"kafka.batch.size\": 100000000}")), 400, "Invalid producer settings")
			.andExpect(jsonPath("$.property").value("overrides.kafka.batch.size"))
			.andExpect(jsonPath("$.detail").value(containsString("above buffer.memory (33554432 bytes")))
			.andExpect(jsonPath("$.action").value("Lower batch.size, or raise buffer.memory above it."));
		assertThat(this.producers.names()).isEmpty();

		this.mvc.perform(post("/tenants/acme").contentType(MediaType.APPLICATION_JSON)
			.content("{\"kafka.batch.size\": \"33554432\"}"))
			.andExpect(status().isCreated());
	}

	@Test
	void tenantsBeyondSampleTenantsMaxAreAConflictUntilOneIsRemoved() throws Exception {
		this.mvc.perform(post("/tenants/acme")).andExpect(status().isCreated());
		this.mvc.perform(post("/tenants/globex")).andExpect(status().isCreated());
		problem(this.mvc.perform(post("/tenants/initech")), 409, "Too many tenants")
			.andExpect(jsonPath("$.max").value(2));
		problem(this.mvc.perform(post("/tenants/acme")), 409, "Producer exists"); // not "too many": it exists
		assertThat(this.producers.names()).containsExactly("tenant-acme", "tenant-globex");

		this.mvc.perform(delete("/tenants/acme")).andExpect(status().isNoContent());
		this.mvc.perform(post("/tenants/initech")).andExpect(status().isCreated());
	}

	@Test
	void anInvalidTenantNameIsABadRequest() throws Exception {
		problem(this.mvc.perform(post("/tenants/Not_Valid")), 400, "Invalid tenant")
			.andExpect(jsonPath("$.tenant").value("Not_Valid"));
	}

	@Test
	void anUnknownTenantIsNotFound() throws Exception {
		problem(this.mvc.perform(post("/tenants/nobody/messages").contentType(MediaType.TEXT_PLAIN).content("x")), 404,
				"Unknown producer")
			.andExpect(jsonPath("$.producer").value("tenant-nobody"));
		problem(this.mvc.perform(delete("/tenants/nobody")), 404, "Unknown producer");
	}

	@Test
	@DirtiesContext
	void aCreateWhileTheApplicationShutsDownIsUnavailable() throws Exception {
		this.producers.closeAsync().join(); // what the context's close does first

		problem(this.mvc.perform(post("/tenants/late")), 503, "Shutting down")
			.andExpect(header().string("Retry-After", "1"))
			.andExpect(jsonPath("$.detail").value(containsString("the application context is closing")));
		assertThat(this.producers.names()).isEmpty();
	}

	private static ResultActions problem(ResultActions result, int status, String title) throws Exception {
		return result.andExpect(status().is(status))
			.andExpect(content().contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON))
			.andExpect(jsonPath("$.status").value(status))
			.andExpect(jsonPath("$.title").value(title));
	}

}
