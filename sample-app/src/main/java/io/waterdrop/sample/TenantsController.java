package io.waterdrop.sample;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.ErrorResponseException;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

import io.waterdrop.DeliveryReport;
import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;

/**
 * A producer per tenant, created at run time from the template {@code waterdrop.templates.tenant} of
 * {@code application.yml} ({@link WaterDropRuntimeProducers}); each tenant's producer is named
 * {@code tenant-<tenant>} and shows up in the meters, the health and {@code /actuator/waterdrop} until it is
 * removed. Bad requests are answered with problem details ({@link ProblemDetails}): 400 for an invalid tenant
 * name or override, 404 for an unknown tenant, 409 for a tenant that exists already.
 *
 * <pre>
 * curl -XPOST localhost:8080/tenants/acme -H 'Content-Type: application/json' -d '{"kafka.linger.ms": 5}'
 * curl -XPOST localhost:8080/tenants/acme/messages -H 'Content-Type: text/plain' -d 'hello'
 * curl localhost:8080/tenants
 * curl -XDELETE localhost:8080/tenants/acme
 * </pre>
 */
@RestController
@RequestMapping("/tenants")
class TenantsController {

	static final String TEMPLATE = "tenant";

	static final String TOPIC = "tenant-events";

	private static final Pattern TENANT = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

	private final WaterDropRuntimeProducers producers;

	TenantsController(WaterDropRuntimeProducers producers) {
		this.producers = producers;
	}

	/** Creates the tenant's producer; the body, if any, overrides settings of the template. */
	@PostMapping("/{tenant}")
	ResponseEntity<Map<String, Object>> create(@PathVariable String tenant,
			@RequestBody(required = false) Map<String, Object> overrides) {
		Producer producer = this.producers.create(producerName(tenant), TEMPLATE,
				(overrides != null) ? overrides : Map.of());
		return ResponseEntity.created(URI.create("/tenants/" + tenant)).body(describe(tenant, producer));
	}

	/** Sends one message, keyed by the tenant, through the tenant's producer and answers its report. */
	@PostMapping("/{tenant}/messages")
	DeliveryReport send(@PathVariable String tenant, @RequestBody String payload) {
		return lookup(tenant).produceSync(Message.builder(TOPIC).key(tenant).payload(payload).label(tenant).build());
	}

	@GetMapping
	List<Map<String, Object>> list() {
		return this.producers.asMap()
			.entrySet()
			.stream()
			.filter((entry) -> entry.getKey().startsWith("tenant-"))
			.map((entry) -> describe(entry.getKey().substring("tenant-".length()), entry.getValue()))
			.toList();
	}

	/** Removes the tenant's producer: closes it after its in-flight messages (its close-timeout). */
	@DeleteMapping("/{tenant}")
	ResponseEntity<Void> remove(@PathVariable String tenant) {
		if (!this.producers.remove(producerName(tenant))) {
			throw unknown(tenant);
		}
		return ResponseEntity.noContent().build();
	}

	private Producer lookup(String tenant) {
		return this.producers.find(producerName(tenant)).orElseThrow(() -> unknown(tenant));
	}

	private UnknownProducerException unknown(String tenant) {
		return new UnknownProducerException(producerName(tenant), this.producers.names());
	}

	private static String producerName(String tenant) {
		if (!TENANT.matcher(tenant).matches()) {
			ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST,
					"A tenant name is 1 to 63 lower-case letters, digits and dashes, starting with a letter or digit; "
							+ "got '" + tenant + "'");
			problem.setTitle("Invalid tenant");
			problem.setProperty("tenant", tenant);
			throw new ErrorResponseException(HttpStatus.BAD_REQUEST, problem, null);
		}
		return "tenant-" + tenant;
	}

	private static Map<String, Object> describe(String tenant, Producer producer) {
		return Map.of("tenant", tenant, "producer", producer.id(), "status", producer.status().name(), "maxInFlight",
				producer.config().maxInFlight());
	}

}
