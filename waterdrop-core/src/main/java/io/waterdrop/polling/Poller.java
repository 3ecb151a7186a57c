package io.waterdrop.polling;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.PollerEvent;
import io.waterdrop.instrumentation.ProducerEvent;

/**
 * One thread that dispatches the delivery reports of many {@link PollingMode#FD fd}-mode producers.
 * <p>
 * Each registered producer has a {@link WakeupPipe}; the Poller thread waits in a {@link Selector} on all
 * of them (a pipe writes only while the thread waits there; while it is awake, the pipe announces itself
 * and the thread collects it before it would wait: {@link PollerWakeups}), and serves every producer whose
 * pipe signalled with one drain slice. A slice lasts at most that producer's {@code maxTime}; it ends early,
 * once it has run the producer's {@code minTime}, when another producer of this Poller signalled since the
 * round's producers were collected (read from a Poller-wide signal count between reports, no system call:
 * {@link DrainSlice}), so a quiet producer waits about one {@code minTime} plus one callback, not a whole
 * {@code maxTime}. A producer whose slice ended with reports left is served again without waiting for a
 * new signal (its queue suppresses signals meanwhile), after the newly signalled producers and those
 * already waiting had their slice: a flooding producer cannot starve a quiet one. When the selector waits
 * {@link PollerConfig#pollTimeout()} without a signal, and about every 100 ms while busy (checked after each
 * slice), every producer's periodic work runs.
 * <p>
 * Threading contract: only the Poller thread touches the selector, the selection keys and the
 * registration state. Other threads submit registrations and detachments to a queue and wake the selector
 * (as Jetty's {@code ManagedSelector} does), so a change takes effect at once, not after a poll timeout.
 * The thread starts on the first registration and ends after its last producer is detached; a later
 * registration starts a new one. Its name is stable: {@code waterdrop.poller#0} for the {@link #global()}
 * Poller, {@code waterdrop.poller#N-name} for dedicated ones.
 * <p>
 * Failures: a failure of the loop itself is published to every registered producer
 * ({@code error.occurred} of type {@code poller.polling_loop} and {@link PollerEvent.LoopError}) and
 * followed by a pause that doubles from {@code backoffMin} to {@code backoffMax} and returns to
 * {@code backoffMin} after a clean cycle. If the thread dies (a {@link VirtualMachineError}), every
 * producer is told ({@link Pollable#pollingTerminated}) and every pending registration, detachment and
 * close is released with the cause; a producer's close then dispatches the reports left on its own thread
 * (as a polling thread, {@link PollingThreads#runAsPollingThread}); until then callers waiting for one wait
 * (a synchronous one up to its timeout).
 */
public final class Poller {

	private static final Logger logger = LoggerFactory.getLogger(Poller.class);

	private static final AtomicInteger dedicatedIndex = new AtomicInteger(1);

	/**
	 * How long the thread keeps looking for a signal before it blocks, after a cycle that served reports:
	 * Kafka's network thread completes the batches of one response back to back, and a report that comes
	 * within a few microseconds is then served without a pipe write, an epoll wake-up and a pipe read
	 * (which cost more than this). The JDK's own hand-offs spin briefly before parking for the same reason.
	 */
	static final long SPIN_BEFORE_SLEEP_NANOS = TimeUnit.MICROSECONDS.toNanos(5);

	private static final long PERIODIC_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

	private final PollerConfig config;

	private final String threadName;

	private final PollerStats stats = new PollerStats();

	private final Queue<Consumer<Loop>> changes = new ConcurrentLinkedQueue<>();

	/** Registrations per producer id: producers of two application contexts may share an id on one Poller. */
	private final Map<String, Integer> producerIds = new ConcurrentHashMap<>();

	/** What this Poller's pipes share: the signal count and the pipes that signalled while it was awake. */
	private final PollerWakeups wakeups = new PollerWakeups();

	private final ReentrantLock lock = new ReentrantLock();

	private final Condition threadEnded = this.lock.newCondition();

	/** Producers registered or about to be; the thread runs while it is above zero. Guarded by lock. */
	private int registrations;

	/** The selector of the running thread. Guarded by lock. */
	private Selector selector;

	private volatile Thread thread;

	/**
	 * The thread is pausing after a failed cycle (parked, not in its selector): a change must unpark it.
	 * Written before the thread's look at the changes; a change is queued before it reads this, so at least one
	 * of the two sees the other.
	 */
	private volatile boolean backingOff;

	/** The thread that ended last; it may still be closing its selector. Guarded by lock. */
	private Thread endedThread;

	/** Creates the Poller's threads; replaceable by tests that make starting a thread fail. */
	private final ThreadFactory threads;

	/** A dedicated Poller with the given settings; its thread starts on the first registration. */
	public Poller(PollerConfig config) {
		this(config, "waterdrop.poller#" + dedicatedIndex.getAndIncrement() + "-" + config.name(), Thread::new);
	}

	Poller(PollerConfig config, String threadName, ThreadFactory threads) {
		this.config = config;
		this.threadName = threadName;
		this.threads = threads;
	}

	/** The Poller that fd-mode producers use unless they name another one. */
	public static Poller global() {
		return Global.INSTANCE;
	}

	public String name() {
		return this.config.name();
	}

	public PollerConfig config() {
		return this.config;
	}

	/** The name the Poller's thread has whenever it runs. */
	public String threadName() {
		return this.threadName;
	}

	public PollerStats stats() {
		return this.stats;
	}

	/** Whether the Poller's thread is running. */
	public boolean isRunning() {
		return this.thread != null;
	}

	/** Whether the calling thread is this Poller's thread. */
	public boolean isPollerThread() {
		return Thread.currentThread() == this.thread;
	}

	/** Producers registered (or being registered) now. */
	public int registeredProducers() {
		this.lock.lock();
		try {
			return this.registrations;
		}
		finally {
			this.lock.unlock();
		}
	}

	/** Ids of the producers the thread serves now. */
	public Set<String> producerIds() {
		return Collections.unmodifiableSet(this.producerIds.keySet());
	}

	/**
	 * Waits until the thread has ended (no producer left).
	 * @return {@code false} if it still runs after {@code timeout}
	 */
	public boolean awaitStopped(Duration timeout) throws InterruptedException {
		long remaining = timeout.toNanos();
		Thread ending;
		this.lock.lock();
		try {
			while (this.thread != null) {
				if (remaining <= 0) {
					return false;
				}
				remaining = this.threadEnded.awaitNanos(remaining);
			}
			ending = this.endedThread;
		}
		finally {
			this.lock.unlock();
		}
		// The loop has let go but may still be closing its selector: wait until the thread has really ended.
		if (ending != null && ending != Thread.currentThread()) {
			TimeUnit.NANOSECONDS.timedJoin(ending, remaining);
			return !ending.isAlive();
		}
		return true;
	}

	/**
	 * Opens the wake-up pipe for a producer about to {@link #register}: it writes only while this Poller
	 * sleeps in its selector and otherwise announces itself ({@link PollerWakeups}); its signals also tell
	 * the Poller that this producer is waiting, so that a long slice of another producer can end early.
	 */
	public WakeupPipe openPipe() {
		return WakeupPipe.open(this.wakeups);
	}

	/**
	 * Starts serving a producer: from now on a signal on {@code pipe} makes the Poller drain
	 * {@code pollable}. Returns at once; the Poller thread applies the registration as its next step.
	 * @throws IllegalArgumentException if {@code pipe} was opened by another Poller (use {@link #openPipe()};
	 * a pipe from {@link WakeupPipe#open()} is accepted and writes on every signal)
	 */
	public PollingSession register(Pollable pollable, WakeupPipe pipe) {
		if (pipe.announces() && !pipe.announcesTo(this.wakeups)) {
			// Its signals would announce to the other Poller, which never wakes this one.
			throw new IllegalArgumentException("The wake-up pipe of producer '" + pollable.id()
					+ "' was opened by another Poller; open it with " + this + ".openPipe()");
		}
		Registration registration = new Registration(pollable, pipe);
		this.lock.lock();
		try {
			this.registrations++;
			try {
				submit((loop) -> loop.register(registration));
			}
			catch (RuntimeException | Error ex) {
				this.registrations--; // not registered: the caller still owns the pipe and releases it
				throw ex;
			}
		}
		finally {
			this.lock.unlock();
		}
		return registration;
	}

	private void submit(Consumer<Loop> change) {
		this.lock.lock();
		try {
			this.changes.add(change);
			if (this.thread == null) {
				try {
					startThread();
				}
				catch (RuntimeException | Error ex) {
					this.changes.remove(change); // nobody would ever apply it
					throw ex;
				}
			}
			else {
				this.selector.wakeup();
				if (this.backingOff) {
					LockSupport.unpark(this.thread);
				}
			}
		}
		finally {
			this.lock.unlock();
		}
	}

	/**
	 * Opens a selector and starts a thread on it; leaves nothing behind when either fails (too many open
	 * files, no memory for a thread), so that the next registration can try again. Holding the lock.
	 */
	private void startThread() {
		Selector opened;
		try {
			opened = Selector.open();
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not open a selector for Poller '" + name() + "'", ex);
		}
		Thread started;
		try {
			started = this.threads.newThread(new Loop(opened));
		}
		catch (RuntimeException | Error ex) {
			closeQuietly(opened);
			throw ex;
		}
		started.setName(this.threadName);
		started.setDaemon(true);
		// Set before start: a callback on the new thread must already be recognised as the Poller's.
		this.selector = opened;
		this.thread = started;
		try {
			started.start();
		}
		catch (RuntimeException | Error ex) {
			this.selector = null;
			this.thread = null;
			closeQuietly(opened);
			throw ex;
		}
	}

	private void closeQuietly(Selector selector) {
		try {
			selector.close();
		}
		catch (IOException ex) {
			logger.debug("Could not close the selector of {}", this, ex);
		}
	}

	/** Ends the thread if nothing is registered or pending. Runs on the Poller thread. */
	private boolean stopIfIdle() {
		this.lock.lock();
		try {
			if (this.registrations > 0 || !this.changes.isEmpty()) {
				return false;
			}
			endThread();
			return true;
		}
		finally {
			this.lock.unlock();
		}
	}

	private void endThread() {
		this.endedThread = this.thread;
		this.thread = null;
		this.selector = null;
		this.threadEnded.signalAll();
	}

	@Override
	public String toString() {
		return "Poller '" + name() + "' (" + this.threadName + ")";
	}

	/** The loop of one run of the Poller thread; its fields are confined to that thread. */
	private final class Loop implements Runnable {

		private final Selector selector;

		private final List<Registration> registered = new ArrayList<>();

		private final ArrayDeque<Registration> ready = new ArrayDeque<>();

		/** Producers marked ready since the last round began, in the order they signalled; see {@link #markReady}. */
		private final ArrayDeque<Registration> newlyReady = new ArrayDeque<>();

		private final Backoff backoff = new Backoff(Poller.this.config.backoffMin(),
				Poller.this.config.backoffMax());

		private long lastPeriodic = System.nanoTime();

		private final DrainSlice slice = new DrainSlice(Poller.this.wakeups.signals());

		private final Consumer<SelectionKey> onSelected = this::selected;

		private final Consumer<WakeupPipe> onAnnounced = this::announced;

		/**
		 * Registered pipes not opened by this Poller: they write on every signal and never announce, so a busy
		 * cycle must still select them.
		 */
		private int writingPipes;

		/**
		 * A producer left since the last select: its cancelled key, and the pipe's file descriptor with it,
		 * is let go only by the selector's next select, which a busy cycle must then do.
		 */
		private boolean keysCancelled;

		/** The last cycle served some producer: more reports are likely to follow within microseconds. */
		private boolean servedLastCycle;

		/** Set when the thread dies; registrations still queued then are released with it. */
		private Throwable death;

		Loop(Selector selector) {
			this.selector = selector;
		}

		@Override
		public void run() {
			Throwable death = null;
			try {
				PollingThreads.markCurrent(); // inside: a failure here must still release what the loop holds
				while (true) {
					try {
						// A callback may leave the flag set; select() would then return at once, every time.
						Thread.interrupted();
						applyChanges();
						if (this.registered.isEmpty() && stopIfIdle()) {
							return;
						}
						cycle();
						this.backoff.reset();
					}
					catch (VirtualMachineError ex) {
						throw ex;
					}
					catch (Throwable ex) {
						failedCycle(ex);
					}
				}
			}
			catch (Throwable ex) {
				death = ex;
				throw ex;
			}
			finally {
				PollingThreads.unmarkCurrent();
				closeSelector();
				if (death != null) {
					died(death);
				}
			}
		}

		private void applyChanges() {
			Consumer<Loop> change;
			while ((change = Poller.this.changes.poll()) != null) {
				change.accept(this);
			}
		}

		private void cycle() throws IOException {
			long pollTimeoutNanos = Poller.this.config.pollTimeout().toNanos();
			boolean timedOut = false;
			int selected;
			// The Consumer forms of select hand over each ready key directly: no selected-key set to fill,
			// iterate and clear (which allocates per key and per cycle).
			PollerWakeups wakeups = Poller.this.wakeups;
			int announced = wakeups.collect(this.onAnnounced);
			boolean noneReady = this.ready.isEmpty() && this.newlyReady.isEmpty();
			if (noneReady && wakeups.sleep(this.servedLastCycle ? SPIN_BEFORE_SLEEP_NANOS : 0)) {
				long start = System.nanoTime();
				long waitNanos;
				try { // awake again whatever fails, or every signal would write to the pipe meanwhile
					// Wake for periodic work due sooner (a statistics interval under the poll timeout) too.
					waitNanos = Math.min(pollTimeoutNanos, untilNextPeriodic(start));
					selected = this.selector.select(this.onSelected,
							Math.max(1, TimeUnit.NANOSECONDS.toMillis(waitNanos + 999_999)));
				}
				finally {
					wakeups.awake();
				}
				timedOut = selected == 0 && Poller.this.changes.isEmpty() && System.nanoTime() - start >= waitNanos;
			}
			else {
				// Pipes of this Poller announce every signal while it is awake; only others must be selected.
				boolean mustSelect = this.writingPipes > 0 || this.keysCancelled;
				selected = mustSelect ? this.selector.selectNow(this.onSelected) : 0;
			}
			this.keysCancelled = false;
			this.slice.collecting(); // before collecting: a signal after it is news to every slice of the round
			announced += wakeups.collect(this.onAnnounced); // a producer whose pipe also wrote is marked ready once
			if (selected > 0 || announced > 0) {
				Poller.this.stats.signalWakeups.increment();
			}
			else if (timedOut) {
				Poller.this.stats.timeoutWakeups.increment();
			}
			serveReady();
			periodicIfDue(System.nanoTime(), timedOut);
		}

		/**
		 * Every producer's periodic work, when the select timed out ({@code force}) or 100 ms have passed since
		 * the last: checked after each cycle and after each slice, so floods that each use their whole
		 * {@code max-time} do not put it off for a round of all of them.
		 */
		private void periodicIfDue(long now, boolean force) {
			if (force || now - this.lastPeriodic >= PERIODIC_CHECK_NANOS) {
				this.lastPeriodic = now;
				for (int i = 0; i < this.registered.size(); i++) {
					this.registered.get(i).pollable.periodic(now);
				}
			}
		}

		/** A producer's pipe signalled: empty the pipe and queue the producer for a slice. */
		private void selected(SelectionKey key) {
			Registration registration = (Registration) key.attachment();
			try {
				registration.pipe.clear();
			}
			catch (IOException ex) {
				throw new UncheckedIOException(ex);
			}
			markReady(registration);
		}

		/** A producer's pipe signalled while this thread was awake, without writing: queue it for a slice. */
		private void announced(WakeupPipe pipe) {
			Registration registration = (Registration) pipe.registration;
			if (registration != null) { // null: not registered yet (registering serves it) or removed already
				markReady(registration);
			}
		}

		private long untilNextPeriodic(long nowNanos) {
			long until = Long.MAX_VALUE;
			for (int i = 0; i < this.registered.size(); i++) {
				long due = this.registered.get(i).pollable.nextPeriodicNanos();
				if (due != Long.MAX_VALUE) {
					until = Math.min(until, Math.max(0, due - nowNanos));
				}
			}
			return until;
		}

		/**
		 * One slice for every producer that was ready when the round began, in order. A slice cut short
		 * because another producer signalled ends the round: the next cycle picks that producer up (ahead of
		 * those carried over) while the producers not yet served keep their places.
		 */
		private void serveReady() {
			Registration signalled;
			while ((signalled = this.newlyReady.pollLast()) != null) { // ahead of the carried over, in their order
				this.ready.addFirst(signalled);
			}
			this.servedLastCycle = !this.ready.isEmpty();
			for (int remaining = this.ready.size(); remaining > 0; remaining--) {
				Registration registration = this.ready.poll();
				long start = System.nanoTime();
				boolean empty;
				try {
					empty = registration.pollable.drain(
							this.slice.begin(start, registration.maxTimeNanos, registration.minTimeNanos));
				}
				catch (RuntimeException | Error ex) {
					this.ready.addLast(registration); // still has reports; retried after the back-off
					throw ex;
				}
				long end = System.nanoTime();
				Poller.this.stats.drains.increment();
				Poller.this.stats.drainNanos.add(end - start);
				if (!empty) {
					this.ready.addLast(registration);
					if (this.slice.end() == DrainSlice.End.PRODUCER_WAITING) {
						Poller.this.stats.yieldedDrains.increment();
						return;
					}
					Poller.this.stats.exhaustedDrains.increment();
				}
				else {
					registration.ready = false;
					if (registration.detaching) {
						remove(registration);
					}
				}
				periodicIfDue(end, false); // with the producer back in place: periodic work may throw
			}
		}

		/**
		 * Newly ready producers go ahead of those carried over with their slice used up, in the order they
		 * signalled: a producer that signalled during another's slice then waits for that one slice, not for a
		 * second one too, nor for producers that signalled after it.
		 */
		private void markReady(Registration registration) {
			if (!registration.ready) {
				registration.ready = true;
				this.newlyReady.addLast(registration);
			}
		}

		void register(Registration registration) {
			if (this.death != null) {
				releaseOrphan(registration, this.death);
				return;
			}
			// Listed before anything that may fail: a thread that dies from here on (an OutOfMemoryError in the
			// selector's registration) releases it with the others instead of leaving its producer unserved.
			this.registered.add(registration);
			try {
				registration.key = registration.pipe.source().register(this.selector, SelectionKey.OP_READ, registration);
			}
			catch (IOException | RuntimeException ex) {
				this.registered.remove(registration);
				Poller.this.lock.lock();
				try {
					Poller.this.registrations--;
				}
				finally {
					Poller.this.lock.unlock();
				}
				registration.pipe.close();
				registration.pollable.pollingTerminated(ex);
				registration.detached.completeExceptionally(ex);
				return;
			}
			registration.pipe.registration = registration;
			if (!registration.pipe.announcesTo(Poller.this.wakeups)) {
				this.writingPipes++;
			}
			Poller.this.producerIds.merge(registration.pollable.id(), 1, Integer::sum);
			// Reports queued before the key existed may have signalled already: serve once to be sure.
			markReady(registration);
			registration.pollable.monitor()
				.publish(new PollerEvent.ProducerRegistered(name(), registration.pollable.id()));
		}

		void detach(Registration registration) {
			if (!this.registered.contains(registration)) {
				return; // registration failed earlier; its future is completed already
			}
			// Dispatch what is left in maxTime slices like any other work, then remove it (serveReady).
			registration.detaching = true;
			markReady(registration);
		}

		private void remove(Registration registration) {
			try {
				unregister(registration);
			}
			finally { // whatever fails (out of memory), the detach waiting for this must not wait in vain
				registration.detached.complete(null);
			}
		}

		private void unregister(Registration registration) {
			registration.pipe.registration = null;
			if (!registration.pipe.announcesTo(Poller.this.wakeups)) {
				this.writingPipes--;
			}
			registration.key.cancel();
			// Let go of the producer now: the cancelled key stays in the selector until its next select, and an
			// ended thread keeps its loop, and with it the selector, for as long as the Poller keeps the thread.
			registration.key.attach(null);
			this.keysCancelled = true;
			registration.pipe.close();
			this.registered.remove(registration);
			Poller.this.producerIds.computeIfPresent(registration.pollable.id(),
					(id, count) -> (count > 1) ? count - 1 : null);
			Poller.this.lock.lock();
			try {
				Poller.this.registrations--;
			}
			finally {
				Poller.this.lock.unlock();
			}
			registration.pollable.monitor()
				.publish(new PollerEvent.ProducerUnregistered(name(), registration.pollable.id()));
		}

		private void failedCycle(Throwable error) {
			Poller.this.stats.loopErrors.increment();
			Duration pause = this.backoff.next();
			logger.error("{} loop failed; next cycle in {} ms", Poller.this, pause.toMillis(), error);
			for (Registration registration : this.registered) {
				String producerId = registration.pollable.id();
				registration.pollable.monitor()
					.publish(new ProducerEvent.ErrorOccurred(producerId, ErrorType.POLLER_LOOP, error, null, null));
				registration.pollable.monitor().publish(new PollerEvent.LoopError(name(), error, pause));
			}
			// A registration or detach does not wait for the pause (a close would wait up to backoffMax).
			Poller.this.backingOff = true;
			if (Poller.this.changes.isEmpty()) {
				LockSupport.parkNanos(pause.toNanos());
			}
			Poller.this.backingOff = false;
		}

		private void closeSelector() {
			closeQuietly(this.selector);
		}

		/**
		 * The thread is dying: release every producer and every waiter instead of leaving them hanging. The
		 * cause is most often an OutOfMemoryError, which may strike again here: each step stands on its own,
		 * allocating as little as it can, and the thread is ended whatever fails.
		 */
		private void died(Throwable cause) {
			List<Registration> orphans = this.registered; // not applied to any more: read as it is, no copy
			// Done before anyone can see the thread gone: a detach now (from a producer's pollingTerminated,
			// or a close it wakes) finds nothing to do instead of starting a thread to do it; and a thread
			// started after this one, which takes over the list of announced pipes, serves none of these
			// (the lock's release below publishes the nulls to it).
			for (int i = 0; i < orphans.size(); i++) {
				Registration orphan = orphans.get(i);
				orphan.pipe.registration = null;
				try {
					orphan.detached.completeExceptionally(cause);
				}
				catch (Throwable ex) {
					releaseFailed(ex);
				}
			}
			List<Consumer<Loop>> pending = List.of();
			Poller.this.lock.lock();
			try {
				try {
					// Left queued if even this list cannot be had: the next thread applies them.
					List<Consumer<Loop>> taken = new ArrayList<>(Poller.this.changes.size());
					for (Iterator<Consumer<Loop>> changes = Poller.this.changes.iterator(); changes.hasNext();) {
						taken.add(changes.next());
						changes.remove();
					}
					pending = taken;
				}
				catch (Throwable ex) {
					releaseFailed(ex);
				}
				Poller.this.registrations = 0;
				// Under the lock: once it is released a registration may start a new thread, which adds ids.
				Poller.this.producerIds.clear();
				endThread();
			}
			finally {
				Poller.this.lock.unlock();
			}
			try {
				logger.error("{} thread died; its producers stop receiving delivery reports", Poller.this, cause);
			}
			catch (Throwable ex) { // logging allocates: go on releasing
			}
			for (int i = 0; i < orphans.size(); i++) {
				try {
					releaseOrphan(orphans.get(i), cause);
				}
				catch (Throwable ex) {
					releaseFailed(ex);
				}
			}
			this.registered.clear(); // the ended thread keeps this loop: it must not keep the producers
			this.ready.clear();
			this.newlyReady.clear();
			// Registrations queued but never applied would otherwise wait forever: register() releases them now.
			this.death = cause;
			for (int i = 0; i < pending.size(); i++) {
				try {
					pending.get(i).accept(this);
				}
				catch (Throwable ex) {
					releaseFailed(ex);
				}
			}
		}

		private void releaseFailed(Throwable ex) {
			try {
				logger.error("{} thread died; releasing what it served failed too", Poller.this, ex);
			}
			catch (Throwable ignored) { // out of memory still: nothing more can be done here
			}
		}

		private void releaseOrphan(Registration orphan, Throwable cause) {
			if (orphan.key != null) { // null: still queued when the thread died, never registered
				orphan.key.attach(null);
			}
			orphan.detached.completeExceptionally(cause);
			orphan.pipe.close();
			orphan.pollable.pollingTerminated(cause);
		}

	}

	/** One producer's registration. Fields without {@code final} belong to the Poller thread. */
	private final class Registration implements PollingSession {

		final Pollable pollable;

		final WakeupPipe pipe;

		final long maxTimeNanos;

		final long minTimeNanos;

		final CompletableFuture<Void> detached = new CompletableFuture<>();

		private final AtomicBoolean detachRequested = new AtomicBoolean();

		SelectionKey key;

		boolean ready;

		boolean detaching;

		Registration(Pollable pollable, WakeupPipe pipe) {
			this.pollable = pollable;
			this.pipe = pipe;
			this.maxTimeNanos = pollable.maxTime().toNanos();
			this.minTimeNanos = pollable.minTime().toNanos();
		}

		@Override
		public PollingMode mode() {
			return PollingMode.FD;
		}

		@Override
		public String pollerName() {
			return name();
		}

		@Override
		public boolean isPollingThread() {
			return isPollerThread();
		}

		@Override
		public CompletableFuture<Void> detach() {
			if (this.detachRequested.compareAndSet(false, true) && !this.detached.isDone()) {
				submit((loop) -> loop.detach(this));
			}
			return this.detached;
		}

	}

	private static final class Global {

		static final Poller INSTANCE = new Poller(PollerConfig.named("global"), "waterdrop.poller#0", Thread::new);

	}

}
