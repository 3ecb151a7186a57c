package io.waterdrop.autoconfigure;

import java.util.LinkedHashMap;
import java.util.Map;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.util.ClassUtils;

import io.waterdrop.Producer;

/**
 * The {@link Producer} beans the starter manages in a context (connects, closes, meters, health-checks,
 * describes): every one but a test double. A mock in a producer bean's place (Mockito's {@code @MockitoBean},
 * which a test uses to stub a producer as it would a {@code KafkaTemplate}) has none of a producer's state, no
 * monitor, id or configuration, so it is the test's alone, and its transaction manager begins no Kafka
 * transaction. Mockito is asked, not the mock, so that the test sees no call on it. A spy
 * ({@code @MockitoSpyBean}) is not supported, and refused at start-up: a producer hands itself to its parts
 * when it is made, and a spy is a copy they do not know.
 */
public final class ProducerBeans {

	private static final boolean MOCKITO_PRESENT = ClassUtils.isPresent("org.mockito.Mockito",
			ProducerBeans.class.getClassLoader());

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

	/** Whether the starter manages {@code producer}: it is not a mock. */
	public static boolean isManaged(Producer producer) {
		if (isMockitoMock(producer)) {
			return false;
		}
		return producer.monitor() != null; // a real producer's is final and never null; another library's mock's is
	}

	/**
	 * Whether {@code bean} is a Mockito mock or spy, asked of Mockito rather than of the bean: a call on a mock
	 * is an interaction, which a test's {@code verifyNoInteractions} would then find.
	 */
	public static boolean isMockitoMock(Object bean) {
		return MOCKITO_PRESENT && MockitoDetails.isMock(bean);
	}

	/** Whether {@code bean} is a Mockito spy, which the starter cannot manage (see the class's description). */
	public static boolean isMockitoSpy(Object bean) {
		return MOCKITO_PRESENT && MockitoDetails.isSpy(bean);
	}

	/** Touches Mockito's classes only when they are present. */
	private static final class MockitoDetails {

		static boolean isMock(Object bean) {
			return org.mockito.Mockito.mockingDetails(bean).isMock();
		}

		static boolean isSpy(Object bean) {
			return org.mockito.Mockito.mockingDetails(bean).isSpy();
		}

	}

}
