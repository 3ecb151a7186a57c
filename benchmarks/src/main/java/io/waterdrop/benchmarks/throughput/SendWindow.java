package io.waterdrop.benchmarks.throughput;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import io.waterdrop.benchmarks.clients.DeliveryListener;

/**
 * One producer's messages in flight during a throughput trial: counts its delivery reports (it is the
 * producer's counting callback), keeps its sender at most {@code capacity} messages ahead of them, and
 * notes when the last report came in.
 * <p>
 * Why a window: an unbounded sender fills whatever the client buffers (32 MB of Kafka's accumulator, or
 * WaterDrop's 100,000 in-flight slots) and the trial then measures each client's back-pressure and a tail
 * of many seconds; with slow callbacks and 25 or 100 producers that tail and the heap it holds grow out of
 * hand. A window of thousands of messages keeps every client's pipeline full (a partition has at most 5
 * requests of one 16 KB batch in flight) while the same bound holds for all.
 * <p>
 * Cheap on the measured path, which runs on each client's dispatching thread: the callback does one atomic
 * increment and one volatile read of a field that changes only when the sender blocks, and wakes a
 * blocked sender once (the first callback past the mark takes the waiter; the others see none), not once
 * per report until the sender has run. The sender reads the count once per half window. Threads: one
 * sender, any number of callback threads, one thread waiting for the end.
 */
final class SendWindow implements DeliveryListener {

	private static final long PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

	private final int capacity;

	/** Written by every dispatching thread on every report: padded, see {@link PaddedCounter}. */
	private final PaddedCounter delivered = new PaddedCounter();

	private final AtomicReference<Throwable> failure = new AtomicReference<>();

	/** Messages the sender sent in all, once it has stopped; {@code Long.MAX_VALUE} until then. */
	private volatile long total = Long.MAX_VALUE;

	/** The delivered count at which {@link #waiter} wants to be woken; {@code Long.MAX_VALUE} if none waits. */
	private volatile long wakeAt = Long.MAX_VALUE;

	/** The thread to wake, taken (set to null) by the callback that wakes it. */
	private final AtomicReference<Thread> waiter = new AtomicReference<>();

	private volatile long lastDeliveryNanos;

	SendWindow(int capacity) {
		if (capacity < 2) {
			throw new IllegalArgumentException("A window needs room for at least 2 messages");
		}
		this.capacity = capacity;
	}

	@Override
	public void delivered(Throwable error) {
		if (error != null) {
			this.failure.compareAndSet(null, error);
		}
		long done = this.delivered.incrementAndGet();
		if (done >= this.total) {
			this.lastDeliveryNanos = System.nanoTime();
		}
		if (done >= this.wakeAt && this.waiter.get() != null) {
			Thread parked = this.waiter.getAndSet(null);
			if (parked != null) {
				LockSupport.unpark(parked);
			}
		}
	}

	/**
	 * Sender: how many more messages it may send now, having sent {@code sent}. Returns at once while at
	 * most half the window is in flight, else blocks until that is so again: the sender refills in large
	 * steps and reads the shared count rarely.
	 */
	long room(long sent, Duration timeout) {
		long inFlight = sent - this.delivered.get();
		if (inFlight > this.capacity / 2) {
			awaitDelivered(sent - this.capacity / 2, timeout);
			inFlight = sent - this.delivered.get();
		}
		return this.capacity - inFlight;
	}

	/** Sender: it has stopped after {@code sent} messages (whether it finished or failed). */
	void finish(long sent) {
		this.total = sent;
		// The callback that delivered the last report may have run before total was set: then it is us.
		if (this.delivered.get() >= sent) {
			this.lastDeliveryNanos = System.nanoTime();
		}
	}

	/** Reports delivered so far. */
	long delivered() {
		return this.delivered.get();
	}

	/** Messages sent, once the sender has stopped. */
	long total() {
		return this.total;
	}

	/** The sender failed: its error fails the trial. */
	void abort(Throwable error) {
		this.failure.compareAndSet(null, error);
	}

	/**
	 * After {@link #finish}: waits for every report and returns when the last one came in
	 * ({@link System#nanoTime()}); throws if a delivery or the sender failed or reports are missing.
	 */
	long awaitAll(Duration timeout) {
		awaitDelivered(this.total, timeout);
		long last = this.lastDeliveryNanos;
		// The last report's callback counts it, then notes the time: seen between the two, it is about now.
		return (last != 0) ? last : System.nanoTime();
	}

	private void awaitDelivered(long count, Duration timeout) {
		long deadline = System.nanoTime() + timeout.toNanos();
		try {
			while (this.delivered.get() < count) {
				throwIfFailed();
				if (System.nanoTime() - deadline > 0) {
					throw new IllegalStateException((count - this.delivered.get()) + " delivery report(s) missing after "
							+ timeout);
				}
				// Armed anew on every pass (a callback takes the waiter when it wakes it). A callback reads
				// wakeAt and waiter after its increment, this thread reads the count after setting both: one
				// of the two sees the other, so no wake-up is lost; the timed park is only a safety net.
				this.wakeAt = count;
				this.waiter.set(Thread.currentThread());
				if (this.delivered.get() >= count) {
					break;
				}
				LockSupport.parkNanos(this, PARK_NANOS);
				if (Thread.interrupted()) {
					throw new IllegalStateException("Interrupted while waiting for delivery reports");
				}
			}
		}
		finally {
			this.wakeAt = Long.MAX_VALUE;
			this.waiter.set(null);
		}
		throwIfFailed();
	}

	private void throwIfFailed() {
		Throwable error = this.failure.get();
		if (error != null) {
			throw new IllegalStateException("A delivery or its sender failed", error);
		}
	}

}
