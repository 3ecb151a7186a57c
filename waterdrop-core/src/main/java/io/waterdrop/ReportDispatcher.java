package io.waterdrop;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;

import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.Monitor;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.Pollable;
import io.waterdrop.polling.ReportQueue;

/**
 * Turns a producer's queued {@link Completion}s into outcomes: completes handles, runs callbacks, publishes
 * events, counts, and notices slow callbacks; also publishes statistics periodically.
 * <p>
 * Threading: confined to the polling thread serving the producer (the {@link Pollable} contract), apart
 * from the constructor.
 */
final class ReportDispatcher implements Pollable {

	private final Producer producer;

	private final ReportQueue<Completion> queue;

	private final Monitor monitor;

	private final ProducerStats stats;

	private final long slowCallbackNanos;

	private final long statisticsIntervalNanos;

	private long nextStatisticsNanos;

	ReportDispatcher(Producer producer, ReportQueue<Completion> queue) {
		this.producer = producer;
		this.queue = queue;
		this.monitor = producer.monitor();
		this.stats = producer.stats();
		this.slowCallbackNanos = producer.config().slowCallbackThreshold().toNanos();
		this.statisticsIntervalNanos = producer.config().statisticsInterval().toNanos();
		this.nextStatisticsNanos = System.nanoTime() + this.statisticsIntervalNanos;
	}

	@Override
	public String id() {
		return this.producer.id();
	}

	@Override
	public Duration maxTime() {
		return this.producer.config().maxTime();
	}

	@Override
	public Monitor monitor() {
		return this.monitor;
	}

	@Override
	public boolean drain(long deadlineNanos) {
		return this.queue.drain(deadlineNanos, this::dispatch);
	}

	private void dispatch(Completion completion) {
		long start = System.nanoTime();
		DeliveryHandle handle = completion.handle();
		Message message = handle.message();
		DeliveryReport report = null;
		DeliveryFailedException failure = null;
		if (completion.error() == null) {
			report = new DeliveryReport(completion.metadata().topic(), completion.metadata().partition(),
					completion.metadata().offset(), Instant.ofEpochMilli(completion.metadata().timestamp()),
					message.label());
			this.stats.acknowledged.increment();
			handle.complete(report);
			this.monitor.publish(new ProducerEvent.MessageAcknowledged(id(), report,
					Duration.ofNanos(start - handle.producedNanos())));
		}
		else if (completion.purged()) {
			failure = new MessagePurgedException(id(), message, completion.error());
			this.stats.purged.increment();
			handle.fail(failure);
			this.monitor.publish(new ProducerEvent.MessagePurged(id(), message, message.label()));
		}
		else {
			failure = new DeliveryFailedException("Message to '" + message.topic() + "' was not delivered by producer '"
					+ id() + "': " + completion.error(), message, completion.error());
			this.stats.failed.increment();
			handle.fail(failure);
			this.monitor.publish(
					new ProducerEvent.ErrorOccurred(id(), ErrorType.DELIVERY, failure, message, message.label()));
		}
		runCallback(handle, report, failure);
		long took = System.nanoTime() - start;
		this.stats.dispatchNanos.add(took);
		if (took > this.slowCallbackNanos) {
			this.stats.slowCallbacks.increment();
			this.monitor.publish(new ProducerEvent.SlowCallback(id(), Thread.currentThread().getName(),
					Duration.ofNanos(took), Duration.ofNanos(this.slowCallbackNanos)));
		}
		// Last: a close waiting for "everything dispatched" must see callbacks finished too.
		this.producer.dispatched();
	}

	private void runCallback(DeliveryHandle handle, DeliveryReport report, DeliveryFailedException failure) {
		DeliveryCallback callback = handle.callback();
		if (callback == null) {
			return;
		}
		try {
			callback.onDelivery(report, failure);
		}
		catch (Throwable ex) {
			this.monitor.publish(new ProducerEvent.ErrorOccurred(id(), ErrorType.CALLBACK, ex, handle.message(),
					handle.label()));
		}
	}

	@Override
	public void periodic(long nowNanos) {
		if (this.statisticsIntervalNanos == 0 || nowNanos - this.nextStatisticsNanos < 0) {
			return;
		}
		this.nextStatisticsNanos = nowNanos + this.statisticsIntervalNanos;
		if (!this.monitor.isListening(ProducerEvent.StatisticsEmitted.class)) {
			return;
		}
		try {
			this.monitor.publish(new ProducerEvent.StatisticsEmitted(id(), statistics()));
		}
		catch (RuntimeException ex) {
			this.monitor.publish(new ProducerEvent.ErrorOccurred(id(), ErrorType.STATISTICS, ex, null, null));
		}
	}

	@Override
	public long nextPeriodicNanos() {
		if (this.statisticsIntervalNanos == 0 || !this.monitor.isListening(ProducerEvent.StatisticsEmitted.class)) {
			return Long.MAX_VALUE;
		}
		return this.nextStatisticsNanos;
	}

	/** The client's metrics keyed {@code group:name} plus non-client-id tags, sorted for readability. */
	private Map<String, Object> statistics() {
		Map<String, Object> statistics = new TreeMap<>();
		for (Map.Entry<MetricName, ? extends Metric> entry : this.producer.client().metrics().entrySet()) {
			MetricName name = entry.getKey();
			StringBuilder key = new StringBuilder(name.group()).append(':').append(name.name());
			name.tags().forEach((tag, value) -> {
				if (!"client-id".equals(tag)) {
					key.append(';').append(tag).append('=').append(value);
				}
			});
			statistics.put(key.toString(), entry.getValue().metricValue());
		}
		return statistics;
	}

	@Override
	public void pollingTerminated(Throwable cause) {
		this.producer.pollingTerminated(cause);
	}

}
