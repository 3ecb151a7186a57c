package io.waterdrop;

import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;

import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;

import io.waterdrop.instrumentation.DeliveryObserver;
import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.Monitor;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.polling.DrainSlice;
import io.waterdrop.polling.Pollable;
import io.waterdrop.polling.ReportQueue;

/**
 * Turns a producer's queued {@link Delivery} reports into outcomes: completes handles, runs callbacks,
 * publishes events, counts, and notices slow callbacks; also publishes statistics periodically.
 * <p>
 * Per report it reads the clock once (the end of one dispatch is the start of the next) and builds events
 * only for event types somebody listens to. Counts are kept in plain fields and published once per batch
 * ({@link #flush}), which also gives the batch's slots back to the producer; a message somebody waits for
 * ({@code produceSync}) has its outcome counted and its slot back before its waiter wakes.
 * <p>
 * Threading: confined to the polling thread serving the producer (the {@link Pollable} contract), apart
 * from the constructor.
 */
final class ReportDispatcher implements Pollable, ReportQueue.Dispatcher<Delivery> {

	private static final long WANTS_ACKNOWLEDGED = Monitor.bit(ProducerEvent.MessageAcknowledged.class);

	private static final long WANTS_PURGED = Monitor.bit(ProducerEvent.MessagePurged.class);

	private static final long WANTS_ERROR = Monitor.bit(ProducerEvent.ErrorOccurred.class);

	private static final long WANTS_SLOW = Monitor.bit(ProducerEvent.SlowCallback.class);

	private static final int COUNTED = 1;

	private static final int RELEASED_EARLY = 2;

	private static final int CALLBACK_STARTED = 4;

	private static final int OBSERVED = 8;

	private final Producer producer;

	private final ReportQueue<Delivery> queue;

	private final Monitor monitor;

	private final ProducerStats stats;

	private final long slowCallbackNanos;

	private final DeliveryObserver observer;

	private final long statisticsIntervalNanos;

	private long nextStatisticsNanos;

	private final long idleDisconnectNanos;

	/** Messages produced when the periodic work last saw a change, and when. */
	private long producedSeen;

	private long activeAtNanos = System.nanoTime();

	// Counted since the last flush; polling thread only.

	private long acknowledged;

	private long failed;

	private long purged;

	private long dispatchNanos;

	private long slowCallbacks;

	/** What the report being dispatched has had done (bits below), for salvage() when its dispatch throws. */
	private int done;

	/** Slots of this batch given back already, before their waiters were woken. */
	private int releasedEarly;

	/**
	 * Set by a disconnect that let go of this registration: its periodic work until the detach no longer
	 * concerns the producer, which a reconnect attaches anew.
	 */
	private volatile boolean retired;

	ReportDispatcher(Producer producer, ReportQueue<Delivery> queue) {
		this.producer = producer;
		this.queue = queue;
		this.monitor = producer.monitor();
		this.stats = producer.stats();
		this.slowCallbackNanos = producer.config().slowCallbackThreshold().toNanos();
		this.observer = producer.config().observer();
		this.statisticsIntervalNanos = producer.config().statisticsInterval().toNanos();
		this.nextStatisticsNanos = System.nanoTime() + this.statisticsIntervalNanos;
		this.idleDisconnectNanos = Timeouts.nanos(producer.config().idleDisconnectTimeout()); // 292+ years: never
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
	public Duration minTime() {
		return this.producer.config().minTime();
	}

	@Override
	public Monitor monitor() {
		return this.monitor;
	}

	@Override
	public boolean drain(DrainSlice slice) {
		return this.queue.drain(slice, this);
	}

	@Override
	public long dispatch(Delivery delivery, long startNanos) {
		this.done = 0;
		try {
			return dispatchOutcome(delivery, startNanos);
		}
		catch (Throwable ex) {
			salvage(delivery, ex);
			throw ex;
		}
	}

	private long dispatchOutcome(Delivery delivery, long startNanos) {
		DeliveryFailedException failure;
		if (this.observer == null) {
			failure = deliver(delivery, startNanos);
		}
		else { // the message's observation is current while its outcome is delivered: the callback sees its trace
			Object scope = this.producer.openObserverScope(this.observer, delivery.observation);
			try {
				failure = deliver(delivery, startNanos);
			}
			finally {
				this.producer.closeObserverScope(this.observer, scope);
			}
			this.done |= OBSERVED;
			this.producer.observeOutcome(this.observer, delivery.observation,
					(failure == null) ? delivery.report() : null, failure);
		}
		long end = System.nanoTime();
		long took = end - startNanos;
		this.dispatchNanos += took;
		if (took > this.slowCallbackNanos) {
			this.slowCallbacks++;
			if (this.monitor.wants(WANTS_SLOW)) {
				this.monitor.publish(new ProducerEvent.SlowCallback(id(), Thread.currentThread().getName(),
						Duration.ofNanos(took), Duration.ofNanos(this.slowCallbackNanos)));
			}
		}
		return end;
	}

	/**
	 * Makes the outcome visible, counts it, publishes its event and runs the callback.
	 * @return the failure the message ended with, {@code null} if it was delivered
	 */
	private DeliveryFailedException deliver(Delivery delivery, long startNanos) {
		Exception error = delivery.error();
		DeliveryFailedException failure = null;
		if (error == null) {
			this.acknowledged++;
			this.done |= COUNTED;
			long produced = delivery.producedNanos();
			long latency = (produced != 0) ? startNanos - produced : 0;
			if (produced != 0 && this.monitor.wants(Monitor.LATENCY_BIT)) {
				this.monitor.recordLatency(latency);
			}
			releaseEarlyIfAwaited(delivery);
			delivery.finish(null);
			if (this.monitor.wants(WANTS_ACKNOWLEDGED)) {
				this.monitor.publish(new ProducerEvent.MessageAcknowledged(id(), delivery.report(), latency));
			}
		}
		else if (delivery.purged()) {
			this.purged++;
			this.done |= COUNTED;
			Message message = delivery.message();
			failure = failureOf(delivery, error);
			releaseEarlyIfAwaited(delivery);
			delivery.finish(failure);
			if (this.monitor.wants(WANTS_PURGED)) {
				this.monitor.publish(new ProducerEvent.MessagePurged(id(), message, message.label()));
			}
		}
		else {
			this.failed++;
			this.done |= COUNTED;
			Message message = delivery.message();
			failure = failureOf(delivery, error);
			releaseEarlyIfAwaited(delivery);
			// Before the waiter wakes: the failure meter and health count from this event, and a produceSync
			// returns with its outcome counted. Failures are rare; an acknowledgement's event need not wait.
			if (this.monitor.wants(WANTS_ERROR)) {
				this.monitor.publish(
						new ProducerEvent.ErrorOccurred(id(), ErrorType.DELIVERY, failure, message, message.label()));
			}
			delivery.finish(failure);
			this.producer.reloadAfterFatalError(delivery.clientGeneration, error);
		}
		runCallback(delivery, failure);
		return failure;
	}

	/** The exception a message that Kafka failed with {@code error} ends with. */
	private DeliveryFailedException failureOf(Delivery delivery, Exception error) {
		Message message = delivery.message();
		if (delivery.purged()) {
			return new MessagePurgedException(id(), message, error);
		}
		return new DeliveryFailedException("Message to '" + message.topic() + "' was not delivered by producer '"
				+ id() + "': " + error, message, error);
	}

	/**
	 * A dispatch threw (a {@code VirtualMachineError} such as an {@code OutOfMemoryError}, or a logging backend
	 * failing while a listener's failure was reported): the report is out of the queue already, so the message
	 * gets the rest of its one outcome here — counted, finished with what Kafka reported, its waiter woken (its
	 * count and slot out first), its callback run and its observer told, each unless done before the throw. Best
	 * effort: the same error may strike again, and is then added to the first.
	 */
	private void salvage(Delivery delivery, Throwable cause) {
		try {
			if (!delivery.isDone()) {
				Exception error = delivery.error();
				if ((this.done & COUNTED) == 0) {
					count(delivery, error);
				}
				if ((this.done & RELEASED_EARLY) == 0) {
					releaseEarlyIfAwaited(delivery);
				}
				delivery.finish((error != null) ? failureOf(delivery, error) : null);
			}
			else {
				delivery.wakeWaiter(); // finish() may have thrown between DONE and completing the future
			}
			if ((this.done & CALLBACK_STARTED) == 0) {
				runCallback(delivery, delivery.failure());
			}
			if (this.observer != null && (this.done & OBSERVED) == 0) {
				DeliveryFailedException failure = delivery.failure();
				this.producer.observeOutcome(this.observer, delivery.observation,
						(failure == null) ? delivery.report() : null, failure);
			}
		}
		catch (Throwable again) {
			if (again != cause) {
				cause.addSuppressed(again);
			}
		}
	}

	private void count(Delivery delivery, Exception error) {
		if (error == null) {
			this.acknowledged++;
		}
		else if (delivery.purged()) {
			this.purged++;
		}
		else {
			this.failed++;
		}
	}

	/**
	 * Somebody waits for this message (produceSync): what it does next may depend on the outcome being counted
	 * and the slot being back (stats(), meters, inFlight(), disconnect(), a full producer), so it does not wait
	 * for the batch. Counts still go out before slots, as in {@link #flush}.
	 */
	private void releaseEarlyIfAwaited(Delivery delivery) {
		this.done |= RELEASED_EARLY;
		if (delivery.hasWaiter()) {
			publishCounts();
			this.producer.releaseSlots(1);
			this.releasedEarly++;
		}
	}

	/**
	 * Publishes the batch's counts, then gives its slots back: a close waiting for them sees them counted. Slow
	 * callbacks and dispatch time go first, so whoever sees the batch's outcomes counted sees them too (an
	 * awaited message's outcome is counted earlier, before its callback runs, for its waiter).
	 */
	@Override
	public void flush(int dispatched) {
		if (this.slowCallbacks != 0) {
			this.stats.slowCallbacks.add(this.slowCallbacks);
			this.slowCallbacks = 0;
		}
		this.stats.dispatchNanos.add(this.dispatchNanos);
		this.dispatchNanos = 0;
		publishCounts();
		this.producer.releaseSlots(dispatched - this.releasedEarly);
		this.releasedEarly = 0;
	}

	/** Publishes the outcomes counted since the last publish; a slot never comes back before its outcome's count. */
	private void publishCounts() {
		if (this.acknowledged != 0) {
			this.stats.acknowledged.add(this.acknowledged);
			this.stats.lastAcknowledgedMillis = System.currentTimeMillis();
			this.acknowledged = 0;
		}
		if (this.failed != 0) {
			this.stats.failed.add(this.failed);
			this.failed = 0;
		}
		if (this.purged != 0) {
			this.stats.purged.add(this.purged);
			this.purged = 0;
		}
	}

	private void runCallback(Delivery delivery, DeliveryFailedException failure) {
		DeliveryCallback callback = delivery.callback();
		if (callback == null) {
			return;
		}
		this.done |= CALLBACK_STARTED;
		try {
			callback.onDelivery((failure == null) ? delivery.report() : null, failure);
		}
		catch (Throwable ex) {
			this.monitor.publish(new ProducerEvent.ErrorOccurred(id(), ErrorType.CALLBACK, ex, delivery.message(),
					delivery.label()));
		}
	}

	/** The producer let go of this registration; any thread. */
	void retire() {
		this.retired = true;
	}

	@Override
	public void periodic(long nowNanos) {
		if (this.retired) {
			return;
		}
		this.producer.retryCloseStart();
		if (this.idleDisconnectNanos > 0) {
			disconnectWhenIdle(nowNanos);
		}
		if (this.statisticsIntervalNanos == 0 || nowNanos - this.nextStatisticsNanos < 0) {
			return;
		}
		this.nextStatisticsNanos = nowNanos + this.statisticsIntervalNanos;
		if (!this.monitor.isListening(ProducerEvent.StatisticsEmitted.class)
				|| this.producer.status() != ProducerStatus.CONNECTED) {
			return; // nobody listens, or no client (disconnected, closing) to read them from
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
		if (this.retired || this.statisticsIntervalNanos == 0
				|| !this.monitor.isListening(ProducerEvent.StatisticsEmitted.class)) {
			return Long.MAX_VALUE;
		}
		return this.nextStatisticsNanos;
	}

	/**
	 * Asks for a disconnect once nothing was produced for the idle timeout; the disconnect itself (which
	 * closes a client) runs on another thread and refuses if the producer turned busy meanwhile.
	 */
	private void disconnectWhenIdle(long nowNanos) {
		long produced = this.stats.producedSync() + this.stats.producedAsync();
		if (produced != this.producedSeen) {
			this.producedSeen = produced;
			this.activeAtNanos = nowNanos;
		}
		else if (nowNanos - this.activeAtNanos >= this.idleDisconnectNanos
				&& this.producer.status() == ProducerStatus.CONNECTED && this.producer.inFlight() == 0) {
			this.activeAtNanos = nowNanos; // asked once per idle timeout at most
			this.producer.disconnectInBackground();
		}
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
		this.producer.pollingTerminated(this, cause);
	}

}
