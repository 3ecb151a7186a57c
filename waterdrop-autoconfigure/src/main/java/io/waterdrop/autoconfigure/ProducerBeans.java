package io.waterdrop.autoconfigure;

import java.util.LinkedHashMap;
import java.util.Map;

import org.springframework.beans.factory.ListableBeanFactory;

import io.waterdrop.Producer;

/**
 * The {@link Producer} beans the starter manages in a context (connects, closes, meters, health-checks,
 * describes): every one but a test double. A mock in a producer bean's place (Mockito's {@code @MockitoBean},
 * which a test uses to stub a producer as it would a {@code KafkaTemplate}) has none of a producer's state, no
 * monitor, id or configuration, so it is the test's alone, and its transaction manager begins no Kafka
 * transaction. The mock is told by its fields, not asked, so that the test sees no call on it. A spy
 * ({@code @MockitoSpyBean}) is not supported, and refused at start-up: a producer hands itself to its parts
 * when it is made, and a spy is a copy they do not know.
 */
public final class ProducerBeans {

	private ProducerBeans() {
	}

	/**
	 * The managed producer beans of {@code beanFactory} (not of its ancestors), by bean name, in definition order.
	 * @param allowEagerInit as {@link ListableBeanFactory#getBeansOfType(Class, boolean, boolean)}'s
	 */
	public static Map<String, Producer> of(ListableBeanFactory beanFactory, boolean allowEagerInit) {
		Map<String, Producer> managed = new LinkedHashMap<>();
		beanFactory.getBeansOfType(Producer.class, false, allowEagerInit).forEach((name, producer) -> {
			if (isManaged(producer)) {
				managed.put(name, producer);
			}
		});
		return managed;
	}

	/** Whether the starter manages {@code producer}: it is a real one, not a test's mock or spy. */
	public static boolean isManaged(Producer producer) {
		return Producer.isReal(producer);
	}

}
