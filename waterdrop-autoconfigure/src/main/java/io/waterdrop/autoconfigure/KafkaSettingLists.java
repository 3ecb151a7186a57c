package io.waterdrop.autoconfigure;

import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * Joins a Kafka setting's list written indexed ({@code kafka.bootstrap.servers[0]}) or as a YAML list, which
 * Boot binds into a {@code kafka} map as keys {@code bootstrap.servers.0}, {@code bootstrap.servers.1}: Kafka
 * would ignore those keys, so the setting would silently keep a lower layer's value. Kafka takes a list as one
 * comma-separated value. Keys that are no Kafka setting are left as bound (an interceptor or serializer may
 * read any key).
 */
final class KafkaSettingLists {

	private static final Set<String> SETTINGS = ProducerConfig.configNames();

	private KafkaSettingLists() {
	}

	/**
	 * Replaces the indexed keys of each Kafka setting with the setting, its elements joined in index order.
	 * Where the setting is written plainly too, the form bound first wins: Boot binds a map's keys from the
	 * sources in order of precedence, so that is the form of the source that takes precedence. Each element is
	 * bound on its own, so an index written in two sources takes the value of the one that takes precedence.
	 */
	static void join(Map<String, String> kafka) {
		Set<String> plain = new HashSet<>();
		Map<String, SortedMap<Integer, String>> lists = new LinkedHashMap<>();
		for (Iterator<Map.Entry<String, String>> entries = kafka.entrySet().iterator(); entries.hasNext();) {
			Map.Entry<String, String> entry = entries.next();
			String key = entry.getKey();
			int dot = key.lastIndexOf('.');
			if (SETTINGS.contains(key)) {
				plain.add(key);
			}
			else if (dot > 0 && isIndex(key.substring(dot + 1)) && SETTINGS.contains(key.substring(0, dot))) {
				entries.remove();
				String setting = key.substring(0, dot);
				if (!plain.contains(setting)) {
					lists.computeIfAbsent(setting, (name) -> new TreeMap<>())
						.put(Integer.valueOf(key.substring(dot + 1)), entry.getValue());
				}
			}
		}
		lists.forEach((setting, elements) -> kafka.put(setting, String.join(",", elements.values())));
	}

	private static boolean isIndex(String element) {
		return !element.isEmpty() && element.length() < 10 && element.chars().allMatch(Character::isDigit);
	}

}
