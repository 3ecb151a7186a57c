package io.waterdrop.autoconfigure.health;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.CompositeHealthContributor;
import org.springframework.boot.health.contributor.HealthContributor;
import org.springframework.boot.health.contributor.HealthContributors;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import io.waterdrop.InvalidConfigurationException;
import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.TestBroker;
import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropProperties;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Conditions of {@link WaterDropHealthContributorAutoConfiguration} and the composite it defines.
 */
@Timeout(60)
class WaterDropHealthContributorAutoConfigurationTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class, WaterDropLifecycleAutoConfiguration.class,
				WaterDropHealthContributorAutoConfiguration.class))
		.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers(),
				"waterdrop.producers.orders.polling.mode=fd", "waterdrop.producers.legacy.polling.mode=thread");

	@Test
	void definesAnEntryPerProducerUnderWaterdrop() {
		this.runner.run((context) -> {
			assertThat(context).hasBean("waterdropHealthContributor");
			CompositeHealthContributor waterdrop = context.getBean("waterdropHealthContributor",
					CompositeHealthContributor.class);
			assertThat(waterdrop.stream().map(HealthContributors.Entry::name)).containsExactly("orders", "legacy");
			for (String name : new String[] { "orders", "legacy" }) {
				HealthContributor entry = waterdrop.getContributor(name);
				assertThat(entry).isInstanceOf(HealthIndicator.class);
				assertThat(((HealthIndicator) entry).health().getStatus()).as(name).isEqualTo(Status.UP);
			}
			assertThat(waterdrop.getContributor("unknown")).isNull();
		});
	}

	@Test
	void aClosedProducersEntryGoesAway() {
		this.runner.run((context) -> {
			CompositeHealthContributor waterdrop = context.getBean("waterdropHealthContributor",
					CompositeHealthContributor.class);
			context.getBean("legacy", Producer.class).close();
			assertThat(waterdrop.stream().map(HealthContributors.Entry::name)).containsExactly("orders");
			assertThat(waterdrop.getContributor("legacy")).isNull();
		});
	}

	/** A zero window reads as "down at the first failure", yet would never be DOWN: start-up says so. */
	@Test
	void aFailureWindowThatIsNotPositiveFailsStartUp() {
		for (String window : new String[] { "0", "-1s" }) {
			this.runner.withPropertyValues("waterdrop.health.failure-window=" + window).run((context) -> {
				assertThat(context).hasFailed();
				assertThat(context.getStartupFailure()).rootCause()
					.isInstanceOf(InvalidConfigurationException.class)
					.hasMessageStartingWith("waterdrop.health.failure-window: must be positive");
			});
		}
	}

	@Test
	void canBeDisabled() {
		this.runner.withPropertyValues("management.health.waterdrop.enabled=false")
			.run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean("waterdropHealthContributor"));
	}

	@Test
	void followsTheDefaultOfHealthIndicators() {
		this.runner.withPropertyValues("management.health.defaults.enabled=false")
			.run((context) -> assertThat(context).doesNotHaveBean("waterdropHealthContributor"));
		this.runner
			.withPropertyValues("management.health.defaults.enabled=false", "management.health.waterdrop.enabled=true")
			.run((context) -> assertThat(context).hasBean("waterdropHealthContributor"));
	}

	@Test
	void backsOffWithoutSpringBootHealth() {
		this.runner.withClassLoader(new FilteredClassLoader(HealthContributor.class))
			.run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean("waterdropHealthContributor"));
	}

	@Test
	void anApplicationsBeanOfTheSameNameWins() {
		HealthIndicator mine = () -> null;
		this.runner.withBean("waterdropHealthContributor", HealthIndicator.class, () -> mine)
			.run((context) -> assertThat(context.getBean("waterdropHealthContributor")).isSameAs(mine));
	}

	@Test
	void failureWindowIsAProperty() {
		this.runner.withPropertyValues("waterdrop.health.failure-window=5s")
			.run((context) -> assertThat(context.getBean(WaterDropProperties.class).getHealth().getFailureWindow())
				.isEqualTo(Duration.ofSeconds(5)));
		assertThat(new WaterDropProperties().getHealth().getFailureWindow()).isEqualTo(Duration.ofMinutes(1));
	}

}
