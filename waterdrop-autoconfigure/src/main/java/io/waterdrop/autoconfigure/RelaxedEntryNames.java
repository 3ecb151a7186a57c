package io.waterdrop.autoconfigure;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

import io.waterdrop.InvalidConfigurationException;

/**
 * Keys of one {@code waterdrop.*} map of entries that Spring Boot's relaxed binding makes one entry. An
 * environment variable such as {@code WATERDROP_PRODUCERS_ORDEREVENTS_MAXINFLIGHT} sets {@code max-in-flight}
 * of the entry {@code order-events} and also adds the key {@code orderevents} to the map, bound to the same
 * settings: left there, it would become a second producer (a Kafka client, a bean) that nobody defined.
 */
final class RelaxedEntryNames {

	private RelaxedEntryNames() {
	}

	/**
	 * Removes the keys in an environment variable's spelling (lower case, no dashes) that another key of
	 * {@code entries} stands for.
	 * @param path the map's property path, for the message
	 * @param writtenAsSuch whether a key in that spelling is written so in a source other than the environment
	 * (then it is an entry of its own)
	 * @throws InvalidConfigurationException if two keys written as such are one entry to relaxed binding
	 * ({@code orderEvents} and {@code order-events}, or {@code orderevents} and {@code order-events})
	 */
	static void removeEnvironmentSpellings(String path, Map<String, ?> entries, Predicate<String> writtenAsSuch) {
		Map<String, List<String>> spellings = new LinkedHashMap<>();
		for (String key : entries.keySet()) {
			spellings.computeIfAbsent(uniform(key), (entry) -> new ArrayList<>()).add(key);
		}
		for (List<String> keys : spellings.values()) {
			if (keys.size() < 2) {
				continue;
			}
			List<String> written = keys.stream()
				.filter((key) -> !key.equals(uniform(key)) || writtenAsSuch.test(key))
				.toList();
			if (written.size() > 1) {
				throw new InvalidConfigurationException(ProducerAssembler.entryPath(path, written.get(1)),
						"is the same entry as " + ProducerAssembler.entryPath(path, written.get(0))
								+ " to Spring Boot's relaxed binding: each would be bound to the settings of both",
						"Write the entry's name one way everywhere.");
			}
			keys.stream().filter((key) -> !written.contains(key)).forEach(entries::remove);
		}
	}

	private static String uniform(String key) {
		return key.toLowerCase(Locale.ROOT).replace("-", "");
	}

}
