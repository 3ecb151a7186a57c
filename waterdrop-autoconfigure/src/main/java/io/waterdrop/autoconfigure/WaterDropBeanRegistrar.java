package io.waterdrop.autoconfigure;

import java.util.HashMap;
import java.util.Map;

import org.springframework.beans.factory.support.AbstractBeanDefinition;
import org.springframework.beans.factory.support.BeanDefinitionRegistry;
import org.springframework.beans.factory.support.RootBeanDefinition;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.EnvironmentAware;
import org.springframework.context.annotation.ImportBeanDefinitionRegistrar;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotationMetadata;
import org.springframework.util.StringUtils;

import io.waterdrop.InvalidConfigurationException;
import io.waterdrop.Producer;
import io.waterdrop.autoconfigure.WaterDropProperties.PollerProperties;
import io.waterdrop.autoconfigure.WaterDropProperties.ProducerProperties;
import io.waterdrop.polling.Poller;

/**
 * Registers a {@link Poller} bean {@code <name>Poller} per {@code waterdrop.pollers} entry and a
 * {@link Producer} bean {@code <name>} per {@code waterdrop.producers} entry, both made by the
 * {@link ProducerAssembler}. The names are read from the environment when the bean definitions are loaded,
 * so they are fixed at build time under AOT. A bean the application defines with the same name wins.
 */
class WaterDropBeanRegistrar implements ImportBeanDefinitionRegistrar, EnvironmentAware {

	private Environment environment;

	@Override
	public void setEnvironment(Environment environment) {
		this.environment = environment;
	}

	@Override
	public void registerBeanDefinitions(AnnotationMetadata metadata, BeanDefinitionRegistry registry) {
		Binder binder = EmptyEntryConverter.binder(this.environment);
		Map<String, PollerProperties> pollers = binder
			.bind("waterdrop.pollers", Bindable.mapOf(String.class, PollerProperties.class))
			.orElse(Map.of());
		Map<String, ProducerProperties> producers = binder
			.bind("waterdrop.producers", Bindable.mapOf(String.class, ProducerProperties.class))
			.orElse(Map.of());
		Map<String, String> claimed = new HashMap<>(WaterDropAutoConfiguration.FIXED_BEAN_NAMES);
		for (String name : pollers.keySet()) {
			String path = "waterdrop.pollers." + name;
			requireName(name, "waterdrop.pollers", "critical");
			claim(claimed, ProducerAssembler.pollerBeanName(name), path);
			register(registry, ProducerAssembler.pollerBeanName(name), Poller.class, "poller", name);
		}
		for (String name : producers.keySet()) {
			requireName(name, "waterdrop.producers", "orders");
			claim(claimed, name, "waterdrop.producers." + name);
			register(registry, name, Producer.class, "producer", name);
		}
	}

	private static void requireName(String name, String path, String example) {
		if (!StringUtils.hasText(name)) {
			throw new InvalidConfigurationException(path, "an entry has an empty name",
					"Give every entry a name, e.g. " + path + "." + example + ".");
		}
	}

	/** Bean names must not collide, e.g. a Poller named 'waterdrop' with the global Poller. */
	private static void claim(Map<String, String> claimed, String beanName, String path) {
		String owner = claimed.putIfAbsent(beanName, path);
		if (owner != null) {
			throw new InvalidConfigurationException(path,
					"its bean name '" + beanName + "' is already taken by " + owner,
					"Rename " + path + " so that its bean name differs.");
		}
	}

	private static void register(BeanDefinitionRegistry registry, String beanName, Class<?> type,
			String factoryMethod, String name) {
		if (registry.containsBeanDefinition(beanName)) {
			return;
		}
		RootBeanDefinition definition = new RootBeanDefinition();
		definition.setTargetType(type);
		definition.setFactoryBeanName(WaterDropAutoConfiguration.ASSEMBLER_BEAN_NAME);
		definition.setFactoryMethodName(factoryMethod);
		definition.getConstructorArgumentValues().addIndexedArgumentValue(0, name);
		// Producer is AutoCloseable: closing on destroy covers a context that fails after start.
		definition.setDestroyMethodName(AbstractBeanDefinition.INFER_METHOD);
		registry.registerBeanDefinition(beanName, definition);
	}

}
