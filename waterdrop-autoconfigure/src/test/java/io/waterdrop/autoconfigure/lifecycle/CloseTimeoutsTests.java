package io.waterdrop.autoconfigure.lifecycle;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.waterdrop.autoconfigure.WaterDropProperties;
import io.waterdrop.autoconfigure.WaterDropProperties.ProducerProperties;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link CloseTimeouts}: a producer entry's own, its pool members' (its), else the top-level one. */
class CloseTimeoutsTests {

	@Test
	void poolMembersTakeTheirEntrysCloseTimeout() {
		WaterDropProperties properties = new WaterDropProperties();
		properties.setCloseTimeout(Duration.ofSeconds(20));
		ProducerProperties payments = new ProducerProperties();
		payments.setPoolSize(2);
		payments.setCloseTimeout(Duration.ofSeconds(7));
		properties.getProducers().put("payments", payments);
		ProducerProperties orders = new ProducerProperties();
		orders.setCloseTimeout(Duration.ofSeconds(3));
		properties.getProducers().put("orders", orders);
		CloseTimeouts timeouts = new CloseTimeouts(properties);

		assertThat(timeouts.of("payments-0")).isEqualTo(Duration.ofSeconds(7));
		assertThat(timeouts.of("payments-1")).isEqualTo(Duration.ofSeconds(7));
		assertThat(timeouts.propertyOf("payments-1")).isEqualTo("waterdrop.producers.payments.close-timeout");
		assertThat(timeouts.of("payments-2")).isEqualTo(Duration.ofSeconds(20)); // not a member
		assertThat(timeouts.of("payments-99999999999")).isEqualTo(Duration.ofSeconds(20));
		assertThat(timeouts.of("orders")).isEqualTo(Duration.ofSeconds(3));
		assertThat(timeouts.of("waterdropProducer")).isEqualTo(Duration.ofSeconds(20));
	}

	/** A name with a dot is one entry only in brackets: waterdrop.producers.tenant.eu would be the entry tenant. */
	@Test
	void anEntryWithADotIsNamedInBrackets() {
		WaterDropProperties properties = new WaterDropProperties();
		ProducerProperties tenant = new ProducerProperties();
		tenant.setCloseTimeout(Duration.ofSeconds(3));
		properties.getProducers().put("tenant.eu", tenant);
		properties.getTemplates().put("per.tenant", tenant);
		CloseTimeouts timeouts = new CloseTimeouts(properties);

		assertThat(timeouts.propertyOf("tenant.eu")).isEqualTo("waterdrop.producers[tenant.eu].close-timeout");
		assertThat(timeouts.ofTemplates()).containsOnlyKeys("waterdrop.templates[per.tenant].close-timeout");
	}

}
