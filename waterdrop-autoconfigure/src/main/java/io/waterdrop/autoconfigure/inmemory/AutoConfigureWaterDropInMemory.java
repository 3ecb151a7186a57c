package io.waterdrop.autoconfigure.inmemory;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.test.context.PropertyMapping;

/**
 * Annotation for a test class whose WaterDrop producers store their messages in the context's
 * {@link io.waterdrop.testing.InMemoryKafka} bean instead of sending them to Kafka: no broker needed, and
 * the bean tells what was produced. It sets {@code waterdrop.in-memory=true} for the test context only, and
 * imports the auto-configurations involved, so it works in test slices too.
 *
 * <pre class="code">
 * &#064;SpringBootTest
 * &#064;AutoConfigureWaterDropInMemory
 * class CheckoutTests {
 *
 *     &#064;Autowired InMemoryKafka kafka;
 *     ...
 * }
 * </pre>
 *
 * @see WaterDropInMemoryAutoConfiguration
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ImportAutoConfiguration
public @interface AutoConfigureWaterDropInMemory {

	/**
	 * Whether the producers store their messages in memory.
	 * @return {@code false} to send to Kafka after all
	 */
	@PropertyMapping("waterdrop.in-memory")
	boolean enabled() default true;

}
