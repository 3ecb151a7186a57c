package io.waterdrop.autoconfigure;

import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.CompositeHealthContributor;
import org.springframework.boot.health.contributor.HealthContributors;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import io.waterdrop.Producer;
import io.waterdrop.TransactionalPool;
import io.waterdrop.autoconfigure.endpoint.WaterDropEndpoint;
import io.waterdrop.autoconfigure.endpoint.WaterDropEndpointAutoConfiguration;
import io.waterdrop.autoconfigure.health.WaterDropHealthContributorAutoConfiguration;
import io.waterdrop.autoconfigure.inmemory.WaterDropInMemoryAutoConfiguration;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;
import io.waterdrop.autoconfigure.metrics.WaterDropMetricsAutoConfiguration;
import io.waterdrop.instrumentation.micrometer.TransactionalPoolMetrics;
import io.waterdrop.instrumentation.micrometer.WaterDropMetrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.mockingDetails;
import static org.mockito.Mockito.spy;

/**
 * A producer bean that is a Mockito mock (what {@code @MockitoBean} puts in a producer's place) is the test's:
 * the context starts and closes, the lookup holds the mock, and the lifecycle, health, meters and endpoint
 * serve the real producers and leave the mock alone (it has no monitor, id or configuration to read).
 */
@ExtendWith(OutputCaptureExtension.class)
@Timeout(120)
class MockedProducerBeanTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, MetricsAutoConfiguration.class,
				CompositeMeterRegistryAutoConfiguration.class, SimpleMetricsExportAutoConfiguration.class,
				WaterDropAutoConfiguration.class, WaterDropInMemoryAutoConfiguration.class,
				WaterDropLifecycleAutoConfiguration.class, WaterDropMetricsAutoConfiguration.class,
				WaterDropHealthContributorAutoConfiguration.class, WaterDropEndpointAutoConfiguration.class))
		.withPropertyValues("waterdrop.in-memory=true", "waterdrop.producers.audit.max-in-flight=10",
				"management.endpoints.web.exposure.include=waterdrop");

	@Test
	void aMockedProducerIsLeftToTheTestAndTheOthersAreServed(CapturedOutput output) {
		Producer mocked = mock(Producer.class);
		this.runner.withBean("orders", Producer.class, () -> mocked).run((context) -> {
			assertThat(context).hasNotFailed();
			assertThat(context.getBean(WaterDropProducers.class).asMap()).containsOnlyKeys("audit", "orders")
				.containsEntry("orders", mocked);
			CompositeHealthContributor health = context.getBean("waterdropHealthContributor",
					CompositeHealthContributor.class);
			assertThat(health.stream().map(HealthContributors.Entry::name)).containsExactly("audit");
			assertThat(context.getBean(WaterDropEndpoint.class).waterdrop().producers()).containsOnlyKeys("audit");
			context.getBean(WaterDropMetrics.class).bindTo(context.getBean(MeterRegistry.class));
			assertThat(context.getBean(MeterRegistry.class).find("waterdrop.messages.acknowledged").meters())
				.extracting((meter) -> meter.getId().getTag("producer"))
				.containsOnly("audit");

			// Told a mock by its fields, not by calling it: a test's verifyNoInteractions holds.
			assertThat(mockingDetails(mocked).getInvocations()).isEmpty();
			context.close();
			// Closed by Spring as any AutoCloseable bean it defines, with nothing to close (not a @MockitoBean's).
			assertThat(mockingDetails(mocked).getInvocations()).extracting((call) -> call.getMethod().getName())
				.containsOnly("close");
		});
		assertThat(output).doesNotContain("Exception");
	}

	@Test
	void aMockedTransactionalPoolIsLeftToTheTest() {
		TransactionalPool mocked = mock(TransactionalPool.class);
		this.runner.withBean("payments", TransactionalPool.class, () -> mocked).run((context) -> {
			assertThat(context).hasNotFailed();
			context.getBean(TransactionalPoolMetrics.class).bindTo(context.getBean(MeterRegistry.class));
			assertThat(mockingDetails(mocked).getInvocations()).isEmpty();
		});
	}

	@Test
	void aSpiedProducerFailsStartUpSayingWhatToDoInstead() {
		this.runner.withBean(SpyingPostProcessor.class).run((context) -> assertThat(context).getFailure()
			.rootCause()
			.isInstanceOf(IllegalStateException.class)
			.hasMessageContaining("Producer bean 'audit' is a Mockito spy")
			.hasMessageContaining("@MockitoBean"));
	}

	/** What @MockitoSpyBean does: the bean replaced by a spy of it once made. */
	static class SpyingPostProcessor implements BeanPostProcessor {

		@Override
		public Object postProcessAfterInitialization(Object bean, String beanName) {
			return (bean instanceof Producer && beanName.equals("audit")) ? spy(bean) : bean;
		}

	}

}
