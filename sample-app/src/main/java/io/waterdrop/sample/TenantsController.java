package io.waterdrop.sample;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.core.env.Environment;
import org.springframework.http.HttpHeaders;
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
import io.waterdrop.ProducerNameInUseException;
import io.waterdrop.autoconfigure.WaterDropRuntimeProducers;

/**
 * A producer per tenant, created at run time from the template {@code waterdrop.templates.tenant} of
 * {@code application.yml} ({@link WaterDropRuntimeProducers}); each tenant's producer is named
 * {@code tenant-<tenant>} and shows up in the meters, the health and {@code /actuator/waterdrop} until it is
 * removed. A caller may override only the settings of {@link #OVERRIDES}, and there are at most
 * {@code sample.tenants.max} tenants. Bad requests are answered with problem details ({@link ProblemDetails}):
 * 400 for an invalid tenant name, an override not allowed or an invalid one, 404 for an unknown tenant, 409 for
 * a tenant that exists already or one too many, 503 for a create while the application shuts down.
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

	/**
	 * The settings a caller may override: the tuning of its own producer. The body comes from anyone who can
	 * reach the endpoint, so every other setting stays the operator's: Kafka settings such as
	 * {@code bootstrap.servers}, {@code interceptor.classes}, {@code metric.reporters}, {@code sasl.jaas.config}
	 * or {@code ssl.keystore.location} would have the application connect to any host, load any class or read
	 * its files and credentials. ({@code polling.mode: thread} gives a tenant a thread of its own: the limit on
	 * tenants bounds those.)
	 */
	static final Set<String> OVERRIDES = Set.of("max-in-flight", "polling.mode", "kafka.linger.ms",
			"kafka.batch.size", "kafka.compression.type", "kafka.acks");

	private static final Pattern TENANT = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

	private static final String MAX_TENANTS = "sample.tenants.max";

	private final WaterDropRuntimeProducers producers;

	private final int maxTenants;

	private final ReentrantLock creating = new ReentrantLock();

	/**
	 * Binds {@code sample.tenants.max} as Boot binds configuration properties, so that a value that is no
	 * number, or is below 1 (which would refuse every tenant), fails start-up with Boot's analysis of it.
	 */
	TenantsController(WaterDropRuntimeProducers producers, Environment environment) {
		this.producers = producers;
		this.maxTenants = Binder.get(environment).bind(MAX_TENANTS, Integer.class).orElse(100);
		if (this.maxTenants < 1) {
			throw new InvalidConfigurationPropertyValueException(MAX_TENANTS, this.maxTenants,
					"It must be at least 1: below that, every tenant would be refused.");
		}
	}

	/**
	 * Creates the tenant's producer; the body, if any, overrides settings of the template. Counted and created
	 * under a lock, so that concurrent requests cannot pass the limit together ({@code create} does not wait
	 * for Kafka).
	 */
	@PostMapping("/{tenant}")
	ResponseEntity<Map<String, Object>> create(@PathVariable String tenant,
			@RequestBody(required = false) Map<String, Object> overrides) {
		String name = producerName(tenant);
		Map<String, Object> allowed = allowed((overrides != null) ? overrides : Map.of());
		Producer producer;
		this.creating.lock();
		try {
			checkRoomFor(tenant);
			producer = this.producers.create(name, TEMPLATE, allowed);
		}
		catch (ProducerNameInUseException ex) { // an IllegalStateException too: a 409 by ProblemDetails
			throw ex;
		}
		catch (IllegalStateException ex) { // create's other one: the application context is closing
			throw closing(ex);
		}
		finally {
			this.creating.unlock();
		}
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

	/**
	 * The overrides, if every key is one of {@link #OVERRIDES} and every value a single one; else a 400 naming
	 * the first key refused. A list or an object is refused here because the binder would take a list's first
	 * element for {@code max-in-flight} and silently ignore one for a Kafka setting.
	 */
	private static Map<String, Object> allowed(Map<String, Object> overrides) {
		TreeSet<String> refused = new TreeSet<>(overrides.keySet());
		refused.removeAll(OVERRIDES);
		if (!refused.isEmpty()) {
			ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, "A tenant may not "
					+ "override '" + refused.first() + "' (refused: " + refused + "); allowed: "
					+ new TreeSet<>(OVERRIDES));
			problem.setTitle("Override not allowed");
			// Named as the library names an invalid override (InvalidConfigurationException.property()).
			problem.setProperty("property", "overrides." + refused.first());
			problem.setProperty("allowed", new TreeSet<>(OVERRIDES));
			throw new ErrorResponseException(HttpStatus.BAD_REQUEST, problem, null);
		}
		new TreeMap<>(overrides).forEach((key, value) -> {
			if (value != null && !(value instanceof String || value instanceof Number || value instanceof Boolean)) {
				ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, "overrides." + key
						+ ": takes a single value (text, a number or a boolean), not " + ((value instanceof List<?>)
								? "a list" : "an object"));
				problem.setTitle("Invalid producer settings");
				problem.setProperty("property", "overrides." + key);
				throw new ErrorResponseException(HttpStatus.BAD_REQUEST, problem, null);
			}
		});
		return overrides;
	}

	/** A 409 once there are {@code sample.tenants.max} tenants: each holds a producer (and a Kafka client). */
	private void checkRoomFor(String tenant) {
		long tenants = this.producers.names().stream().filter((name) -> name.startsWith("tenant-")).count();
		if (tenants >= this.maxTenants && this.producers.find(producerName(tenant)).isEmpty()) {
			ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.CONFLICT, "There are " + tenants
					+ " tenants already, the most this application allows (sample.tenants.max); remove one first");
			problem.setTitle("Too many tenants");
			problem.setProperty("max", this.maxTenants);
			throw new ErrorResponseException(HttpStatus.CONFLICT, problem, null);
		}
	}

	/** A 503 to retry on another instance: this one is shutting down and creates no producer. */
	private static ErrorResponseException closing(IllegalStateException ex) {
		ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.SERVICE_UNAVAILABLE, ex.getMessage());
		problem.setTitle("Shutting down");
		ErrorResponseException closing = new ErrorResponseException(HttpStatus.SERVICE_UNAVAILABLE, problem, ex);
		closing.getHeaders().set(HttpHeaders.RETRY_AFTER, "1");
		return closing;
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
