package io.waterdrop.autoconfigure.metrics;

import java.lang.reflect.Field;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.apache.kafka.clients.producer.Producer;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaMetricsSupport;
import org.springframework.kafka.core.MicrometerProducerListener;
import org.springframework.kafka.core.ProducerFactory;

import io.waterdrop.autoconfigure.WaterDropKafkaClientFactoryCustomizer;

/**
 * Binds Kafka's own client metrics ({@code kafka.producer.*}) of WaterDrop's clients with one rescan thread,
 * {@value #THREAD_NAME}, for all of them. Each {@link MicrometerProducerListener} the customizers put on a
 * WaterDrop client's factory (Boot's {@code KafkaMetricsAutoConfiguration} adds one to every factory; an
 * application's customizer may add its own, with its registry and tags) is replaced, in its place, by a
 * listener that binds the same meters to the same registry with the same tags, but rescans on the shared
 * thread: the replaced listener's {@link KafkaClientMetrics} would start a rescan thread per client. No such
 * listener, no client metrics: excluding Boot's metrics auto-configuration still turns them off. A listener
 * given a scheduler of its own, or of a subclass (which may bind other meters), is left as it is.
 * <p>
 * Meters keep the listener's tags plus Boot's tag set, Kafka's own tags (among them {@code client.id}),
 * {@code kafka.version} and {@code spring.id} ({@code waterdrop.<producer name>} here, the factory's bean name
 * for Boot's own producers): one set of tag keys per meter name, shared with the meters of Boot's
 * {@code KafkaTemplate}, as Prometheus requires.
 * <p>
 * Threading: a client's meters are bound on the thread creating it and removed on the thread closing it;
 * its rescans run on the shared thread, never during or after the removal, so a closed client's meters
 * cannot come back. The thread is a daemon started with the first client, ending when no client is left
 * and when the bean is destroyed.
 */
final class SharedKafkaClientMetrics implements WaterDropKafkaClientFactoryCustomizer, DisposableBean {

	static final String THREAD_NAME = "waterdrop-kafka-metrics";

	/** Micrometer's own default: Kafka adds per-topic metrics after the first send to a topic. */
	static final Duration DEFAULT_RESCAN_INTERVAL = Duration.ofSeconds(60);

	private static final Log logger = LogFactory.getLog(SharedKafkaClientMetrics.class);

	private final Duration rescanInterval;

	private final ScheduledThreadPoolExecutor scheduler;

	SharedKafkaClientMetrics(Duration rescanInterval) {
		this.rescanInterval = rescanInterval;
		this.scheduler = new ScheduledThreadPoolExecutor(1, (task) -> {
			Thread thread = new Thread(task, THREAD_NAME);
			thread.setDaemon(true);
			return thread;
		});
		this.scheduler.setRemoveOnCancelPolicy(true);
		// Ends once no client is left to rescan (every producer disconnected: a stopped or paused test context),
		// as spring-kafka's listener ends its thread with its client; the next client's rescan starts it again.
		// A rescan still queued keeps it (the last thread never times out with work waiting), and a keep-alive
		// of one interval wakes it no more often than its rescans do.
		this.scheduler.setKeepAliveTime(rescanInterval.toNanos(), TimeUnit.NANOSECONDS);
		this.scheduler.allowCoreThreadTimeOut(true);
	}

	@Override
	public void customize(String producerName, DefaultKafkaProducerFactory<byte[], byte[]> factory) {
		List<ProducerFactory.Listener<byte[], byte[]>> listeners = List.copyOf(factory.getListeners());
		for (int index = 0; index < listeners.size(); index++) {
			ProducerFactory.Listener<byte[], byte[]> listener = listeners.get(index);
			if (listener.getClass() == MicrometerProducerListener.class) {
				ListenerSettings settings = ListenerSettings.of((MicrometerProducerListener<?, ?>) listener);
				if (settings != null && settings.scheduler() == null) {
					factory.removeListener(listener);
					factory.addListener(index, new ClientMetrics(settings.registry(), settings.tags()));
				}
			}
		}
	}

	@Override
	public void destroy() {
		this.scheduler.shutdownNow();
	}

	/**
	 * What a {@link MicrometerProducerListener} was given. spring-kafka keeps it in protected fields of
	 * {@link KafkaMetricsSupport} and offers no getter; read reflectively, and if that fails the listener is
	 * left in place (it then rescans on a thread of its own per client).
	 */
	private record ListenerSettings(MeterRegistry registry, List<Tag> tags,
			@Nullable ScheduledExecutorService scheduler) {

		private static final Field REGISTRY = findField("meterRegistry");

		private static final Field TAGS = findField("tags");

		private static final Field SCHEDULER = findField("scheduler");

		private static @Nullable Field findField(String name) {
			try {
				Field field = KafkaMetricsSupport.class.getDeclaredField(name);
				field.setAccessible(true);
				return field;
			}
			catch (ReflectiveOperationException | RuntimeException ex) {
				logger.debug("Cannot read the " + name + " of spring-kafka's MicrometerProducerListener", ex);
				return null;
			}
		}

		@SuppressWarnings("unchecked")
		static @Nullable ListenerSettings of(MicrometerProducerListener<?, ?> listener) {
			if (REGISTRY == null || TAGS == null || SCHEDULER == null) {
				return null;
			}
			try {
				return new ListenerSettings((MeterRegistry) REGISTRY.get(listener), (List<Tag>) TAGS.get(listener),
					(ScheduledExecutorService) SCHEDULER.get(listener));
			}
			catch (ReflectiveOperationException | RuntimeException ex) {
				logger.debug("Cannot read the settings of " + listener, ex);
				return null;
			}
		}

	}

	/** Binds the metrics of the one client a WaterDrop factory creates, and removes them when it closes. */
	private final class ClientMetrics implements ProducerFactory.Listener<byte[], byte[]> {

		/** A lock, not a monitor: the connecting thread may be virtual, and JDK 21 to 23 pin it on a monitor. */
		private final ReentrantLock lock = new ReentrantLock();

		private final Rescans rescans = new Rescans();

		private final MeterRegistry registry;

		private final List<Tag> tags;

		private @Nullable KafkaClientMetrics metrics;

		private boolean removed;

		ClientMetrics(MeterRegistry registry, List<Tag> tags) {
			this.registry = registry;
			this.tags = tags;
		}

		@Override
		public void producerAdded(String id, Producer<byte[], byte[]> producer) {
			this.lock.lock();
			try {
				// As spring-kafka's listener: its tags, then spring.id.
				List<Tag> clientTags = new ArrayList<>(this.tags);
				clientTags.add(Tag.of("spring.id", id));
				this.metrics = new KafkaClientMetrics(producer, clientTags, this.rescans,
						SharedKafkaClientMetrics.this.rescanInterval);
				this.metrics.bindTo(this.registry);
			}
			finally {
				this.lock.unlock();
			}
		}

		@Override
		public void producerRemoved(String id, Producer<byte[], byte[]> producer) {
			this.lock.lock();
			try {
				this.removed = true;
				this.rescans.cancel();
				if (this.metrics != null) {
					this.metrics.close(); // removes the meters; leaves the shared scheduler alone
				}
			}
			finally {
				this.lock.unlock();
			}
		}

		private void rescan(Runnable rescan) {
			this.lock.lock();
			try {
				if (!this.removed) {
					rescan.run();
				}
			}
			finally {
				this.lock.unlock();
			}
		}

		/**
		 * The scheduler handed to {@link KafkaClientMetrics}, which only calls {@code scheduleAtFixedRate}
		 * (spring-kafka adapts a {@code TaskScheduler} the same way): its rescans run on the shared thread,
		 * and can be cancelled, which {@code KafkaClientMetrics.close()} does not do with a given scheduler.
		 * Its own pool has no core thread and is never given a task.
		 */
		private final class Rescans extends ScheduledThreadPoolExecutor {

			/** Guarded by the lock of the enclosing listener, as KafkaClientMetrics schedules while binding. */
			private @Nullable ScheduledFuture<?> scheduled;

			Rescans() {
				super(0);
			}

			@Override
			public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period,
					TimeUnit unit) {
				this.scheduled = SharedKafkaClientMetrics.this.scheduler
					.scheduleAtFixedRate(() -> rescan(command), initialDelay, period, unit);
				return this.scheduled;
			}

			void cancel() {
				ScheduledFuture<?> current = this.scheduled;
				if (current != null) {
					current.cancel(false);
				}
			}

		}

	}

}
