package io.waterdrop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Producers created and removed at run time, by name: one per tenant, per worker, per customer. No Spring
 * needed; the starter's {@code WaterDropRuntimeProducers} is built on it.
 * <p>
 * {@link #create} builds a {@link Producer} (not connected: its first message, or {@link Producer#connect()},
 * connects it) and keeps it under its name; {@link #remove} takes it out and closes it; {@link #closeAll}
 * closes every producer at once and refuses later creations. A name is taken from the moment
 * {@code create} starts until {@code remove} has taken the producer out: a second {@code create} with the
 * same name fails with a {@link ProducerNameInUseException} saying so, it never replaces the first.
 * <p>
 * With many producers, use fd mode (every producer on one Poller thread) and an
 * {@link ProducerConfig.Builder#idleDisconnectTimeout idle-disconnect timeout}, so that an idle producer holds
 * neither a Kafka network thread nor sockets.
 * <p>
 * Threading: thread-safe. Creating and looking up never wait for Kafka; {@code remove} and {@code closeAll}
 * wait for the closes they start (up to the close timeout), outside any lock of the registry.
 */
public final class ProducerRegistry implements AutoCloseable {

	private final Map<String, Producer> producers = new ConcurrentHashMap<>();

	/** Names whose producer is being built: taken, but not in {@link #producers} yet. */
	private final Set<String> reserved = ConcurrentHashMap.newKeySet();

	private volatile boolean closed;

	/**
	 * Creates a producer and keeps it under {@code name}. The producer is not connected yet.
	 * @param name the name to find and remove it by; usually its {@link ProducerConfig#id() id}
	 * @param config its configuration
	 * @return the new producer
	 * @throws ProducerNameInUseException if a producer of that name exists (or is being created)
	 * @throws IllegalStateException if the registry is closed
	 * @throws IllegalArgumentException if the name is blank
	 */
	public Producer create(String name, ProducerConfig config) {
		if (name == null || name.isBlank()) {
			throw new IllegalArgumentException("A producer name must not be blank");
		}
		checkOpen(name);
		if (!this.reserved.add(name)) {
			throw clash(name, "is being created by another thread");
		}
		try {
			// After the reservation: a producer put under this name stays until remove() takes it out.
			if (this.producers.containsKey(name)) {
				throw clash(name, "exists already");
			}
			Producer producer = new Producer(config);
			this.producers.put(name, producer);
			if (this.closed) {
				// closeAll() ran meanwhile and may not have seen it.
				this.producers.remove(name, producer);
				producer.close(Duration.ZERO);
				checkOpen(name);
			}
			return producer;
		}
		finally {
			this.reserved.remove(name);
		}
	}

	/**
	 * Removes the producer of that name and closes it, waiting up to its
	 * {@link ProducerConfig#maxWaitTimeout() max-wait-timeout} for its in-flight messages.
	 * @return whether there was such a producer
	 */
	public boolean remove(String name) {
		Producer producer = this.producers.remove(name);
		if (producer == null) {
			return false;
		}
		producer.close();
		return true;
	}

	/**
	 * Removes the producer of that name and closes it, waiting up to {@code closeTimeout} for its in-flight
	 * messages before purging the rest (each reported as purged).
	 * @return whether there was such a producer
	 */
	public boolean remove(String name, Duration closeTimeout) {
		Producer producer = this.producers.remove(name);
		if (producer == null) {
			return false;
		}
		producer.close(closeTimeout);
		return true;
	}

	/**
	 * Removes {@code producer} if it is still the one of that name, and closes it, waiting up to
	 * {@code closeTimeout} for its in-flight messages: a removal that looked the producer up while another
	 * thread removed it (and created a new one of that name) leaves the new one be.
	 * @return whether {@code producer} was removed here
	 */
	public boolean remove(String name, Producer producer, Duration closeTimeout) {
		if (!this.producers.remove(name, producer)) {
			return false;
		}
		producer.close(closeTimeout);
		return true;
	}

	/**
	 * Returns the producer of that name.
	 * @throws NoSuchElementException if there is none
	 */
	public Producer get(String name) {
		Producer producer = this.producers.get(name);
		if (producer == null) {
			throw new NoSuchElementException("No producer named '" + name + "' in this registry (" + size()
					+ " producer(s))");
		}
		return producer;
	}

	/** The producer of that name, if there is one. */
	public Optional<Producer> find(String name) {
		return Optional.ofNullable(this.producers.get(name));
	}

	/** The names of the producers now, sorted. */
	public Set<String> names() {
		return Collections.unmodifiableSet(new TreeSet<>(this.producers.keySet()));
	}

	/** The producers now, by name, sorted by name: a copy. */
	public Map<String, Producer> asMap() {
		Map<String, Producer> copy = new LinkedHashMap<>();
		names().forEach((name) -> {
			Producer producer = this.producers.get(name);
			if (producer != null) {
				copy.put(name, producer);
			}
		});
		return Collections.unmodifiableMap(copy);
	}

	public int size() {
		return this.producers.size();
	}

	public boolean isClosed() {
		return this.closed;
	}

	/**
	 * Refuses further creations, then closes every producer at once, each waiting up to
	 * {@code closeTimeout} for its in-flight messages; returns when all are closed. Producers removed by
	 * then are not waited for.
	 */
	public void closeAll(Duration closeTimeout) {
		this.closed = true;
		List<CompletableFuture<Void>> closes = new ArrayList<>();
		for (String name : List.copyOf(this.producers.keySet())) {
			Producer producer = this.producers.remove(name);
			if (producer != null) {
				closes.add(producer.closeAsync(closeTimeout));
			}
		}
		awaitAll(closes, closeTimeout);
	}

	/** {@link #closeAll(Duration)} with each producer's {@code max-wait-timeout}. */
	@Override
	public void close() {
		this.closed = true;
		List<CompletableFuture<Void>> closes = new ArrayList<>();
		Duration longest = Duration.ZERO;
		for (String name : List.copyOf(this.producers.keySet())) {
			Producer producer = this.producers.remove(name);
			if (producer != null) {
				Duration timeout = producer.config().maxWaitTimeout();
				longest = (timeout.compareTo(longest) > 0) ? timeout : longest;
				closes.add(producer.closeAsync(timeout));
			}
		}
		awaitAll(closes, longest);
	}

	/**
	 * Waits for the closes; each ends within its timeout plus the moment a purge takes, so the wait is
	 * bounded by twice the longest timeout plus a minute rather than forever.
	 */
	private static void awaitAll(List<CompletableFuture<Void>> closes, Duration timeout) {
		CompletableFuture<Void> all = CompletableFuture.allOf(closes.toArray(CompletableFuture[]::new));
		try {
			all.get(timeout.multipliedBy(2).plusMinutes(1).toMillis(), TimeUnit.MILLISECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new WaterDropException("Interrupted while closing the producers of a registry", ex);
		}
		catch (ExecutionException ex) {
			throw new WaterDropException("Closing a producer of a registry failed", ex.getCause());
		}
		catch (TimeoutException ex) {
			throw new WaterDropException("The producers of a registry did not close in time", ex);
		}
	}

	private void checkOpen(String name) {
		if (this.closed) {
			throw new IllegalStateException("Cannot create producer '" + name + "': the registry is closed");
		}
	}

	private static ProducerNameInUseException clash(String name, String how) {
		return new ProducerNameInUseException(name, "A producer named '" + name + "' " + how + " in this registry; "
				+ "remove it first or choose another name");
	}

}
