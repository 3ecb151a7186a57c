package io.waterdrop.autoconfigure;

import java.util.Map;

import org.springframework.boot.env.OriginTrackedMapPropertySource;
import org.springframework.context.ConfigurableApplicationContext;

/** Property sources named as Spring Boot names those it loads from the application's configuration files. */
final class ConfigFiles {

	private ConfigFiles() {
	}

	/**
	 * Adds a configuration file's properties. A file added earlier takes precedence, as Boot puts a profile's
	 * file before {@code application.yml}.
	 */
	static void add(ConfigurableApplicationContext context, String file, Map<String, Object> properties) {
		context.getEnvironment()
			.getPropertySources()
			.addLast(new OriginTrackedMapPropertySource(
					"Config resource 'class path resource [" + file + "]' via location 'optional:classpath:/'",
					properties));
	}

}
