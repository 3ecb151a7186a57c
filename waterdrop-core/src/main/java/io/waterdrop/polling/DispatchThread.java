package io.waterdrop.polling;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.PollerEvent;
import io.waterdrop.instrumentation.ProducerEvent;

/**
 * {@link PollingMode#THREAD Thread} mode: one thread per producer that parks until its report queue
 * signals, dispatches everything waiting, and runs the periodic work at least every {@code pollTimeout}.
 * <p>
 * Threading contract: {@link #signal()}, {@link #detach()} and {@link #isPollingThread()} from any thread;
 * everything else happens on the dispatch thread, named {@code waterdrop.dispatch-<producer id>}. The
 * queue's edge-triggered signal {@link LockSupport#unpark unparks} the thread; an unpark that comes before
 * the park is remembered as a permit, so no wake-up is lost. The thread ends after {@link #detach()} once
 * the queue is empty.
 * <p>
 * Before it parks, the thread looks for a signal for a few microseconds, as the {@link Poller} does before
 * it blocks: Kafka's network thread completes a response's batches back to back, and a signal that comes
 * while the thread is still awake costs the network thread no {@code futex} wake-up and the dispatch
 * thread no context switch. A signal unparks only a thread that is parking (the {@code parking} flag,
 * written before the thread's last look at {@code signalled}; a signal writes {@code signalled} before it
 * reads {@code parking}, so at least one of the two sees the other): an awake thread costs a signal no
 * {@code unpark} at all.
 */
public final class DispatchThread implements PollingSession, Wakeup {

	private static final Logger logger = LoggerFactory.getLogger(DispatchThread.class);

	private final Thread thread;

	private final Duration pollTimeout;

	private final Backoff backoff;

	private final CompletableFuture<Void> detached = new CompletableFuture<>();

	private volatile Pollable pollable;

	private volatile boolean detaching;

	/**
	 * A signal came since the last drain began. The unpark alone is not enough: a callback that blocks on a
	 * java.util.concurrent lock or latch consumes the permit, and the thread would then sleep a whole
	 * pollTimeout with reports queued (the queue does not signal again until the next drain).
	 */
	private volatile boolean signalled;

	/** The thread is about to park or parked: a signal must unpark it. */
	private volatile boolean parking;

	/** What the look before parking waits for; one object, not one per look. */
	private final BooleanSupplier signalledOrDetaching = () -> this.signalled || this.detaching;

	/** A dispatch thread for the producer with the given id; {@link #start} it once its queue exists. */
	public DispatchThread(String producerId, Duration pollTimeout) {
		PollerConfig.requireBetween("polling.thread.poll-timeout", pollTimeout, Duration.ofMillis(1));
		this.pollTimeout = pollTimeout;
		this.backoff = new Backoff(PollerConfig.DEFAULT_BACKOFF_MIN, PollerConfig.DEFAULT_BACKOFF_MAX);
		this.thread = new Thread(this::run, "waterdrop.dispatch-" + producerId);
		this.thread.setDaemon(true);
	}

	/** Starts dispatching for {@code pollable}. */
	public void start(Pollable pollable) {
		this.pollable = pollable;
		this.thread.start();
		pollable.monitor().publish(new PollerEvent.ProducerRegistered(pollerName(), pollable.id()));
	}

	@Override
	public void signal() {
		this.signalled = true;
		if (this.parking) {
			LockSupport.unpark(this.thread);
		}
	}

	@Override
	public PollingMode mode() {
		return PollingMode.THREAD;
	}

	@Override
	public String pollerName() {
		return this.thread.getName();
	}

	@Override
	public boolean isPollingThread() {
		return Thread.currentThread() == this.thread;
	}

	@Override
	public CompletableFuture<Void> detach() {
		this.detaching = true;
		LockSupport.unpark(this.thread);
		return this.detached;
	}

	/** Nanoseconds until the served producer's periodic work is due (a statistics interval under the poll timeout). */
	private static long untilNextPeriodic(Pollable served) {
		long due = served.nextPeriodicNanos();
		return (due != Long.MAX_VALUE) ? Math.max(0, due - System.nanoTime()) : Long.MAX_VALUE;
	}

	/** Parks unless a signal or a detach came; a signal from now on unparks (see the class comment). */
	private void park(long nanos) {
		this.parking = true;
		if (!this.signalled && !this.detaching) {
			LockSupport.parkNanos(this, nanos);
		}
		this.parking = false;
	}

	private void run() {
		Pollable served = this.pollable;
		long pollTimeoutNanos = this.pollTimeout.toNanos();
		DrainSlice slice = DrainSlice.untilDeadline();
		try {
			PollingThreads.markCurrent(); // inside: a failure here must still end the session
			while (true) {
				try {
					// A callback may leave the flag set; park would then return at once, every time.
					Thread.interrupted();
					this.signalled = false;
					boolean stopping = this.detaching;
					boolean empty = served.drain(slice.begin(System.nanoTime(), pollTimeoutNanos, pollTimeoutNanos));
					served.periodic(System.nanoTime());
					this.backoff.reset();
					if (empty && stopping) {
						break;
					}
					// A signal or detach during the drain may have lost its unpark: go round again instead.
					if (empty && !SpinWait.until(this.signalledOrDetaching, Poller.SPIN_BEFORE_SLEEP_NANOS)) {
						park(Math.min(pollTimeoutNanos, untilNextPeriodic(served)));
					}
				}
				catch (VirtualMachineError ex) {
					throw ex;
				}
				catch (Throwable ex) {
					Duration pause = this.backoff.next();
					logger.error("Dispatch thread of producer '{}' failed; next cycle in {} ms", served.id(),
							pause.toMillis(), ex);
					served.monitor()
						.publish(new ProducerEvent.ErrorOccurred(served.id(), ErrorType.POLLER_LOOP, ex, null, null));
					served.monitor().publish(new PollerEvent.LoopError(pollerName(), ex, pause));
					LockSupport.parkNanos(pause.toNanos());
				}
			}
			served.monitor().publish(new PollerEvent.ProducerUnregistered(pollerName(), served.id()));
			this.detached.complete(null);
		}
		catch (Throwable ex) {
			try {
				served.pollingTerminated(ex);
			}
			finally { // also when that fails (out of memory): a close must not wait for this thread in vain
				this.detached.completeExceptionally(ex);
			}
			throw ex;
		}
		finally {
			PollingThreads.unmarkCurrent();
		}
	}

}
