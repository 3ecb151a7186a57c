package io.waterdrop.autoconfigure;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.boot.Banner;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.MapPropertySource;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.ProducerStatus;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Parent and child applications built with {@link SpringApplicationBuilder#child}, as configuration.md describes
 * them: which context an entry's producer belongs to depends on which environment has the entry.
 */
@Timeout(90)
class ChildApplicationIntegrationTests {

	@Test
	void anEntryOnlyTheChildsEnvironmentHasIsAProducerOfTheChildClosedWithIt() {
		ConfigurableApplicationContext child = child()
			// What the docs advise for a child-only entry: a property source of the child's environment alone.
			.initializers((context) -> context.getEnvironment()
				.getPropertySources()
				.addFirst(new MapPropertySource("child-only", Map.of("waterdrop.producers.audit.max-in-flight", "30"))))
			.run();
		ConfigurableApplicationContext parent = (ConfigurableApplicationContext) child.getParent();
		try {
			Producer orders = parent.getBean("orders", Producer.class);
			Producer audit = child.getBean("audit", Producer.class);
			assertThat(child.getBean("orders")).isSameAs(orders);
			assertThat(child.getBean(WaterDropProducers.class).asMap()).containsOnlyKeys("audit", "orders");
			assertThat(parent.getBean(WaterDropProducers.class).asMap()).containsOnlyKeys("orders");
			audit.produceSync(Message.of("child-application", "from the child"));

			child.close();

			assertThat(audit.status()).isEqualTo(ProducerStatus.CLOSED);
			orders.produceSync(Message.of("child-application", "from the parent, after the child closed"));
		}
		finally {
			child.close();
			parent.close();
		}
	}

	/** Boot hands the child builder's {@code properties(...)} to the parent too: the entry is the parent's. */
	@Test
	void anEntryGivenToTheChildBuildersPropertiesIsAProducerOfTheParent() {
		ConfigurableApplicationContext child = child().properties("waterdrop.producers.audit.max-in-flight=30")
			.run();
		ConfigurableApplicationContext parent = (ConfigurableApplicationContext) child.getParent();
		try {
			assertThat(parent.getBean(WaterDropProducers.class).asMap()).containsOnlyKeys("audit", "orders");
			assertThat(child.getBean("audit")).isSameAs(parent.getBean("audit"));
		}
		finally {
			child.close();
			parent.close();
		}
	}

	/** A child of a parent that defines the producer {@code orders}. */
	private static SpringApplicationBuilder child() {
		SpringApplicationBuilder parent = quiet(new SpringApplicationBuilder(IssueExampleApplication.class))
			.registerShutdownHook(false)
			.properties("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers(),
					"waterdrop.producers.orders.max-in-flight=10");
		return quiet(parent.child(IssueExampleApplication.class));
	}

	private static SpringApplicationBuilder quiet(SpringApplicationBuilder builder) {
		return builder.web(WebApplicationType.NONE).bannerMode(Banner.Mode.OFF).logStartupInfo(false);
	}

}
