package io.waterdrop.autoconfigure.lifecycle;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import io.waterdrop.Producer;
import io.waterdrop.ProducerStatus;

/**
 * The first step of a context's close, in the producers' shutdown phase: every producer with messages in
 * flight makes Kafka send what lingers and waits, all at once, up to its {@code close-timeout} until each of
 * them has its outcome ({@link Producer#awaitSent}: Kafka's flush, which does not wait for messages sent
 * meanwhile), on a thread {@code waterdrop.drain-<name>}. One whose messages do not all get there in time is
 * closed at once, which purges them (each reported), as a close would after its {@code close-timeout}. The
 * others stay open: beans destroyed later, whose {@code @PreDestroy} may still produce (as with
 * {@code KafkaTemplate}), find them usable, and each is closed when the context destroys it, after the beans
 * that depend on it; that close dispatches every report left.
 */
final class ProducerDrains {

	private static final Log logger = LogFactory.getLog(ProducerDrains.class);

	private ProducerDrains() {
	}

	/** Drains every producer at once; completes when all have drained or been closed. */
	static CompletableFuture<Void> drainAll(Map<String, Producer> producers, Function<String, Duration> closeTimeouts) {
		List<CompletableFuture<Void>> drains = new ArrayList<>();
		producers.forEach((name, producer) -> {
			if (producer.status() == ProducerStatus.CLOSED || producer.inFlight() == 0) {
				return;
			}
			CompletableFuture<Void> drained = new CompletableFuture<>();
			Thread thread = new Thread(() -> {
				try {
					drain(name, producer, closeTimeouts.apply(name));
				}
				finally {
					drained.complete(null);
				}
			}, "waterdrop.drain-" + name);
			thread.setDaemon(true);
			thread.start();
			drains.add(drained);
		});
		return CompletableFuture.allOf(drains.toArray(CompletableFuture[]::new));
	}

	private static void drain(String name, Producer producer, Duration closeTimeout) {
		try {
			if (!producer.awaitSent(closeTimeout) && producer.status() != ProducerStatus.CLOSED) {
				logger.warn("WaterDrop producer '" + name + "' still had messages without an outcome after its "
						+ "close-timeout (" + closeTimeout + "); closing it now, which purges them");
				producer.closeForcefully();
			}
		}
		catch (RuntimeException ex) {
			logger.warn("Draining WaterDrop producer '" + name + "' failed", ex);
		}
	}

}
