package io.waterdrop.autoconfigure;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Collectors;

import org.apache.kafka.clients.producer.ProducerConfig;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.bind.AbstractBindHandler;
import org.springframework.boot.context.properties.bind.BindContext;
import org.springframework.boot.context.properties.bind.BindHandler;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName.Form;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;

import io.waterdrop.autoconfigure.WaterDropProperties.ProducerProperties;

/**
 * Joins a Kafka setting's list written indexed ({@code kafka.bootstrap.servers[0]}) or as a YAML list, which
 * Boot binds into a {@code kafka} map as keys {@code bootstrap.servers.0}, {@code bootstrap.servers.1}: Kafka
 * would ignore those keys, so the setting would silently keep a lower layer's value. Kafka takes a list as one
 * comma-separated value. Keys that are no Kafka setting are left as bound (an interceptor or serializer may
 * read any key).
 * <p>
 * The whole list comes from the source of highest precedence writing the setting, as Boot binds a list: Boot
 * binds each key of a map from the first source holding it, so a profile's shorter list would otherwise keep the
 * remaining elements of {@code application.yml}'s. A bind handler, as {@link WaterDropProperties} or an entry is
 * bound, because that takes the binding's sources and the names it found (an entry's, as written).
 */
final class KafkaSettingLists extends AbstractBindHandler {

	private static final Set<String> SETTINGS = ProducerConfig.configNames();

	KafkaSettingLists(BindHandler parent) {
		super(parent);
	}

	@Override
	public @Nullable Object onSuccess(ConfigurationPropertyName name, Bindable<?> target, BindContext context,
			Object result) {
		Object bound = super.onSuccess(name, target, context, result);
		if (bound instanceof WaterDropProperties properties) {
			join(properties.getKafka(), name.append("kafka"), context.getSources());
		}
		else if (bound instanceof ProducerProperties entry) {
			join(entry.getKafka(), name.append("kafka"), context.getSources());
		}
		return bound;
	}

	/**
	 * Replaces the indexed keys of each Kafka setting in the map bound at {@code map} with the setting: the
	 * elements of the first source writing it, joined in index order, or else that source's plain value, which
	 * the map holds already (Boot binds a list likewise, from one source, its plain value or its elements).
	 */
	private static void join(Map<String, String> kafka, ConfigurationPropertyName map,
			Iterable<ConfigurationPropertySource> sources) {
		Map<String, SortedMap<Integer, String>> lists = new LinkedHashMap<>();
		for (Iterator<Map.Entry<String, String>> entries = kafka.entrySet().iterator(); entries.hasNext();) {
			Map.Entry<String, String> entry = entries.next();
			String key = entry.getKey();
			int dot = key.lastIndexOf('.');
			if (dot > 0 && isIndex(key.substring(dot + 1)) && SETTINGS.contains(key.substring(0, dot))) {
				entries.remove();
				lists.computeIfAbsent(key.substring(0, dot), (setting) -> new TreeMap<>())
					.put(Integer.valueOf(key.substring(dot + 1)), entry.getValue());
			}
		}
		lists.forEach((setting, elements) -> {
			Set<Integer> written = indexesOfTheFirstSource(setting, map, sources);
			if (!written.isEmpty()) {
				elements.keySet().retainAll(written);
				kafka.put(setting, String.join(",", elements.values()));
			}
		});
	}

	/**
	 * The indexes of the setting's elements in the first source writing it; none where that source writes it
	 * plainly. Its keys are read as Boot's map binding read the map's: the names under the map's, as written.
	 */
	private static Set<Integer> indexesOfTheFirstSource(String setting, ConfigurationPropertyName map,
			Iterable<ConfigurationPropertySource> sources) {
		for (ConfigurationPropertySource source : sources) {
			if (source instanceof IterableConfigurationPropertySource names) {
				List<String> keys = names.filter(map::isAncestorOf)
					.stream()
					.map((name) -> key(map, name))
					.filter((key) -> key.equals(setting) || key.startsWith(setting + "."))
					.toList();
				if (keys.contains(setting)) {
					return Set.of();
				}
				Set<Integer> indexes = keys.stream()
					.map((key) -> key.substring(setting.length() + 1))
					.filter(KafkaSettingLists::isIndex)
					.map(Integer::valueOf)
					.collect(Collectors.toSet());
				if (!indexes.isEmpty()) {
					return indexes;
				}
			}
		}
		return Set.of();
	}

	/** A key of the map bound at {@code map}, as Boot's map binding makes it: the elements after, as written. */
	private static String key(ConfigurationPropertyName map, ConfigurationPropertyName name) {
		StringBuilder key = new StringBuilder();
		for (int i = map.getNumberOfElements(); i < name.getNumberOfElements(); i++) {
			key.append(key.isEmpty() ? "" : ".").append(name.getElement(i, Form.ORIGINAL));
		}
		return key.toString();
	}

	private static boolean isIndex(String element) {
		return !element.isEmpty() && element.length() < 10 && element.chars().allMatch(Character::isDigit);
	}

}
