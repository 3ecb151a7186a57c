package io.waterdrop.polling;

import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.waterdrop.instrumentation.Event;
import io.waterdrop.instrumentation.Monitor;

/**
 * A {@link Pollable} driven by a test: its reports are {@link Runnable}s, run on the polling thread when
 * drained. Like a producer it has its own {@link ReportQueue} and {@link WakeupPipe}, so the Poller sees
 * exactly the signal protocol a real producer uses.
 */
class TestSource implements Pollable {

	private final String id;

	private final Duration maxTime;

	private Duration minTime;

	private final Monitor monitor;

	final WakeupPipe pipe;

	final ReportQueue<Task> queue;

	/** Every event published to this source's monitor. */
	final List<Event> events = new CopyOnWriteArrayList<>();

	/** {@code System.nanoTime()} of every periodic call. */
	final Queue<Long> periodicCalls = new ConcurrentLinkedQueue<>();

	/** Drain calls started. */
	final AtomicInteger drains = new AtomicInteger();

	/** Drain calls that returned normally. */
	final AtomicInteger cleanDrains = new AtomicInteger();

	/** {@code System.nanoTime()} when the latest drain started. */
	final AtomicLong lastDrainStart = new AtomicLong();

	/** When set, every drain throws it before touching the queue. */
	volatile RuntimeException failure;

	volatile Thread drainingThread;

	volatile Throwable terminated;

	/** A source for a {@link Poller}: its queue signals its pipe. */
	TestSource(String id, Duration maxTime) {
		this(id, maxTime, (Wakeup) null);
	}

	/** A source whose queue signals {@code wakeup} (a {@link DispatchThread}), or its pipe if null. */
	TestSource(String id, Duration maxTime, Wakeup wakeup) {
		this.pipe = WakeupPipe.open();
		this.id = id;
		this.maxTime = maxTime;
		this.minTime = maxTime;
		this.queue = new ReportQueue<>((wakeup != null) ? wakeup : this.pipe);
		this.monitor = new Monitor(id);
		this.monitor.subscribe(this.events::add);
	}

	/** A source of a {@link Poller} whose pipe counts its signals there, so it can end others' slices. */
	static TestSource of(Poller poller, String id, Duration maxTime, Duration minTime) {
		TestSource source = new TestSource(id, maxTime, poller.openPipe());
		source.minTime = minTime;
		return source;
	}

	private TestSource(String id, Duration maxTime, WakeupPipe pipe) {
		this.id = id;
		this.maxTime = maxTime;
		this.minTime = maxTime;
		this.pipe = pipe;
		this.queue = new ReportQueue<>(pipe);
		this.monitor = new Monitor(id);
		this.monitor.subscribe(this.events::add);
	}

	PollingSession registerWith(Poller poller) {
		return poller.register(this, this.pipe);
	}

	void offer(Runnable report) {
		this.queue.offer(new Task(report));
	}

	/** A report: work to run on the polling thread. */
	static final class Task extends ReportQueue.Node {

		final Runnable work;

		Task(Runnable work) {
			this.work = work;
		}

	}

	<E extends Event> List<E> events(Class<E> type) {
		return this.events.stream().filter(type::isInstance).map(type::cast).toList();
	}

	@Override
	public String id() {
		return this.id;
	}

	@Override
	public Duration maxTime() {
		return this.maxTime;
	}

	@Override
	public Duration minTime() {
		return this.minTime;
	}

	@Override
	public Monitor monitor() {
		return this.monitor;
	}

	@Override
	public boolean drain(DrainSlice slice) {
		this.drainingThread = Thread.currentThread();
		this.lastDrainStart.set(System.nanoTime());
		this.drains.incrementAndGet();
		RuntimeException toThrow = this.failure;
		if (toThrow != null) {
			throw toThrow;
		}
		boolean empty = this.queue.drainTo(slice, (Task task) -> task.work.run());
		this.cleanDrains.incrementAndGet();
		return empty;
	}

	@Override
	public void periodic(long nowNanos) {
		this.periodicCalls.add(nowNanos);
	}

	@Override
	public void pollingTerminated(Throwable cause) {
		this.terminated = cause;
	}

	/** Busy-waits, like a callback doing real work (sleeping would hand the CPU back). */
	static void spin(long nanos) {
		long end = System.nanoTime() + nanos;
		while (System.nanoTime() - end < 0) {
			Thread.onSpinWait();
		}
	}

	/** Whether a live thread has the given name. */
	static boolean threadAlive(String name) {
		return Thread.getAllStackTraces().keySet().stream().anyMatch((t) -> t.isAlive() && t.getName().equals(name));
	}

}
