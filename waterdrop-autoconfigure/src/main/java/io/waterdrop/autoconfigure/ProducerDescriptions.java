package io.waterdrop.autoconfigure;

import java.util.Locale;

import io.waterdrop.Producer;
import io.waterdrop.polling.PollingMode;

/**
 * How the health contributor and the endpoint name a producer's polling mode and the thread serving it.
 */
final class ProducerDescriptions {

	private ProducerDescriptions() {
	}

	/** {@code fd} or {@code thread}, as in the properties. */
	static String mode(Producer producer) {
		return producer.config().pollingMode().name().toLowerCase(Locale.ROOT);
	}

	/**
	 * Name of the Poller serving an fd-mode producer, or of a thread-mode producer's dispatch thread once it
	 * is connected ({@code null} before).
	 */
	static String poller(Producer producer) {
		if (producer.config().pollingMode() == PollingMode.FD) {
			return producer.config().poller().name();
		}
		return producer.pollerName();
	}

}
