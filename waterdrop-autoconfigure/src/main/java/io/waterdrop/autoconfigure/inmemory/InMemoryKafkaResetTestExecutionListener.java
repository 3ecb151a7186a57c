package io.waterdrop.autoconfigure.inmemory;

import org.springframework.context.ApplicationContext;
import org.springframework.core.Ordered;
import org.springframework.test.context.TestContext;
import org.springframework.test.context.support.AbstractTestExecutionListener;

import io.waterdrop.testing.InMemoryKafka;

/**
 * Clears the context's {@link InMemoryKafka} before each test method, as Boot resets {@code @MockitoBean}
 * mocks: test classes and methods that share a cached context each start with no stored message, offset or
 * consumed offset, so {@code payloads("orders")} holds what this test produced, whichever ran before. What a
 * test produces in {@code @BeforeEach} is kept (that runs after this); what it produced before its first
 * method (in {@code @BeforeAll}, say) is not. Registered in {@code META-INF/spring.factories}; loaded only
 * by Spring's test framework. A context not loaded yet has nothing to clear and is not loaded for it.
 */
public final class InMemoryKafkaResetTestExecutionListener extends AbstractTestExecutionListener {

	/** Just before Boot's mock reset ({@code LOWEST_PRECEDENCE - 100}), after dependency injection. */
	@Override
	public int getOrder() {
		return Ordered.LOWEST_PRECEDENCE - 200;
	}

	@Override
	public void beforeTestMethod(TestContext testContext) {
		if (testContext.hasApplicationContext()) {
			ApplicationContext context = testContext.getApplicationContext();
			context.getBeansOfType(InMemoryKafka.class, false, false).values().forEach(InMemoryKafka::clear);
		}
	}

}
