package io.waterdrop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;

import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.InvalidPidMappingException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TransactionAbortedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.waterdrop.instrumentation.DeliveryObserver;
import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.Monitor;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.instrumentation.ProducerEvent.Mode;
import io.waterdrop.polling.DispatchThread;
import io.waterdrop.polling.DrainSlice;
import io.waterdrop.polling.PollingMode;
import io.waterdrop.polling.PollingSession;
import io.waterdrop.polling.PollingThreads;
import io.waterdrop.polling.ReportQueue;
import io.waterdrop.polling.WakeupPipe;

/**
 * A Kafka producer whose delivery reports leave Kafka's network thread at once and are dispatched on a
 * polling thread: a shared {@link io.waterdrop.polling.Poller Poller} in {@link PollingMode#FD fd} mode (the
 * default), or a thread of its own in {@link PollingMode#THREAD thread} mode.
 * <p>
 * Threading contract: thread-safe; share one producer between many threads, virtual threads included
 * (waits park, no monitor is held around a blocking call). The Kafka send callback only enqueues; handles,
 * {@link DeliveryCallback}s and event listeners for deliveries run on the polling thread. Waiting for a
 * report on that thread would deadlock, so {@link #produceSync} and {@link DeliveryHandle#await} throw
 * {@link IllegalCallerException} there, {@link #close()} there starts the close and returns at once, and
 * {@link #produceAsync} on any polling thread hands the send to a relay thread of this producer, because
 * Kafka's {@code send} may block for metadata or buffer space ({@code max.block.ms}) and would freeze every
 * producer that thread serves; a message refused there fails through its report instead of throwing.
 * <p>
 * Every accepted message gets exactly one outcome: a refusal thrown to the caller, or one report dispatched
 * on the polling thread ({@link Delivery} enforces it). Slots of {@code maxInFlight} are the in-flight
 * count: taken before a send, given back after the report's dispatch (per batch) or the refusal.
 * <p>
 * Life cycle (the public {@link ProducerStatus} in brackets); every transition is made by the thread named,
 * connect, disconnect, the start of a close and client swaps under {@code lifecycleLock} (a connect, a purge
 * and a rebuild build their client outside it, then connect or swap only if no close began meanwhile):
 * <table>
 * <caption>Producer states</caption>
 * <tr><th>from</th><th>event</th><th>to</th><th>thread</th><th>what it does or releases</th></tr>
 * <tr><td>CONFIGURED</td><td>connect / first message</td><td>CONNECTED</td><td>caller</td><td>creates the
 * client, pipe and polling registration; on failure releases what it created and stays CONFIGURED</td></tr>
 * <tr><td>CONFIGURED</td><td>close</td><td>CLOSED</td><td>closer</td><td>nothing to release (a connect
 * under way closes the client it built and refuses)</td></tr>
 * <tr><td>CONNECTED</td><td>close</td><td>DRAINING [CLOSING]</td><td>closer</td><td>refuses new messages;
 * asks Kafka to send lingering batches</td></tr>
 * <tr><td>CONNECTED</td><td>{@link #disconnect()} (also by idle time)</td><td>DISCONNECTED</td><td>caller
 * or a disconnect thread</td><td>only when idle (nothing in flight, no open transaction, empty buffer):
 * closes the Kafka client and lets go of the polling registration (pipe and selector key, or the dispatch
 * thread)</td></tr>
 * <tr><td>CONNECTED</td><td>{@link #purge()}, rebuild after a fatal error</td><td>CONNECTED</td>
 * <td>caller, a client-work thread, a transaction's thread</td><td>swaps in a new client and closes the old one
 * at once</td></tr>
 * <tr><td>DISCONNECTED</td><td>connect / next message</td><td>CONNECTED</td><td>caller (the relay thread for
 * a message produced in a callback)</td><td>registers for polling again and creates a new Kafka client; if
 * that fails, lets go of the registration and stays DISCONNECTED; if the polling thread died meanwhile, goes
 * to POLLING_LOST with the client</td></tr>
 * <tr><td>DISCONNECTED</td><td>close</td><td>RELEASING [CLOSING]</td><td>closer</td><td>a message a callback
 * produced meanwhile, still waiting on the relay for its reconnect, is reported as purged</td></tr>
 * <tr><td>CONNECTED</td><td>polling thread died</td><td>POLLING_LOST [CONNECTED]</td><td>polling
 * thread</td><td>refuses new messages; releases close waiters (a close already DRAINING or PURGING goes on to
 * RELEASING)</td></tr>
 * <tr><td>DRAINING</td><td>every slot back</td><td>RELEASING [CLOSING]</td><td>closer</td><td>-</td></tr>
 * <tr><td>DRAINING</td><td>timeout, {@link #closeForcefully()} or interrupt</td><td>PURGING
 * [CLOSING]</td><td>closer</td><td>closes the client at once: Kafka fails what is unsent, each reported as
 * purged</td></tr>
 * <tr><td>PURGING</td><td>every slot back, or {@code maxWaitTimeout}</td><td>RELEASING
 * [CLOSING]</td><td>closer</td><td>-</td></tr>
 * <tr><td>POLLING_LOST</td><td>close</td><td>RELEASING [CLOSING]</td><td>closer</td><td>Kafka sends what it
 * holds within what is left of the close's timeout, the rest failing; a forced close purges it</td></tr>
 * <tr><td>RELEASING</td><td>released</td><td>CLOSED</td><td>closer</td><td>closes the client, stops the relay
 * (waiting for its last sends), then detaches from polling (pipe, selector key, thread; after the polling
 * thread died, dispatches what is left itself); always completes, even if interrupted</td></tr>
 * <tr><td>any closing state</td><td>the close failed</td><td>CLOSED</td><td>closer</td><td>releases what it
 * still holds; the failure is published and completes the close exceptionally</td></tr>
 * </table>
 * A disconnect refused because messages are in flight shows DISCONNECTED for a moment before it goes back to
 * CONNECTED (a sender takes its slot, then reads the state).
 * <p>
 * Not designed for extension: not final only so that Spring can proxy it (an {@code @Lazy} injection point,
 * a scoped proxy).
 */
public class Producer implements AutoCloseable {

	private static final Logger logger = LoggerFactory.getLogger(Producer.class);

	/**
	 * Closes and rebuilds Kafka clients on behalf of the polling threads, which must not block (idle
	 * disconnects, rebuilds after an idempotent producer's fatal error); its threads end when unused. Not
	 * final: a test puts an executor here that cannot start threads.
	 */
	static volatile Executor clientWork = clientWork();

	/** Makes the threads a producer starts for itself (close, flush, relay); not final for the same reason. */
	static volatile ThreadFactory threads = Thread::new;

	/** How long an idle relay thread lives; not final for the same reason. */
	static volatile Duration relayKeepAlive = Duration.ofMinutes(1);

	/** At most two threads, ending when idle for a minute: a wave of idle disconnects queues up. */
	private static ExecutorService clientWork() {
		ThreadPoolExecutor executor = new ThreadPoolExecutor(2, 2, 1, TimeUnit.MINUTES, new LinkedBlockingQueue<>(),
				(task) -> {
					Thread thread = new Thread(task, "waterdrop.client-work");
					thread.setDaemon(true);
					return thread;
				});
		executor.allowCoreThreadTimeOut(true);
		return executor;
	}

	private static final long WANTS_PRODUCED_EVENT = Monitor.bit(ProducerEvent.MessageProduced.class);

	private static final long WANTS_LATENCY = Monitor.bit(ProducerEvent.MessageAcknowledged.class)
			| Monitor.LATENCY_BIT;

	/** The states of the table above. */
	enum State {

		CONFIGURED(ProducerStatus.CONFIGURED), CONNECTED(ProducerStatus.CONNECTED),
		DISCONNECTED(ProducerStatus.DISCONNECTED), POLLING_LOST(ProducerStatus.CONNECTED), DRAINING(ProducerStatus.CLOSING), PURGING(ProducerStatus.CLOSING),
		RELEASING(ProducerStatus.CLOSING), CLOSED(ProducerStatus.CLOSED);

		final ProducerStatus status;

		State(ProducerStatus status) {
			this.status = status;
		}

		boolean closing() {
			return this.status == ProducerStatus.CLOSING || this == CLOSED;
		}

	}

	private final ProducerConfig config;

	private final Monitor monitor;

	/** Whether an observer's failure was logged at WARN already (later ones go to DEBUG). */
	private volatile boolean observerFailureLogged;

	private final ProducerStats stats = new ProducerStats();

	private final MessageEncoder encoder;

	/**
	 * Serializes the state's transitions (connect, disconnect, the start of a close) and client swaps. A
	 * connect, a purge and an idempotent producer's rebuild build their client outside it.
	 */
	private final ReentrantLock lifecycleLock = new ReentrantLock();

	/** Held while a thread other than the polling thread dispatches what is left in a queue. */
	private final ReentrantLock orphanDispatch = new ReentrantLock();

	/**
	 * One permit per message that may be in flight: back-pressure that wakes a waiting producer the moment
	 * reports are dispatched, and the in-flight count itself ({@code maxInFlight - available}). Fair, so that
	 * those waiting for room get it in the order they came (a batch waiting for n slots is not overtaken by
	 * single sends taking each slot as it frees); a send takes free slots without queueing only while nobody
	 * waits.
	 */
	private final Semaphore slots;

	/** Completes when a closing producer has every slot back (or its polling thread is gone). */
	private final CompletableFuture<Void> drained = new CompletableFuture<>();

	private final CompletableFuture<Void> closed = new CompletableFuture<>();

	/** Held by a graceful closer while it flushes the buffer and moves to the first closing state (startClose). */
	private final ReentrantLock closeStart = new ReentrantLock();

	/**
	 * Set by the first close on a polling thread that handed a disconnected producer's close to a thread of its
	 * own (to connect and send the buffer): the callbacks closing it meanwhile start no more threads.
	 */
	private final AtomicBoolean closeHandedOff = new AtomicBoolean();

	/**
	 * The thread while it runs the close, which publishes its events: a close() from one of their listeners
	 * returns (it would wait for itself); after the close, that thread's close() reports its outcome.
	 */
	private volatile Thread closingThread;

	/**
	 * A close begun on a polling thread, until its own thread has started. If none can start (the JVM out of
	 * native threads), the producer's polling thread tries again from its periodic work (a disconnected
	 * producer has none: it let go of it), and a later {@code close()} or {@code closeAsync()} on a thread that
	 * may wait runs it; the close runs once, on
	 * whichever claims it first. Set once, under the lifecycle lock with the closing state.
	 */
	private final AtomicReference<Runnable> closeToStart = new AtomicReference<>();

	/** Completed by {@link #closeForcefully()}: a graceful close still waiting for reports purges them now. */
	private final CompletableFuture<Void> forced = new CompletableFuture<>();

	private volatile State state = State.CONFIGURED;

	/** Counts the Kafka clients this producer has had; a report names the one its message went to. */
	private volatile int clientGeneration;


	/** A rebuild after a fatal error of an idempotent producer is under way. */
	private final AtomicBoolean reloading = new AtomicBoolean();

	/** Whether the last hand-over to the client-work threads was refused (logged at error level once). */
	private volatile boolean clientWorkRefused;

	/** Rebuilds after fatal errors since the last acknowledged message, and the acknowledgements seen then. */
	private int idempotentReloadsInARow;

	private long acknowledgedAtLastReload;

	/** Set while WaterDrop closes a client at once on purpose (forced close, purge). */
	private volatile boolean purgeUnderWay;

	/**
	 * Purges begun: a message the relay holds since before one (blocked in Kafka's send on the client the purge
	 * replaced, or queued behind it) is purged, not sent on the new client.
	 */
	private final AtomicInteger purges = new AtomicInteger();

	/** Messages accepted for the relay that it has not handed to Kafka (or refused) yet: Kafka's flush misses them. */
	private final AtomicInteger relayedUnsent = new AtomicInteger();

	private final Middleware middleware = new Middleware();

	private final MessageBuffer buffer = new MessageBuffer();

	private final SharedFlush flushes;

	private final Transactions transactions;

	/** Replaced by a reload after a fatal transactional error, during a transaction's turn. */
	private volatile org.apache.kafka.clients.producer.Producer<byte[], byte[]> client;

	// Written before the state becomes CONNECTED, read after seeing it: the volatile write publishes them.

	private ReportQueue<Delivery> queue;

	private PollingSession session;

	private ReportDispatcher dispatcher;

	/**
	 * While disconnected: the detach of the registration the disconnect (or a reconnect whose client failed)
	 * let go of ({@link #releasePolling}); {@code null} otherwise. Under the lifecycle lock.
	 */
	private CompletableFuture<Void> pollingReleased;

	/**
	 * The client build under way outside the lock (a connect's, a purge's or a rebuild's, a transactional one's
	 * too), completed once the builder swapped its client in or closed it; {@code null} otherwise. Other
	 * connects, purges and rebuilds wait for it, and a graceful close waits for it within its timeout. Under the
	 * lifecycle lock.
	 */
	private CompletableFuture<Void> clientBuild;

	/**
	 * The polling thread of the registration a reconnect made died while the reconnect built its client: the
	 * producer connects as POLLING_LOST. Under the lifecycle lock.
	 */
	private boolean pollingLostWhileConnecting;

	/** The thread making the client build under way: a close it starts (from a listener) must not wait for it. */
	private Thread clientBuilder;

	/** Sends on behalf of the polling thread, which must never block in Kafka's send; created on first use. */
	private volatile ThreadPoolExecutor relay;

	/** Set under the lifecycle lock once the close stopped the relay: none may be created after that. */
	private boolean relayStopped;

	public Producer(ProducerConfig config) {
		this.config = config;
		this.flushes = new SharedFlush(config.id(), this::client,
				(flush) -> startThread("waterdrop.flush-" + id(), flush));
		this.monitor = new Monitor(config.id());
		this.slots = new Semaphore(config.maxInFlight(), true);
		this.transactions = new Transactions(this);
		this.encoder = new MessageEncoder(config, this::partitionCount);
		config.listeners().forEach(this.monitor::subscribe);
		this.monitor.publish(new ProducerEvent.Created(config.id()));
	}

	public String id() {
		return this.config.id();
	}

	public ProducerConfig config() {
		return this.config;
	}

	/** Where this producer's events are published; subscribe listeners here. */
	public Monitor monitor() {
		return this.monitor;
	}

	/**
	 * Whether {@code producer} is a real producer, made by its constructor: not a test's mock (Mockito's
	 * {@code @MockitoBean} makes one without it, with none of a producer's state), nor a spy (a copy of a
	 * producer, which the parts it handed itself to do not know). Read from fields, without calling the
	 * object, so that a mock records no interaction.
	 */
	public static boolean isReal(Producer producer) {
		return producer.monitor != null && producer.transactions.isOf(producer);
	}

	/** Whether {@code producer} is a copy of a producer (a Mockito spy), which no part of it knows. */
	public static boolean isCopy(Producer producer) {
		return producer.monitor != null && !producer.transactions.isOf(producer);
	}

	public ProducerStats stats() {
		return this.stats;
	}

	public ProducerStatus status() {
		return this.state.status;
	}

	/**
	 * Whether this producer lost its polling thread: its {@link #status()} stays {@code CONNECTED} (it holds
	 * its client until closed), but it refuses every message, since no report of it would be dispatched.
	 */
	public boolean hasLostPolling() {
		return this.state == State.POLLING_LOST;
	}

	/**
	 * Messages accepted whose report has not been dispatched yet (counted back per dispatched batch, so it
	 * may lag the dispatch by a few reports).
	 */
	public long inFlight() {
		return this.config.maxInFlight() - this.slots.availablePermits();
	}

	/**
	 * Kafka's {@code flush()} with a bound: makes Kafka send what lingers and waits up to {@code timeout} until
	 * every message handed to Kafka before the call has its outcome (acknowledged or failed, its report queued
	 * for dispatch). Messages sent meanwhile are not waited for, and the producer stays open: a shutdown
	 * drains with it before it closes. Messages produced in callbacks that wait on the relay to be handed to
	 * Kafka are waited for first (the timeout covers both).
	 * <p>
	 * On a closing producer it waits for the close instead; a producer that lost its polling thread answers
	 * {@code false} at once. Where no thread can be started for Kafka's flush (the JVM out of native threads),
	 * it waits until nothing is in flight instead, messages sent meanwhile included. Kafka's flush has no
	 * timeout: when this one times out, its thread goes on until Kafka completes or expires the batches
	 * ({@code delivery.timeout.ms}) or the client closes. Callers asking meanwhile share that thread: one
	 * more flush begins after it for them, none beside it.
	 * @return whether they all had their outcome by then; {@code false} also if interrupted (the flag stays set)
	 * @throws IllegalCallerException if called on the thread that dispatches this producer's reports
	 */
	public boolean awaitSent(Duration timeout) {
		Timeouts.require(timeout, "wait for messages sent");
		checkMayWait("wait for messages sent");
		State current = this.state;
		if (current == State.POLLING_LOST) {
			return false;
		}
		if (current.closing()) {
			return awaitRestoringInterrupt(this.closed.handle((result, ex) -> ex == null), timeout);
		}
		org.apache.kafka.clients.producer.Producer<byte[], byte[]> kafka = this.client;
		if (current == State.DISCONNECTED && inFlight() > 0) {
			// An idle disconnect writes DISCONNECTED before it counts the in-flight messages, and takes it back
			// if there are some: read the state it settled on.
			this.lifecycleLock.lock();
			try {
				current = this.state;
				kafka = this.client;
			}
			finally {
				this.lifecycleLock.unlock();
			}
			if (current == State.DISCONNECTED) { // the relay holds them, reconnecting to send them
				return awaitNothingInFlight(timeout);
			}
		}
		long deadline = System.nanoTime() + Timeouts.nanos(timeout);
		// Messages on the relay are not in Kafka yet, so Kafka's flush would miss them: first their hand-over.
		if (current == State.CONNECTED && !awaitUntil(() -> this.relayedUnsent.get() == 0, deadline)) {
			return false;
		}
		Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
		if (this.state != current) { // a close began, or the polling thread died, while it waited for the relay
			return awaitSent(left);
		}
		if (current != State.CONNECTED || kafka == null || inFlight() == 0) {
			return true; // Kafka holds nothing of this producer's
		}
		CompletableFuture<Boolean> flushed = this.flushes.request();
		if (flushed == null) {
			return awaitNothingInFlight(left); // Kafka sends after linger.ms anyway
		}
		return awaitRestoringInterrupt(flushed, left);
	}

	/**
	 * Waits up to {@code timeout} until no message is in flight, looking every millisecond: where no flush
	 * thread could start. Unlike a flush it also waits for messages sent meanwhile.
	 */
	private boolean awaitNothingInFlight(Duration timeout) {
		return awaitUntil(() -> inFlight() == 0, System.nanoTime() + Timeouts.nanos(timeout));
	}

	/**
	 * Looks every millisecond until {@code done}, the {@link System#nanoTime()} {@code deadline} or an interrupt
	 * (the flag kept): for counts no thread signals.
	 * @return whether it is done
	 */
	private boolean awaitUntil(BooleanSupplier done, long deadline) {
		while (!done.getAsBoolean()) {
			if (System.nanoTime() - deadline >= 0 || Thread.currentThread().isInterrupted()) {
				return false;
			}
			LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(1));
		}
		return true;
	}

	/** Whether {@code done} completed with {@code true} within {@code timeout}; an interrupt stays set. */
	private boolean awaitRestoringInterrupt(CompletableFuture<Boolean> done, Duration timeout) {
		Waited waited = await(done, timeout);
		if (waited == Waited.INTERRUPTED) {
			Thread.currentThread().interrupt();
		}
		return waited == Waited.DONE && done.getNow(false);
	}

	/** Reports received from Kafka and waiting for the polling thread. */
	public int queueSize() {
		ReportQueue<Delivery> current = this.queue;
		return (current != null) ? current.size() : 0;
	}

	/** The queue Kafka's callbacks put reports into; exists once connected. */
	ReportQueue<Delivery> reports() {
		return this.queue;
	}

	/** What dispatches the queue's reports, on the current registration; exists once connected. */
	ReportDispatcher dispatcher() {
		return this.dispatcher;
	}

	/** Name of the Poller (fd) or dispatch thread (thread) serving this producer, once connected. */
	public String pollerName() {
		PollingSession current = this.session;
		return (current != null) ? current.pollerName() : null;
	}

	/** The Kafka client, once connected. */
	org.apache.kafka.clients.producer.Producer<byte[], byte[]> client() {
		return this.client;
	}

	/**
	 * A transactional producer's reload ({@link Transactions}): replaces its client by a new one, built and
	 * initialised outside the lock and marked as the build under way, so that a graceful close started meanwhile
	 * waits for it (after its drain) and no client outlives the close. A transaction in a listener of the
	 * producer's own connect rebuilds under that connect's mark, which the close waits for already, and under
	 * its lock (the listener holds it): a close from another thread waits for that build.
	 * @return whether the client was replaced; not if the producer is no longer connected (closing, closed,
	 * disconnected, polling lost), whose close or next connect decides about clients then
	 */
	boolean rebuildTransactionalClient() {
		return replaceClientInTurn(false) == null;
	}

	/**
	 * An idempotent (non-transactional) producer's Kafka client hit a fatal error: Kafka fails every later
	 * send of that client. With {@code reload-on-idempotent-fatal-error} the client is rebuilt on a thread of
	 * its own (once per client, at most {@code max-reload-attempts} times without an acknowledgement between,
	 * {@code reload-backoff} apart); the messages the broken client held each get their failed report, and
	 * later messages go to the new client. Called from the polling thread or a sender.
	 */
	void reloadAfterFatalError(int generation, Throwable error) {
		if (this.transactions.enabled() || !this.config.reloadOnIdempotentFatalError()
				|| !isIdempotentFatal(error) || generation != this.clientGeneration
				|| !this.reloading.compareAndSet(false, true)) {
			return;
		}
		boolean started = startClientWork("rebuild its Kafka client", () -> {
			try {
				reloadIdempotent(generation, error);
			}
			finally {
				this.reloading.set(false);
			}
		});
		if (!started) {
			this.reloading.set(false); // the next fatal report asks again
		}
	}

	/**
	 * Hands {@code work} to the client-work threads. Called on a polling thread, which must not die because no
	 * thread could start (the JVM out of native threads): the work is skipped then, and logged.
	 * @return whether the work was handed over
	 */
	private boolean startClientWork(String what, Runnable work) {
		try {
			clientWork.execute(work);
			this.clientWorkRefused = false;
			return true;
		}
		catch (OutOfMemoryError | RejectedExecutionException ex) {
			if (this.clientWorkRefused) { // asked again every idle timeout: the first refusal said it all
				logger.debug("Producer '{}' still could not start a thread to {}", id(), what, ex);
			}
			else {
				this.clientWorkRefused = true;
				logger.error("Producer '{}' could not start a thread to {}; skipped this time", id(), what, ex);
			}
			return false;
		}
	}

	/**
	 * The errors that put an idempotent producer's transaction manager in its fatal state (Kafka 4.1's
	 * {@code TransactionManager}), reported directly or as the cause of "in an error state". Errors a new
	 * client would meet again (a topic's authorization) are not among them.
	 */
	private static boolean isIdempotentFatal(Throwable error) {
		for (Throwable current = error; current != null; current = current.getCause()) {
			if (current instanceof ClusterAuthorizationException || current instanceof UnsupportedVersionException
					|| current instanceof InvalidPidMappingException || current instanceof ProducerFencedException) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Waits out the backoff before a rebuild, outside the lock (a close, or a callback's relayed send, must not
	 * wait for it), and no longer than until the producer is closed: the rebuild is moot then, and the
	 * client-work thread is free again.
	 */
	private void awaitReloadBackoff(long nanos) {
		if (nanos == 0) {
			return;
		}
		try {
			this.closed.get(nanos, TimeUnit.NANOSECONDS);
		}
		catch (TimeoutException | ExecutionException ex) {
			// the backoff is over, or the producer closed (with a failure): either way the state check decides
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

	/**
	 * Whether to rebuild the client, and after how long: -1 not at all (closed, already rebuilt, or given up
	 * after max-reload-attempts without an acknowledgement), 0 at once, else the reload backoff.
	 */
	private long reloadBackoffNanos(int generation, Throwable cause) {
		this.lifecycleLock.lock();
		try {
			if (this.state != State.CONNECTED || generation != this.clientGeneration) {
				return -1;
			}
			if (this.stats.acknowledged() > this.acknowledgedAtLastReload) {
				this.idempotentReloadsInARow = 0;
			}
			if (this.idempotentReloadsInARow >= this.config.maxReloadAttempts()) {
				logger.error("Producer '{}' rebuilt its Kafka client {} time(s) without an acknowledgement in between "
						+ "and gives up (max-reload-attempts); close it and create a new one", id(),
						this.idempotentReloadsInARow, cause);
				return -1;
			}
			return (this.idempotentReloadsInARow > 0) ? Timeouts.nanos(this.config.reloadBackoff()) : 0;
		}
		finally {
			this.lifecycleLock.unlock();
		}
	}

	private void reloadIdempotent(int generation, Throwable cause) {
		long backoffNanos = reloadBackoffNanos(generation, cause);
		if (backoffNanos < 0) {
			return;
		}
		awaitReloadBackoff(backoffNanos);
		this.lifecycleLock.lock();
		try {
			if (!rebuildWanted(generation)) {
				return;
			}
			this.idempotentReloadsInARow++;
			this.acknowledgedAtLastReload = this.stats.acknowledged();
		}
		finally {
			this.lifecycleLock.unlock();
		}
		// Before the build is marked: a listener may purge, close or wait for a thread that does.
		this.monitor.publish(new ProducerEvent.ErrorOccurred(id(), ErrorType.PRODUCER_RELOAD, cause, null, null));
		CompletableFuture<Void> build;
		this.lifecycleLock.lock();
		try {
			if (!rebuildWanted(generation)) {
				return;
			}
			build = startClientBuild();
		}
		finally {
			this.lifecycleLock.unlock();
		}
		boolean rebuilt = false;
		try {
			rebuilt = replaceClientOf(generation, false);
		}
		catch (RuntimeException ex) {
			logger.warn("Producer '{}' could not rebuild its Kafka client; the next fatal error tries again", id(), ex);
		}
		finally {
			endClientBuild(build);
		}
		if (rebuilt) {
			this.monitor.publish(new ProducerEvent.Reloaded(id(), cause));
		}
	}

	/**
	 * Whether the client of {@code generation} still needs its rebuild: not if the producer was closed,
	 * disconnected or rebuilt meanwhile, or a purge replaces the client now. Holding the lifecycle lock.
	 */
	private boolean rebuildWanted(int generation) {
		return this.state == State.CONNECTED && generation == this.clientGeneration && this.clientBuild == null;
	}

	/**
	 * Builds a new client outside the lock (a close started meanwhile goes ahead), swaps it in if the producer
	 * still serves with the client of {@code generation}, and closes the old one at once: Kafka fails its
	 * unfinished records before the close returns, as purged ones when {@code purging} or transactional. A
	 * purge's or rebuild's build, marked by {@link #startClientBuild}.
	 * @return whether the client was replaced; if not (a close began, or the polling thread died), the new one
	 * is closed again
	 */
	private boolean replaceClientOf(int generation, boolean purging) {
		org.apache.kafka.clients.producer.Producer<byte[], byte[]> replacement = this.transactions.newClient();
		org.apache.kafka.clients.producer.Producer<byte[], byte[]> old;
		this.lifecycleLock.lock();
		try {
			old = swapClient(generation, replacement, purging);
			if (old != null) {
				// A transactional client takes its transaction's unfinished messages with it: the new client's
				// init aborts that transaction, so they are purged as an abort's are.
				this.purgeUnderWay = purging || this.transactions.enabled();
				try {
					if (closeClient(old, Duration.ZERO)) {
						Thread.currentThread().interrupt();
					}
				}
				finally {
					this.purgeUnderWay = false;
				}
			}
		}
		finally {
			this.lifecycleLock.unlock();
		}
		if (old == null) {
			closeNewClient(replacement);
		}
		return old != null;
	}

	/**
	 * Swaps in {@code replacement}, built outside the lock, if the producer is still connected with the client
	 * of {@code generation}; else (a close began, or the polling thread died) the caller closes
	 * {@code replacement}. Holding the lifecycle lock.
	 * @return the client replaced (still open), or {@code null} if nothing was swapped
	 */
	private org.apache.kafka.clients.producer.Producer<byte[], byte[]> swapClient(int generation,
			org.apache.kafka.clients.producer.Producer<byte[], byte[]> replacement, boolean purging) {
		if (this.state != State.CONNECTED || generation != this.clientGeneration) {
			return null;
		}
		org.apache.kafka.clients.producer.Producer<byte[], byte[]> old = this.client;
		if (purging) { // before the new client: a relay that reads the new client sees the purge too
			this.purges.incrementAndGet();
		}
		this.client = replacement;
		this.clientGeneration++;
		return old;
	}

	/**
	 * The chain of transformers applied to every message before validation; add steps with
	 * {@link Middleware#append} and {@link Middleware#prepend}.
	 */
	public Middleware middleware() {
		return this.middleware;
	}

	/** Whether the Kafka settings give this producer a {@code transactional.id}. */
	public boolean transactional() {
		return this.transactions.enabled();
	}

	/**
	 * Runs {@code block} in one Kafka transaction: begin, run, commit. An exception from the block aborts the
	 * transaction and is rethrown, but a {@link DeliveryTimeoutException} or {@link DeliveryInterruptedException}
	 * of a message sent in it, whose "may still be delivered" the abort ends, comes as the cause of a
	 * {@link TransactionFailedException};
	 * {@link AbortTransaction} aborts quietly and makes this return {@code null}. Transactions on one producer
	 * run one after another (callers wait their turn, at most {@code maxWaitTimeout}), and a transaction inside
	 * a transaction on the same thread joins the outer one; when the inner one throws or aborts, an outer
	 * {@code transaction(...)} block is rolled back even if it catches that and returns (a bound transaction's
	 * owner decides for itself).
	 * @throws TransactionFailedException if the commit failed, or a nested transaction failed (the transaction
	 * was aborted)
	 * @throws TransactionWaitTimeoutException if another thread's transaction stayed open all of
	 * {@code maxWaitTimeout} (nothing began)
	 * @throws WaterDropException if interrupted while waiting for the turn (nothing began, the flag stays set)
	 * @throws IllegalStateException if the producer is not transactional
	 * @throws IllegalCallerException if called on the thread that dispatches this producer's reports
	 */
	public <T> T transaction(TransactionBlock<T> block) {
		return this.transactions.run(block); // connects as it begins, after refusing a polling thread
	}

	/** As {@link #transaction}, for one call's work ({@code nested} false), which dooms no transaction it joins. */
	<T> T transaction(TransactionBlock<T> block, boolean nested) {
		return this.transactions.run(block, nested);
	}

	/**
	 * Begins a Kafka transaction bound to the calling thread and returns it open: every {@code produce*} and
	 * {@code flush*} call on this producer from this thread joins it until it is committed or aborted through
	 * the handle (by any thread but a polling one, see {@link BoundTransaction}). For transaction managers that
	 * begin and end a transaction in separate calls (the Spring starter's); {@link #transaction} is simpler
	 * otherwise. As with {@link #transaction}, one
	 * transaction runs at a time per producer: this waits while another thread's is open (at most
	 * {@code maxWaitTimeout}), and other threads wait until this one ends, so always end it.
	 * @throws TransactionWaitTimeoutException if another thread's transaction stayed open all of
	 * {@code maxWaitTimeout} (nothing began)
	 * @throws WaterDropException if interrupted while waiting for the turn (nothing began, the flag stays set)
	 * @throws IllegalStateException if the producer is not transactional, or a transaction is open on this
	 * thread already
	 * @throws IllegalCallerException if called on the thread that dispatches this producer's reports
	 */
	public BoundTransaction beginTransaction() {
		return this.transactions.beginBound(); // connects as it begins, after refusing a polling thread
	}

	/**
	 * Whether a transaction of this producer is open on the calling thread (a {@link #transaction} block or a
	 * {@link #beginTransaction() bound} one), which what the thread produces joins.
	 */
	public boolean inTransaction() {
		return this.transactions.isOpenOnThisThread();
	}

	/**
	 * Runs {@code block} in the transaction open on this thread, if there is one (as a nested
	 * {@link #transaction} does), and never begins one: a transactional pool's member whose transaction another
	 * thread is ending is that thread's to give back.
	 * @param nested whether the block is a nested {@code transaction(...)}, which dooms the transaction when it
	 * throws, rather than one call's work
	 * @return the block's value, or {@link Transactions#NOT_JOINED} (the block not run)
	 */
	Object joinOpenTransaction(TransactionBlock<?> block, boolean nested) {
		return this.transactions.runJoined(block, nested);
	}

	/** Whether {@code transactions} are this producer's (a Mockito spy's are those of the producer it copied). */
	boolean runsTransactionsOf(Transactions transactions) {
		return this.transactions == transactions;
	}

	/** Whether the transaction open on this thread is a suspended bound one, which takes no work. */
	boolean inSuspendedTransaction() {
		return this.transactions.isSuspendedOnThisThread();
	}

	/**
	 * Refuses at once on a producer that is closing, closed or lost its polling thread: a transaction would
	 * otherwise wait its turn (behind another thread's transaction, up to {@code maxWaitTimeout}) to learn it.
	 */
	void checkNotClosing() {
		State current = this.state;
		if (current.closing() || current == State.POLLING_LOST) {
			throw notAccepting(current, null);
		}
	}

	/**
	 * Whether a close has gone past draining: it purges or releases the Kafka client, so a transactional call
	 * failing now may have been cut short by the client's close rather than refused by Kafka.
	 */
	boolean closingClient() {
		State current = this.state;
		return current == State.PURGING || current == State.RELEASING || current == State.CLOSED;
	}

	/**
	 * Runs {@code action} once the bound transaction this thread began ends (a pool's hand-back), on the thread
	 * that ends it.
	 * @return {@code false}, the action not taken, if no transaction this thread began is open
	 */
	boolean whenBoundTransactionEnds(Runnable action) {
		return this.transactions.whenBoundEnds(action);
	}

	/**
	 * On a transactional producer, a message produced outside a transaction joins the outer transaction its
	 * {@link TransactionJoiner} begins, if any, or gets one of its own (so {@code produceAsync} returns only
	 * after the commit); inside one, it joins it, unless that one is suspended (then it is refused).
	 */
	private <T> T inTransactionIfNeeded(Supplier<T> work) {
		if (!this.transactions.enabled() || this.transactions.joinsOpenTransaction()) {
			return work.get();
		}
		return transaction((transaction) -> work.get()); // joins the joiner's outer transaction, if it begins one
	}

	/**
	 * As {@link #inTransactionIfNeeded}, telling a flush's work whether its transaction goes on after it (one it
	 * joined, which may even end on another thread meanwhile) or ends with it (its own). Told before the work
	 * runs: after a failure, the transaction open on the thread no longer says which it was.
	 */
	private <T> T flushInTransactionIfNeeded(Function<Boolean, T> work) {
		if (!this.transactions.enabled()) {
			return work.apply(false);
		}
		if (this.transactions.joinsOpenTransaction()) {
			return work.apply(true);
		}
		return transaction((transaction) -> work.apply(this.transactions.runsBound()));
	}

	/**
	 * Validates a message (after middleware) and keeps it until the next flush. A message for an explicit
	 * partition or with a partition key is checked against the topic's partitions too (connecting, and asking
	 * Kafka for the topic's metadata once), except on a polling thread, which must not wait: there, the flush
	 * checks it.
	 */
	public void buffer(Message message) {
		Message transformed = this.middleware.apply(message);
		checkPartition(transformed, this.encoder.encode(transformed));
		if (!this.buffer.add(List.of(transformed))) {
			throw new ProducerClosedException(id(), this.state.status);
		}
		if (this.monitor.isListening(ProducerEvent.MessageBuffered.class)) {
			this.monitor.publish(new ProducerEvent.MessageBuffered(id(), transformed));
		}
	}

	/** Validates messages (after middleware) and keeps them until the next flush; one invalid refuses all. */
	public void bufferMany(List<Message> messages) {
		if (messages == null) {
			throw new InvalidMessageException(InvalidMessageException.Violation.MESSAGE_MISSING, null,
					"Message list is null");
		}
		List<Message> transformed = transform(messages);
		List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(transformed.size());
		for (Message message : transformed) {
			records.add(this.encoder.encode(message));
		}
		for (int i = 0; i < transformed.size(); i++) {
			checkPartition(transformed.get(i), records.get(i));
		}
		if (!this.buffer.add(transformed)) {
			throw new ProducerClosedException(id(), this.state.status);
		}
		this.monitor.publish(new ProducerEvent.MessagesBuffered(id(), List.copyOf(transformed)));
	}

	/**
	 * Refuses a message whose partition key needs the partitions of a topic Kafka cannot tell before it is
	 * buffered: in the buffer it would refuse every flush.
	 */
	private void checkPartition(Message message, ProducerRecord<byte[], byte[]> record) {
		if (message.partitionKey() != null && !PollingThreads.isCurrent()) {
			connect();
			this.encoder.resolvePartition(message, record);
		}
	}

	/** Messages buffered and not yet flushed. */
	public int bufferSize() {
		return this.buffer.size();
	}

	/**
	 * Sends everything buffered and waits for the reports (in one transaction on a transactional producer).
	 * More than {@code maxInFlight} messages go in batches of that size, each waited for before the next.
	 * Messages not delivered go back into the buffer, ahead of anything buffered meanwhile (on a transactional
	 * producer all of them when the flush's own transaction is rolled back). Each flush sends and waits for
	 * what it takes: one that finds the buffer emptied by a flush running on another thread returns at once,
	 * and what that flush fails to deliver goes back into the buffer for the next flush. A {@link #purge()}
	 * meanwhile drops the batches not sent yet ({@code buffer.purged}): the reports are those of the batches
	 * sent.
	 * @throws DeliveryFailedException for the first undelivered message (others suppressed in it)
	 * @throws BatchPartlySentException if a message was refused after some before it were sent (their handles
	 * are in it; those of its batch not waited for, those of earlier batches delivered)
	 */
	public List<DeliveryReport> flushSync() {
		MessageBuffer.Taken takenFromBuffer = this.buffer.takeAll();
		List<Message> taken = takenFromBuffer.messages();
		if (taken.isEmpty()) {
			return List.of();
		}
		List<DeliveryHandle> sent = new ArrayList<>();
		boolean[] transactionGoesOn = new boolean[1];
		try {
			List<DeliveryReport> reports = flushInTransactionIfNeeded((goesOn) -> {
				transactionGoesOn[0] = goesOn;
				List<DeliveryReport> delivered = new ArrayList<>(taken.size());
				sendInBatches(taken, Mode.SYNC, sent,
						(batch) -> delivered.addAll(awaitAll(batch, this.config.maxWaitTimeout())), takenFromBuffer);
				return delivered;
			});
			publishFlushed(Mode.SYNC, taken, sent);
			return reports;
		}
		catch (Throwable ex) { // an Error, or a checked exception sneaked out of a client factory, too
			restoreToBuffer(undelivered(taken, sent, ex, transactionGoesOn[0]), takenFromBuffer);
			reportRefusal(ErrorType.BUFFER_FLUSH_SYNC, ex, null);
			throw ex;
		}
	}

	/**
	 * Puts a failed flush's messages (their positions in what it took) back where they were; a close that
	 * emptied the buffer meanwhile has them dropped.
	 */
	private void restoreToBuffer(List<Integer> undelivered, MessageBuffer.Taken taken) {
		if (!this.buffer.restore(undelivered, taken)) {
			dropBuffered(taken.messagesAt(undelivered),
					"a flush had taken and could not send while the producer closed");
		}
	}

	private void dropBuffered(List<Message> dropped, String which) {
		if (!dropped.isEmpty()) {
			logger.warn("Producer '{}' dropped {} buffered message(s) {} (event buffer.purged)", id(), dropped.size(),
					which);
			this.monitor.publish(new ProducerEvent.BufferPurged(id(), dropped));
		}
	}

	/** {@code buffer.flushed} with the messages a flush sent: those it took, but the batches a purge dropped. */
	private void publishFlushed(Mode mode, List<Message> taken, List<DeliveryHandle> sent) {
		if (!sent.isEmpty()) {
			this.monitor.publish(new ProducerEvent.BufferFlushed(id(), mode,
					(sent.size() == taken.size()) ? taken : List.copyOf(taken.subList(0, sent.size()))));
		}
	}

	/**
	 * Sends a flush's messages in batches the producer can hold at once ({@code maxInFlight}; more than that is
	 * buffered when, say, a failed flush's messages are put back beside those buffered meanwhile), each
	 * waiting for room, and hands each batch's handles to {@code afterEach}. {@code sent} gets every handle.
	 * A purge begun since the flush took its messages drops the batches not sent yet ({@code buffer.purged}); a
	 * joined transaction whose end another thread claims refuses the message it meets and the rest (each send
	 * passes its gate, {@link Transactions#enterSend()}), which would go to whichever transaction is open then.
	 * @throws BatchPartlySentException over the whole flush if a message was refused after some were sent
	 */
	private void sendInBatches(List<Message> messages, Mode mode, List<DeliveryHandle> sent,
			java.util.function.Consumer<List<DeliveryHandle>> afterEach, MessageBuffer.Taken taken) {
		int size = this.config.maxInFlight();
		for (int from = 0; from < messages.size(); from += size) {
			if (this.buffer.purgedSince(taken)) {
				dropBuffered(List.copyOf(messages.subList(from, messages.size())),
						"a flush had taken and not sent yet when the producer was purged");
				return;
			}
			int sentBefore = sent.size();
			try {
				sendManyUnchanged(messages.subList(from, Math.min(from + size, messages.size())), mode, sent);
			}
			catch (RuntimeException ex) {
				if (sent.isEmpty()) {
					throw ex; // nothing sent: the refusal itself
				}
				RuntimeException refusal = (ex instanceof BatchPartlySentException partly) ? partly.refusal() : ex;
				throw new BatchPartlySentException(id(), sent, messages, refusal);
			}
			afterEach.accept(sent.subList(sentBefore, sent.size()));
		}
	}

	/**
	 * What a failed flush puts back: everything when its transaction is lost, that is the flush's own was
	 * rolled back, or it joined one that goes on and Kafka failed a message of it, or refused one because that
	 * transaction is in an error state (Kafka then refuses its commit, so the messages sent go with it);
	 * otherwise (no transaction, or a joined one whose commit or abort decides the fate of what was sent) the
	 * messages that failed and those never sent, in their order, but not those purged (a {@code purge()} or
	 * forced close dropped them on purpose, and drops the buffer too: so are the messages a flush in batches had
	 * not sent yet when one of its messages was purged, published as {@code buffer.purged}). A message still in
	 * flight is not put back: its report will come, and resending it could duplicate it. A message the flush
	 * refused as invalid (the exception names it) is not put back either: it would refuse every later flush.
	 * Nothing is put back when the flush's own transaction may have committed
	 * ({@link TransactionOutcomeUnknownException}).
	 */
	private List<Integer> undelivered(List<Message> taken, List<DeliveryHandle> sent, Throwable failure,
			boolean transactionGoesOn) {
		// Positions in what the flush took: the i-th handle sent is the i-th message taken.
		List<Integer> undelivered = new ArrayList<>();
		if (failure instanceof TransactionOutcomeUnknownException) {
			return undelivered; // perhaps committed: sent again, they could be duplicated
		}
		Throwable refusal = (failure instanceof BatchPartlySentException partly) ? partly.refusal() : failure;
		if (this.transactions.enabled() && (!transactionGoesOn || refusedInErrorState(refusal)
				|| sent.stream().anyMatch((handle) -> ((Delivery) handle).failed()))) {
			addRange(undelivered, 0, taken.size());
		}
		else {
			boolean purged = false;
			for (int i = 0; i < sent.size(); i++) {
				Delivery delivery = (Delivery) sent.get(i);
				purged |= delivery.purgedWhenDone();
				if (delivery.failed() && !delivery.purgedWhenDone()) {
					undelivered.add(i);
				}
			}
			if (!purged) {
				addRange(undelivered, sent.size(), taken.size());
			}
			else { // the purge dropped the buffer, which they were still part of
				dropBuffered(List.copyOf(taken.subList(sent.size(), taken.size())),
						"a flush had taken and not sent yet when the producer was purged");
			}
		}
		if (refusal instanceof InvalidMessageException invalid) {
			undelivered.removeIf((position) -> taken.get(position) == invalid.refused());
		}
		return undelivered;
	}

	/**
	 * Whether Kafka refused a send because its transaction is in an error state: an earlier message or request
	 * of it failed, which only an abort clears, so Kafka refuses the transaction's commit too. Told as
	 * kafka-clients' {@code TransactionManager.maybeFailWithError} tells it: the earlier error itself when it is
	 * an {@code InvalidProducerEpochException} or {@code ProducerFencedException}, else "Cannot execute
	 * transactional method because we are in an error state" (a {@code KafkaException}, or an
	 * {@code IllegalStateException} after an invalid state transition), the earlier error its cause.
	 */
	private static boolean refusedInErrorState(Throwable refusal) {
		for (Throwable current = refusal; current != null; current = current.getCause()) {
			// Thrown as such when the transaction's error is one of these (an epoch error is abortable only).
			if (current instanceof InvalidProducerEpochException || current instanceof ProducerFencedException) {
				return true;
			}
			if ((current instanceof KafkaException || current instanceof IllegalStateException)
					&& current.getMessage() != null
					&& current.getMessage().contains("execute transactional method because")) {
				return true;
			}
		}
		return false;
	}

	private static void addRange(List<Integer> positions, int from, int to) {
		for (int position = from; position < to; position++) {
			positions.add(position);
		}
	}

	/**
	 * Sends everything buffered and returns the handles at once; the buffer is empty afterwards unless the
	 * producer refused the batch, in which case it keeps the messages not sent. More than {@code maxInFlight}
	 * messages go in batches of that size, each waiting for room as {@link #produceManyAsync} does; a
	 * {@link #purge()} meanwhile drops the batches not sent yet ({@code buffer.purged}), whose handles are then
	 * not returned.
	 * @throws BatchPartlySentException if a message was refused after some before it were sent (their handles
	 * are in it)
	 */
	public List<DeliveryHandle> flushAsync() {
		MessageBuffer.Taken takenFromBuffer = this.buffer.takeAll();
		List<Message> taken = takenFromBuffer.messages();
		if (taken.isEmpty()) {
			return List.of();
		}
		List<DeliveryHandle> sent = new ArrayList<>();
		boolean[] transactionGoesOn = new boolean[1];
		try {
			List<DeliveryHandle> handles = flushInTransactionIfNeeded((goesOn) -> {
				transactionGoesOn[0] = goesOn;
				sendInBatches(taken, Mode.ASYNC, sent, (batch) -> {
				}, takenFromBuffer);
				return List.copyOf(sent);
			});
			publishFlushed(Mode.ASYNC, taken, sent);
			return handles;
		}
		catch (Throwable ex) { // an Error, or a checked exception sneaked out of a client factory, too
			restoreToBuffer(undelivered(taken, sent, ex, transactionGoesOn[0]), takenFromBuffer);
			reportRefusal(ErrorType.BUFFER_FLUSH_ASYNC, ex, null);
			throw ex;
		}
	}

	/**
	 * Fails every message not delivered yet as purged and drops the buffer, keeping the producer usable: the
	 * Kafka client is replaced by a new one, and the old one is closed at once, so Kafka fails what it still
	 * holds; each such message gets one report, a {@link MessagePurgedException} and {@code message.purged}.
	 * Buffered messages are dropped unsent ({@code buffer.purged}), and so are the batches a flush in batches had
	 * not sent yet; messages produced in callbacks that the relay still holds are purged too, not sent on the
	 * new client. Messages produced while the purge runs may be purged too, refused (sent to the old client as
	 * it closes), or go to the new client. Not for transactional producers: abort the transaction instead. The
	 * new client is built without holding up a close that starts meanwhile.
	 * @throws IllegalStateException if the producer is transactional
	 * @throws IllegalCallerException on a polling thread (in a callback or listener), or in a listener of this
	 * producer's own connect or client rebuild
	 * @throws ProducerClosedException if it is closing or closed, also when its close began while the new
	 * client was being built (the close's drain, or its purge if forced, then decides about the messages)
	 */
	public void purge() {
		if (this.transactions.enabled()) {
			throw new IllegalStateException("Producer '" + id() + "' is transactional: abort the transaction "
					+ "to drop its messages instead of purging");
		}
		if (PollingThreads.isCurrent()) { // building the new client may block: every producer it serves would wait
			throw new IllegalCallerException("Producer '" + id() + "' cannot purge on a polling thread (in a "
					+ "delivery callback or listener): the purge builds a new Kafka client, which may block; "
					+ "purge from another thread");
		}
		this.buffer.purgeBegins();
		State refusing = replaceClientInTurn(true);
		if (refusing != null && refusing != State.CONFIGURED && refusing != State.DISCONNECTED) {
			throw notAccepting(refusing, null); // a closing one's drain, or its purge if forced, decides
		}
		List<Message> dropped = this.buffer.takeAll().messages();
		if (!dropped.isEmpty()) {
			this.monitor.publish(new ProducerEvent.BufferPurged(id(), dropped));
		}
	}

	/**
	 * Replaces the connected producer's client (a purge's or a transactional reload's) once no other build is
	 * under way: waits for one, then marks its own and builds outside the lock ({@link #replaceClientOf}). On
	 * the thread making the build under way (a listener of it) a purge is refused and a reload builds under it.
	 * @return {@code null} if the client was replaced; else the state that kept it: the one found when its turn
	 * came (not connected: configured, disconnected, closing, polling lost), or one a close or the polling
	 * thread's death left while the new client was being built
	 */
	private State replaceClientInTurn(boolean purging) {
		while (true) {
			CompletableFuture<Void> underWay;
			CompletableFuture<Void> mine = null;
			int generation = 0;
			this.lifecycleLock.lock();
			try { // not a lock-free look: a disconnect refused because of messages in flight is DISCONNECTED a moment
				if (this.state != State.CONNECTED) {
					if (purging && (this.state == State.CONFIGURED || this.state == State.DISCONNECTED)) {
						// No client to replace: what the relay holds, to connect and send, is purged all the same;
						// under the lock, so that a relay's connect ends before this (and is purged) or after.
						this.purges.incrementAndGet();
					}
					return this.state;
				}
				underWay = this.clientBuild;
				if (underWay == null) {
					mine = startClientBuild();
					generation = this.clientGeneration;
				}
				else if (this.clientBuilder == Thread.currentThread()) { // a listener of its own build: no join
					if (purging) {
						throw new IllegalCallerException("Producer '" + id() + "' cannot purge from a listener of "
								+ "its own connect or client rebuild (producer.connected, error.occurred): that build "
								+ "would wait for the purge, and the purge for it; purge from another thread");
					}
					// A transaction in a listener of its connect: rebuilds under that build's mark, and this lock.
					return replaceClientOf(this.clientGeneration, false) ? null : this.state;
				}
			}
			finally {
				this.lifecycleLock.unlock();
			}
			if (mine != null) {
				try { // refused: a closing or POLLING_LOST state, from which there is no way back
					return replaceClientOf(generation, purging) ? null : this.state;
				}
				finally {
					endClientBuild(mine);
				}
			}
			underWay.join(); // another purge or a rebuild builds a client; then look again
		}
	}

	/** Marks a client build under way (a connect's, purge's or rebuild's), made by this thread. Holding the lock. */
	private CompletableFuture<Void> startClientBuild() {
		CompletableFuture<Void> build = new CompletableFuture<>();
		this.clientBuild = build;
		this.clientBuilder = Thread.currentThread();
		return build;
	}

	/** Ends a purge's or rebuild's {@code build}, once its client is swapped in or closed. */
	private void endClientBuild(CompletableFuture<Void> build) {
		this.lifecycleLock.lock();
		try {
			if (this.clientBuild == build) {
				this.clientBuild = null;
				this.clientBuilder = null;
			}
		}
		finally {
			this.lifecycleLock.unlock();
		}
		build.complete(null);
	}

	/** Creates the Kafka client and starts dispatching; does nothing if connected already. */
	public void connect() {
		State current = this.state;
		if (current == State.CONNECTED) {
			return;
		}
		connectLocked();
	}

	/**
	 * Connects, looking at the state under the lifecycle lock (no lock-free look first): a transaction begins
	 * with it, so that an idle disconnect that began before the transaction took its turn has finished (the
	 * transaction then reconnects), and none can begin after (a disconnect refuses while a transaction is open).
	 * <p>
	 * The client is built outside the lock: Kafka's constructor resolves {@code bootstrap.servers}, and a
	 * transactional client's {@code initTransactions} waits for its coordinator up to {@code max.block.ms}. A
	 * close started meanwhile goes ahead without waiting for it; the connect then closes the client it built and
	 * refuses. Connects that come meanwhile wait for the one under way and look again.
	 */
	void connectLocked() {
		while (true) {
			CompletableFuture<Void> underWay;
			CompletableFuture<Void> mine = null;
			boolean reconnecting;
			this.lifecycleLock.lock();
			try {
				State current = this.state;
				if (current == State.CONNECTED) {
					return;
				}
				if (current != State.CONFIGURED && current != State.DISCONNECTED) {
					checkAccepting(current);
				}
				if (this.lifecycleLock.getHoldCount() > 1) { // a listener of a transition made under the lock
					throw new IllegalCallerException("Producer '" + id() + "' cannot connect from a listener of its "
							+ "own producer.configured or producer.disconnecting: the transition under way would "
							+ "be undone beneath it; produce from another thread");
				}
				underWay = this.clientBuild;
				reconnecting = current == State.DISCONNECTED;
				if (underWay == null) {
					this.monitor.publish(new ProducerEvent.Configured(id()));
					if (reconnecting) {
						attachPolling(); // first, so that the report of a relayed send whose client fails has a thread
						this.pollingReleased = null;
					}
					mine = startClientBuild();
				}
			}
			finally {
				this.lifecycleLock.unlock();
			}
			if (underWay == null) {
				try {
					finishConnect(reconnecting);
				}
				finally {
					mine.complete(null); // after a refused connect closed its client: a close may wait for that
				}
				return;
			}
			underWay.join(); // as a wait for the lock did: uninterruptible, the interrupt flag kept
		}
	}

	/**
	 * Builds the client (outside the lock) and makes the producer CONNECTED with it, unless a close began
	 * meanwhile: then the client is closed and the connect refused. On the first connect the polling
	 * registration comes after the client; a reconnect registered before it, and a client that fails lets go
	 * of that registration again (the producer stays disconnected and holds no pipe or thread; the relay
	 * dispatches a report left in its queue once the detach is done, {@link #refuseRelayed}).
	 */
	private void finishConnect(boolean reconnecting) {
		org.apache.kafka.clients.producer.Producer<byte[], byte[]> created;
		try {
			created = this.transactions.newClient();
		}
		catch (Throwable ex) { // a checked one too, sneaked out of a client factory
			try {
				endConnect(reconnecting, null);
			}
			catch (RuntimeException | Error again) { // no thread to let go of the registration with
				ex.addSuppressed(again);
			}
			// For those who watch the producer rather than the caller (the health check).
			this.monitor.publish(new ProducerEvent.ErrorOccurred(id(), ErrorType.PRODUCER_CONNECT, ex, null, null));
			throw ex;
		}
		boolean connected;
		try {
			connected = endConnect(reconnecting, created);
		}
		catch (RuntimeException | Error ex) { // no registration to be had
			closeNewClient(created);
			throw ex;
		}
		if (!connected) {
			closeNewClient(created);
			throw notAccepting(this.state, null); // a close began while the client was being built
		}
	}

	/**
	 * Ends the connect under way: CONNECTED with {@code created} if the producer is still where the connect
	 * found it, else nothing (a close began); a reconnect whose client failed ({@code null}) lets go of its
	 * registration. A polling thread that died meanwhile leaves the producer POLLING_LOST instead (with the
	 * client, which its close releases).
	 * @return whether the producer is connected with {@code created}
	 */
	private boolean endConnect(boolean reconnecting,
			org.apache.kafka.clients.producer.Producer<byte[], byte[]> created) {
		this.lifecycleLock.lock();
		try {
			if (this.state != (reconnecting ? State.DISCONNECTED : State.CONFIGURED)) {
				return false;
			}
			if (created == null) {
				if (reconnecting) {
					releasePolling();
				}
				return false;
			}
			if (!reconnecting) {
				attachPolling();
			}
			this.client = created;
			this.clientGeneration++;
			if (this.pollingLostWhileConnecting) {
				this.state = State.POLLING_LOST;
				this.drained.complete(null); // nothing will be dispatched before the close does it
			}
			else {
				this.state = State.CONNECTED;
			}
			this.monitor.publish(new ProducerEvent.Connected(id()));
			return true;
		}
		finally {
			this.clientBuild = null;
			this.clientBuilder = null;
			this.pollingLostWhileConnecting = false;
			this.lifecycleLock.unlock();
		}
	}

	private void closeNewClient(org.apache.kafka.clients.producer.Producer<byte[], byte[]> created) {
		if (closeClient(created, Duration.ZERO)) {
			Thread.currentThread().interrupt();
		}
	}

	/**
	 * Closes the Kafka client of an idle producer (its network thread, sockets and buffer) and keeps the
	 * producer usable: the next message connects again. Idle means nothing in flight, no open transaction and
	 * an empty buffer; a message's slot comes back with its dispatched batch, a moment after its handle
	 * completed.
	 * @throws IllegalStateException naming why, if the producer is not idle or not connected
	 */
	public void disconnect() {
		String refusal = disconnectIfIdle();
		if (refusal != null) {
			throw new IllegalStateException("Producer '" + id() + "' cannot disconnect: " + refusal);
		}
	}

	/** Disconnects if idle, on a thread of its own: called by the polling thread, which must not block. */
	void disconnectInBackground() {
		startClientWork("disconnect while idle", () -> { // not started: the next idle timeout asks again
			String refusal = disconnectIfIdle();
			if (refusal != null) {
				logger.debug("Producer '{}' stays connected: {}", id(), refusal);
			}
		});
	}

	/**
	 * CONNECTED → DISCONNECTED when idle. The state is written before the in-flight count is read (a sender
	 * takes its slot before reading the state), so a sender racing the disconnect is either seen here or
	 * sees DISCONNECTED and connects again.
	 * @return why the producer was not disconnected, or {@code null} if it was
	 */
	String disconnectIfIdle() {
		org.apache.kafka.clients.producer.Producer<byte[], byte[]> old;
		this.lifecycleLock.lock();
		try {
			if (this.state != State.CONNECTED) {
				return "it is " + this.state.status.name().toLowerCase(java.util.Locale.ROOT);
			}
			if (this.transactions.isOpen()) {
				return "a transaction is open";
			}
			if (this.clientBuild != null) {
				return "its Kafka client is being built (a connect, a purge or a rebuild)";
			}
			if (this.buffer.size() > 0) {
				return this.buffer.size() + " message(s) are buffered; flush them first";
			}
			if (this.closeStart.isLocked()) { // its flush took the buffer, and its sends may not hold slots yet
				return "a close is flushing the buffer";
			}
			this.state = State.DISCONNECTED;
			long inFlight = inFlight();
			if (inFlight > 0) {
				this.state = State.CONNECTED;
				return inFlight + " message(s) are in flight";
			}
			this.monitor.publish(new ProducerEvent.Disconnecting(id()));
			old = this.client;
			this.client = null; // not kept while disconnected: its metrics and buffers are garbage now
			// Closed under the lock, so that a reconnect does not overlap it, and at once: no record of ours is in
			// it, and a graceful close would wait for Kafka's own requests still in flight (a hung broker's).
			if (closeClient(old, Duration.ZERO)) {
				Thread.currentThread().interrupt();
			}
			releasePolling();
		}
		finally {
			this.lifecycleLock.unlock();
		}
		this.monitor.publish(new ProducerEvent.Disconnected(id()));
		return null;
	}

	/**
	 * Lets go of the polling thread's hold on an idle producer being disconnected (its pipe and selector key,
	 * or its dispatch thread), so that a paused context or an idle tenant keeps no thread or file descriptor;
	 * the reconnect attaches anew. Not waited for: nothing is left to dispatch, and the retired dispatcher
	 * ignores what its thread still does for it (periodic work, the thread's death). Holding the lifecycle lock.
	 */
	private void releasePolling() {
		this.dispatcher.retire();
		this.pollingReleased = this.session.detach();
	}

	/** Throws the refusal of a producer that does not accept messages in {@code current}. */
	private void checkAccepting(State current) {
		if (current != State.CONNECTED) {
			throw notAccepting(current, null);
		}
	}

	/** The refusal of a producer that does not accept messages in {@code current}; {@code cause} may be null. */
	private WaterDropException notAccepting(State current, Throwable cause) {
		WaterDropException refusal = (current == State.POLLING_LOST)
				? new WaterDropException("Producer '" + id() + "' lost its polling thread and accepts no more "
						+ "messages (their reports could never be dispatched); close it and create a new one")
				: new ProducerClosedException(id(), current.status);
		if (cause != null) {
			refusal.initCause(cause);
		}
		return refusal;
	}

	/**
	 * How many partitions Kafka's metadata gives the topic (it may wait for them). Asked before a slot is
	 * taken, so an idle disconnect or a close may let go of the client meanwhile: a client let go of is
	 * replaced and asked again; a closing producer refuses the message as closed, as it refuses any other. A
	 * draining one asks the client it has: its relay still sends what was accepted (the buffer the close flushes,
	 * messages produced in callbacks), which a connect would refuse.
	 */
	private int partitionCount(String topic) {
		for (int attempt = 1;; attempt++) {
			if (this.state != State.DRAINING) {
				connect();
			}
			org.apache.kafka.clients.producer.Producer<byte[], byte[]> current = this.client;
			if (current != null) {
				try {
					return current.partitionsFor(topic).size();
				}
				catch (KafkaException ex) {
					State now = this.state;
					if (now.closing()) { // the close took the client away ("Requested metadata update after close")
						throw notAccepting(now, ex);
					}
					if (this.client == current || attempt == 3) {
						throw ex;
					}
				}
			}
			else if (this.state.closing()) {
				throw notAccepting(this.state, null);
			}
			else if (attempt == 3) {
				throw new WaterDropException("Producer '" + id() + "' was disconnected three times while it looked "
						+ "up the partitions of topic '" + topic + "'");
			}
		}
	}

	/**
	 * A new report queue and a thread to dispatch it: a registration with the Poller (fd) or a dispatch thread
	 * of its own (thread). On failure the queue, dispatcher and session stay as they were. Holding the
	 * lifecycle lock.
	 */
	private void attachPolling() {
		WakeupPipe pipe = null;
		try {
			ReportQueue<Delivery> reports;
			ReportDispatcher dispatching;
			PollingSession attached;
			if (this.config.pollingMode() == PollingMode.FD) {
				pipe = this.config.poller().openPipe();
				reports = new ReportQueue<>(pipe);
				dispatching = new ReportDispatcher(this, reports);
				attached = this.config.poller().register(dispatching, pipe);
			}
			else {
				DispatchThread thread = new DispatchThread(id(), this.config.pollTimeout());
				reports = new ReportQueue<>(thread);
				dispatching = new ReportDispatcher(this, reports);
				thread.start(dispatching);
				attached = thread;
			}
			this.queue = reports;
			this.dispatcher = dispatching;
			this.session = attached;
		}
		catch (RuntimeException | Error ex) {
			if (pipe != null) {
				pipe.close();
			}
			throw ex;
		}
	}

	/**
	 * Sends a message and waits (up to {@code maxWaitTimeout}) until its delivery report is dispatched.
	 * @throws InvalidMessageException if the message is invalid (nothing was sent)
	 * @throws ProducerClosedException if the producer is closing or closed (nothing was sent)
	 * @throws DeliveryFailedException if the broker did not take it
	 * @throws DeliveryTimeoutException if no report came in time
	 * @throws WaterDropException if interrupted, the flag kept set: waiting for room or inside Kafka's send
	 * (nothing was sent), or waiting for the report (a {@link DeliveryInterruptedException}: the message was
	 * sent; it says whether Kafka has answered for it yet; its report still comes, to listeners, as after a
	 * timeout)
	 * @throws TransactionFailedException on a transactional producer outside a transaction, whose own
	 * transaction a timed-out or interrupted wait rolled back (the message will not be delivered)
	 * @throws IllegalCallerException if called on the thread that dispatches this producer's reports
	 */
	public DeliveryReport produceSync(Message message) {
		return produceSync(message, this.config.maxWaitTimeout());
	}

	/**
	 * Like {@link #produceSync(Message)}, waiting up to {@code timeout} instead of {@code maxWaitTimeout}. A
	 * {@link DeliveryTimeoutException} does not recall the message: its report still comes, to listeners.
	 */
	public DeliveryReport produceSync(Message message, Duration timeout) {
		Timeouts.require(timeout, "produce synchronously");
		try {
			if (!this.transactions.enabled()) {
				return send(message, Mode.SYNC, null).await(timeout);
			}
			return inTransactionIfNeeded(() -> send(message, Mode.SYNC, null).await(timeout));
		}
		catch (RuntimeException ex) {
			reportRefusal(ErrorType.MESSAGE_PRODUCE_SYNC, ex, message);
			throw ex;
		}
	}

	/** Sends a message and returns at once with a handle on its delivery. */
	public DeliveryHandle produceAsync(Message message) {
		return produceAsync(message, null);
	}

	/**
	 * Sends a message and returns at once with a handle on its delivery; {@code callback} runs when the
	 * report is dispatched.
	 * @throws InvalidMessageException if the message is invalid (nothing was sent)
	 * @throws ProducerClosedException if the producer is closing or closed (nothing was sent)
	 * @throws WaterDropException if interrupted while waiting for room or inside Kafka's send (nothing was sent;
	 * the flag stays set)
	 */
	public DeliveryHandle produceAsync(Message message, DeliveryCallback callback) {
		try {
			if (!this.transactions.enabled()) {
				return send(message, Mode.ASYNC, callback);
			}
			return inTransactionIfNeeded(() -> send(message, Mode.ASYNC, callback));
		}
		catch (RuntimeException ex) {
			reportRefusal(ErrorType.MESSAGE_PRODUCE_ASYNC, ex, message);
			throw ex;
		}
	}

	/**
	 * Sends messages and waits for all their reports. Every message is validated before any is sent: one
	 * invalid message refuses the whole batch.
	 * @return the reports, in the order of the messages
	 * @throws DeliveryFailedException for the first message not delivered; the others that failed are
	 * suppressed exceptions of it
	 * @throws BatchPartlySentException if a message was refused after some before it were sent (their handles
	 * are in it; nothing waited for them)
	 */
	public List<DeliveryReport> produceManySync(List<Message> messages) {
		return produceManySync(messages, this.config.maxWaitTimeout());
	}

	/**
	 * Like {@link #produceManySync(List)}, waiting up to {@code timeout} in all for the reports.
	 * @throws DeliveryTimeoutException if a report did not come in time; the failures reported before it are
	 * suppressed in it
	 */
	public List<DeliveryReport> produceManySync(List<Message> messages, Duration timeout) {
		Timeouts.require(timeout, "produce synchronously");
		try {
			return inTransactionIfNeeded(() -> awaitAll(sendMany(messages, Mode.SYNC), timeout));
		}
		catch (RuntimeException ex) {
			reportRefusal(ErrorType.MESSAGES_PRODUCE_MANY_SYNC, ex, null);
			throw ex;
		}
	}

	/**
	 * Sends messages, all validated first, and returns their handles in order.
	 * @throws BatchPartlySentException if a message was refused after some before it were sent (their handles
	 * are in it)
	 */
	public List<DeliveryHandle> produceManyAsync(List<Message> messages) {
		try {
			return inTransactionIfNeeded(() -> sendMany(messages, Mode.ASYNC));
		}
		catch (RuntimeException ex) {
			reportRefusal(ErrorType.MESSAGES_PRODUCE_MANY_ASYNC, ex, null);
			throw ex;
		}
	}

	/**
	 * Waits for every handle, up to {@code timeout} in all; the first failure is thrown with the others
	 * suppressed in it. A wait that times out or is interrupted is thrown as it is, with the failures found
	 * before it suppressed in it: the caller learns those too.
	 */
	private List<DeliveryReport> awaitAll(List<DeliveryHandle> handles, Duration timeout) {
		List<DeliveryReport> reports = new ArrayList<>(handles.size());
		DeliveryFailedException firstFailure = null;
		long timeoutNanos = Timeouts.nanos(timeout);
		long start = System.nanoTime();
		for (DeliveryHandle handle : handles) {
			try {
				// What is left, without a deadline that start + timeout would overflow.
				long left = timeoutNanos - (System.nanoTime() - start);
				reports.add(handle.await(Duration.ofNanos(Math.max(0, left))));
			}
			catch (DeliveryFailedException ex) {
				if (firstFailure == null) {
					firstFailure = ex;
				}
				else {
					firstFailure.addSuppressed(ex);
				}
			}
			catch (RuntimeException ex) { // the wait timed out or was interrupted
				if (firstFailure != null) {
					ex.addSuppressed(firstFailure);
				}
				throw ex;
			}
		}
		if (firstFailure != null) {
			throw firstFailure;
		}
		return reports;
	}

	private DeliveryHandle send(Message original, Mode mode, DeliveryCallback callback) {
		Message message = this.middleware.apply(original);
		ProducerRecord<byte[], byte[]> record = this.encoder.encode(message);
		boolean relayed = PollingThreads.isCurrent();
		connectUnlessRelayed(relayed);
		checkMayWait(mode);
		if (!relayed) { // before the slot: a partition key of a topic Kafka cannot tell is refused, even when full
			record = this.encoder.resolvePartition(message, record);
		}
		takeSlots(1, relayed);
		DeliveryHandle handle = dispatch(message, record, callback, relayed, mode == Mode.SYNC);
		(mode == Mode.SYNC ? this.stats.producedSync : this.stats.producedAsync).increment();
		if (this.monitor.wants(WANTS_PRODUCED_EVENT)) {
			this.monitor.publish(new ProducerEvent.MessageProduced(id(), mode, message));
		}
		return handle;
	}

	private List<Message> transform(List<Message> messages) {
		List<Message> transformed = new ArrayList<>(messages.size());
		for (Message message : messages) {
			transformed.add(this.middleware.apply(message));
		}
		return transformed;
	}

	private List<DeliveryHandle> sendMany(List<Message> messages, Mode mode) {
		if (messages == null) {
			throw new InvalidMessageException(InvalidMessageException.Violation.MESSAGE_MISSING, null,
					"Message list is null");
		}
		checkFits(messages.size()); // by its size alone, before any of it is transformed and serialized
		return sendManyUnchanged(transform(messages), mode, new ArrayList<>());
	}

	/**
	 * Sends messages that went through the middleware already, adding each handle to {@code sent} as it goes,
	 * so that a caller can tell what was sent if a later message is refused (then thrown as a
	 * {@link BatchPartlySentException}). Room for the whole batch is reserved first: a full producer refuses
	 * the batch before any of it is sent.
	 */
	private List<DeliveryHandle> sendManyUnchanged(List<Message> messages, Mode mode, List<DeliveryHandle> sent) {
		List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(messages.size());
		for (Message message : messages) {
			records.add(this.encoder.encode(message));
		}
		boolean relayed = PollingThreads.isCurrent();
		connectUnlessRelayed(relayed);
		checkMayWait(mode);
		if (!relayed) { // before the slots: a partition key of a topic Kafka cannot tell is refused, even when full
			for (int i = 0; i < records.size(); i++) {
				records.set(i, this.encoder.resolvePartition(messages.get(i), records.get(i)));
			}
		}
		takeSlots(records.size(), relayed);
		int dispatched = 0;
		try {
			for (; dispatched < records.size(); dispatched++) {
				sent.add(dispatch(messages.get(dispatched), records.get(dispatched), null, relayed,
						mode == Mode.SYNC));
			}
		}
		catch (Throwable ex) {
			releaseSlots(records.size() - dispatched - 1); // the failed one released its own
			if (dispatched > 0 && ex instanceof RuntimeException refusal) {
				throw new BatchPartlySentException(id(), sent, messages, refusal);
			}
			throw ex;
		}
		finally {
			// Those sent before a refusal count too: each of them ends as acknowledged, failed or purged.
			(mode == Mode.SYNC ? this.stats.producedSync : this.stats.producedAsync).add(dispatched);
		}
		if (this.monitor.isListening(ProducerEvent.MessagesProduced.class)) {
			this.monitor.publish(new ProducerEvent.MessagesProduced(id(), mode, List.copyOf(messages)));
		}
		return List.copyOf(sent);
	}

	/**
	 * Hands one valid record, whose slot is taken, to Kafka with its {@link Delivery} as the callback.
	 * {@code relayed}: called on a polling thread (from a callback), so the send goes to the relay and its
	 * partition is resolved there (both may block); a refusal then arrives as the message's failed report.
	 * {@code awaited}: the sender will wait for the report (a sync send).
	 */
	private DeliveryHandle dispatch(Message message, ProducerRecord<byte[], byte[]> record,
			DeliveryCallback callback, boolean relayed, boolean awaited) {
		Delivery delivery;
		try {
			delivery = this.monitor.wants(WANTS_LATENCY)
					? new Delivery.Timed(this, message, callback, this.clientGeneration, System.nanoTime())
					: new Delivery(this, message, callback, this.clientGeneration);
			if (awaited) {
				delivery.expectWaiter();
			}
		}
		catch (Error ex) { // out of memory: the slot taken for it must come back, as on every refusal
			releaseSlots(1);
			throw ex;
		}
		DeliveryObserver observer = this.config.observer();
		if (observer != null) {
			delivery.observation = observeSend(observer, message, record);
			try { // with the headers the observer added: Kafka would refuse a record now too large in its callback
				this.encoder.checkObservedRecordSize(message, record);
			}
			catch (RuntimeException | Error ex) {
				releaseSlots(1);
				observeOutcome(observer, delivery.observation, null, ex);
				if (ex instanceof RuntimeException failure && !(ex instanceof InvalidMessageException)) {
					// A header that is none (a null key), which Kafka's send would refuse as well.
					throw new DeliveryFailedException("The headers the DeliveryObserver of producer '" + id()
							+ "' added to the message to '" + record.topic() + "' are invalid: " + failure, message,
							failure);
				}
				throw ex;
			}
		}
		try {
			if (relayed) {
				int purgesWhenAccepted = this.purges.get();
				this.relayedUnsent.incrementAndGet();
				try {
					relay(() -> sendFromRelay(message, record, delivery, purgesWhenAccepted));
				}
				catch (RuntimeException | Error ex) { // not handed over: the send never runs
					this.relayedUnsent.decrementAndGet();
					throw ex;
				}
			}
			else if (this.transactions.enabled()) {
				sendInTransaction(record, delivery);
			}
			else {
				this.client.send(record, delivery);
			}
		}
		catch (Throwable ex) { // a checked exception too, sneaked out of a custom partitioner or interceptor
			if (!delivery.claimRefused()) {
				return delivery; // Kafka called back already: that report is this message's outcome
			}
			releaseSlots(1);
			if (observer != null) {
				observeOutcome(observer, delivery.observation, null, ex);
			}
			if (ex instanceof Error error) {
				throw error;
			}
			reloadAfterFatalError(delivery.clientGeneration, ex);
			State now = this.state;
			// Disconnected is not closed: an idle disconnect after the slot came back, or one refused because of
			// it (DISCONNECTED for a moment), and Kafka's refusal is the answer.
			if (now != State.CONNECTED && now != State.DISCONNECTED) {
				throw notAccepting(now, ex);
			}
			if (ex instanceof InterruptException) { // the caller's interrupt (flag set), as in a wait for room
				throw new WaterDropException("Interrupted while Kafka's client of producer '" + id() + "' waited to "
						+ "take the message to '" + record.topic()
						+ "' (for metadata or buffer space); it was not sent", ex);
			}
			throw new DeliveryFailedException((ex instanceof Transactions.EndClaimed)
					? "The message to '" + record.topic() + "' was not sent: " + ex.getMessage()
					: "Kafka client of producer '" + id() + "' refused the message to '" + record.topic() + "': " + ex,
					message, ex);
		}
		return delivery;
	}

	/**
	 * Hands a record to Kafka through the send gate of the transaction open on this thread
	 * ({@link Transactions#enterSend()}): none gets into it once another thread claimed its end.
	 */
	private void sendInTransaction(ProducerRecord<byte[], byte[]> record, Delivery delivery) {
		this.transactions.enterSend();
		delivery.transaction = this.transactions.current();
		try {
			this.client.send(record, delivery);
		}
		finally {
			this.transactions.exitSend();
		}
	}

	/**
	 * Commits consumer offsets with the transaction open on this thread, through its send gate.
	 * @throws IllegalStateException if another thread claimed the end of the transaction the work joined
	 */
	void sendOffsetsToTransaction(Map<TopicPartition, OffsetAndMetadata> offsets, ConsumerGroupMetadata group) {
		this.transactions.enterSend();
		try {
			client().sendOffsetsToTransaction(offsets, group);
		}
		finally {
			this.transactions.exitSend();
		}
	}

	private Object observeSend(DeliveryObserver observer, Message message, ProducerRecord<byte[], byte[]> record) {
		try {
			return observer.beforeSend(id(), message, record);
		}
		catch (Throwable ex) { // as a callback's: an Error here would leak the message's slot
			observerFailed("before a send", ex, message);
			return null;
		}
	}

	/**
	 * Opens the observer's scope of a message on this thread; its failure is reported, never thrown.
	 * @return the scope to close, or {@code null} for none
	 */
	Object openObserverScope(DeliveryObserver observer, Object observation) {
		if (observation == null) {
			return null; // beforeSend failed: nothing to make current
		}
		try {
			return observer.openScope(observation);
		}
		catch (Throwable ex) {
			observerFailed("opening a scope", ex, null);
			return null;
		}
	}

	/** Closes a scope {@link #openObserverScope} returned, if any; its failure is reported, never thrown. */
	void closeObserverScope(DeliveryObserver observer, Object scope) {
		if (scope == null) {
			return;
		}
		try {
			observer.closeScope(scope);
		}
		catch (Throwable ex) {
			observerFailed("closing a scope", ex, null);
		}
	}

	/** Hands a message's outcome to the observer; its failure is reported, never thrown. */
	void observeOutcome(DeliveryObserver observer, Object observation, DeliveryReport report, Throwable error) {
		try {
			observer.afterOutcome(observation, report, error);
		}
		catch (Throwable ex) { // as a callback's: an Error here must not stop the polling thread
			observerFailed("on an outcome", ex, null);
		}
	}

	/**
	 * Reports an observer's failure as {@code error.occurred} (with the message, when there is one) and logs
	 * it: the first at WARN, later ones at DEBUG, since a broken observer (a tracer) fails on every message,
	 * mostly on the polling thread.
	 */
	private void observerFailed(String when, Throwable ex, Message message) {
		try {
			if (!this.observerFailureLogged) {
				this.observerFailureLogged = true; // a race may log two: harmless
				logger.warn("Observer of producer '{}' failed {}; later failures are logged at DEBUG", id(), when, ex);
			}
			else {
				logger.debug("Observer of producer '{}' failed {}", id(), when, ex);
			}
		}
		catch (RuntimeException loggingFailed) {
			// The logging backend failed (on the error's own message, say): error.occurred still reports it, and a
			// dispatch on the polling thread must not fail for it.
		}
		this.monitor.publish(new ProducerEvent.ErrorOccurred(id(), ErrorType.LISTENER, ex, message,
				(message != null) ? message.label() : null));
	}

	/**
	 * Connects, except a disconnected producer on a polling thread: building a Kafka client blocks (and waits
	 * for a disconnect closing one), so the relay reconnects it before the send instead.
	 */
	private void connectUnlessRelayed(boolean relayed) {
		if (!relayed || this.state != State.DISCONNECTED) {
			connect();
		}
	}

	/**
	 * A send on the relay's thread, after reconnecting a producer disconnected since; a refusal there becomes
	 * the message's failed report, or its purged one when the producer's close had gone past draining (the
	 * close then waits for the relay before it detaches, so the report is dispatched).
	 */
	private void sendFromRelay(Message message, ProducerRecord<byte[], byte[]> record, Delivery delivery,
			int purgesWhenAccepted) {
		try {
			sendRelayed(message, record, delivery, purgesWhenAccepted);
		}
		finally {
			this.relayedUnsent.decrementAndGet();
		}
	}

	private void sendRelayed(Message message, ProducerRecord<byte[], byte[]> record, Delivery delivery,
			int purgesWhenAccepted) {
		boolean purged = false;
		try {
			if (this.state == State.DISCONNECTED) {
				connect(); // the slot taken keeps an idle disconnect away until the report
			}
			// The generation before the client, as a rebuild writes them in the other order: a failure is never
			// blamed on a newer client than the one it came from (which would rebuild a healthy one).
			int generation = this.clientGeneration;
			org.apache.kafka.clients.producer.Producer<byte[], byte[]> current = this.client;
			if (current == null) { // closed while disconnected
				throw notAccepting(this.state, null);
			}
			// Read after the client, which a purge replaces after counting itself: a purge since the message was
			// accepted is seen here, or this is the old client, whose close fails the send as purged.
			purged = this.purges.get() != purgesWhenAccepted;
			if (!purged) {
				delivery.clientGeneration = generation;
				current.send(this.encoder.resolvePartition(message, record), delivery);
			}
		}
		catch (Exception ex) { // a checked one too, sneaked out of a custom partitioner or interceptor
			if (closingClient() || this.purges.get() != purgesWhenAccepted) { // its client closed by the close or purge
				refuseRelayed(() -> delivery.purgedBeforeSent(ex));
			}
			else {
				refuseRelayed(() -> delivery.onCompletion(null, ex));
			}
		}
		catch (Error ex) {
			refuseRelayed(() -> delivery.onCompletion(null, new WaterDropException("Sending failed: " + ex, ex)));
			throw ex;
		}
		if (purged) {
			refuseRelayed(() -> delivery.purgedBeforeSent(purgedOnTheRelay()));
		}
	}

	private WaterDropException purgedOnTheRelay() {
		return new WaterDropException("Purged by producer '" + id() + "' before the relay handed it to Kafka");
	}

	/**
	 * Queues the report of a send the relay could not make. Without a polling registration (a disconnect let
	 * go of it and the reconnect could not register: no pipe or thread to be had) nobody would dispatch it:
	 * this thread does, once the old registration is gone, so that the message still gets its one outcome.
	 */
	private void refuseRelayed(Runnable report) {
		CompletableFuture<Void> released;
		ReportDispatcher stranded;
		this.lifecycleLock.lock(); // no reconnect between the report and the look: it went where that says
		try {
			report.run();
			released = this.pollingReleased;
			stranded = this.dispatcher;
		}
		finally {
			this.lifecycleLock.unlock();
		}
		if (released != null) {
			if (await(released, this.config.maxWaitTimeout()) == Waited.INTERRUPTED) {
				Thread.currentThread().interrupt();
			}
			if (released.isDone()) {
				dispatchLeft(stranded);
			}
		}
	}

	/**
	 * Hands a send to the relay. When handing it over fails (no thread could be started, out of memory), the
	 * send may be queued all the same, and a thread another send started may take it: the send and the
	 * refusal claim it, and only one of them goes ahead.
	 */
	private void relay(Runnable send) {
		ThreadPoolExecutor executor = relay();
		RelayedSend relayed = new RelayedSend(send);
		try {
			executor.execute(relayed);
		}
		catch (RuntimeException | Error ex) {
			if (relayed.compareAndSet(false, true)) {
				executor.remove(relayed);
				throw ex;
			}
			// Claimed by the relay's thread: it is being sent, and its outcome comes as usual.
		}
	}

	/** A send handed to the relay; claimed (set) by whoever goes ahead with it: the relay, or a refusal. */
	private static final class RelayedSend extends AtomicBoolean implements Runnable {

		private final transient Runnable send;

		RelayedSend(Runnable send) {
			this.send = send;
		}

		@Override
		public String toString() { // in the executor's rejection message
			return "relayed send " + this.send;
		}

		@Override
		public void run() {
			if (compareAndSet(false, true)) {
				this.send.run();
			}
		}

	}

	private ThreadPoolExecutor relay() {
		ThreadPoolExecutor current = this.relay;
		if (current != null) {
			return current;
		}
		this.lifecycleLock.lock();
		try {
			if (this.relayStopped) { // the close waited for the relay's last sends already
				throw new RejectedExecutionException("Producer '" + id() + "' has stopped its relay");
			}
			if (this.relay == null) {
				// At most one thread, ending when idle: a producer sent to from callbacks once in a while (one per
				// tenant, say) holds no thread meanwhile. No core thread: every send goes through the queue, in
				// order, also while an idle thread is ending and its successor starting.
				this.relay = new ThreadPoolExecutor(0, 1, relayKeepAlive.toNanos(), TimeUnit.NANOSECONDS,
						new LinkedBlockingQueue<>(), (task) -> {
							Thread thread = threads.newThread(task);
							thread.setName("waterdrop.relay-" + id());
							thread.setDaemon(true);
							return thread;
						});
			}
			return this.relay;
		}
		finally {
			this.lifecycleLock.unlock();
		}
	}

	/**
	 * Takes {@code count} slots of a connected producer. The state is read after the slots are taken: a close
	 * or disconnect that began earlier is seen here, a later one waits for the slots (a disconnect refuses).
	 * A producer disconnected meanwhile connects again, unless the send is {@code relayed}: the relay does.
	 */
	private void takeSlots(int count, boolean relayed) {
		while (true) {
			acquireSlots(count);
			State current = this.state;
			if (current == State.CONNECTED || (relayed && current == State.DISCONNECTED)) {
				return;
			}
			releaseSlots(count);
			if (current != State.DISCONNECTED) {
				checkAccepting(current);
			}
			connect();
		}
	}

	/** Refuses a batch larger than the producer can ever hold: no wait would make room for it. */
	private void checkFits(int count) {
		if (count > this.config.maxInFlight()) {
			throw new QueueFullException(id(), count, this.config.maxInFlight());
		}
	}

	/**
	 * Waits for room under {@code maxInFlight}. Never waits on a polling thread: this producer's only frees
	 * slots, and any other would freeze the producers it serves.
	 */
	private void acquireSlots(int count) {
		checkFits(count);
		// tryAcquire() takes free permits even from a fair semaphore with waiters: only while none waits.
		if (!this.slots.hasQueuedThreads() && this.slots.tryAcquire(count)) {
			return;
		}
		Duration timeout = this.config.waitTimeoutOnQueueFull();
		if (!this.config.waitOnQueueFull() || PollingThreads.isCurrent()) {
			if (this.slots.tryAcquire(count)) { // a caller that never waits takes what is free
				return;
			}
			throw new QueueFullException(id(), count, inFlight(), this.config.maxInFlight(), Duration.ZERO);
		}
		try {
			if (!this.slots.tryAcquire(count, Timeouts.nanos(timeout), TimeUnit.NANOSECONDS)) {
				throw new QueueFullException(id(), count, inFlight(), this.config.maxInFlight(), timeout);
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new WaterDropException("Interrupted while waiting for room in producer '" + id() + "'", ex);
		}
	}

	/**
	 * Gives back the slots of messages that reached their end: dispatched reports (once per batch, on the
	 * polling thread) or refusals. The last one back completes a close's wait.
	 */
	void releaseSlots(int count) {
		if (count <= 0) {
			return;
		}
		this.slots.release(count);
		// Read after releasing (a close writes its state, then reads the permits): one of the two sees the other.
		if (this.state.closing() && this.slots.availablePermits() == this.config.maxInFlight()) {
			this.drained.complete(null);
		}
	}

	/**
	 * Whether Kafka failed a record because WaterDrop removed it: a forced close or a {@link #purge()} aborts
	 * unsent batches with a plain {@code KafkaException} (closed forcefully), an aborted transaction with
	 * {@code TransactionAbortedException}. Any other error is a real delivery failure, even during a purge.
	 * Called on Kafka's thread, for failed records only.
	 */
	boolean isPurge(Exception error) {
		return error instanceof TransactionAbortedException
				|| (error.getClass() == KafkaException.class && this.purgeUnderWay);
	}

	private void reportRefusal(ErrorType type, Throwable error, Message message) {
		this.monitor.publish(new ProducerEvent.ErrorOccurred(id(), type, error, message,
				(message != null) ? message.label() : null));
	}

	/** Checked once connected, so that a producer first connected from a callback is covered too. */
	private void checkMayWait(Mode mode) {
		if (mode == Mode.SYNC) {
			checkMayWait("produce synchronously", transactional());
		}
	}

	/** Throws if the calling thread dispatches this producer's reports: waiting there would never end. */
	void checkMayWait(String action) {
		checkMayWait(action, false);
	}

	/**
	 * Also on a thread dispatching the reports a dead polling thread left ({@link #dispatchLeft}): the rest of
	 * them wait for it.
	 * @param sendsInATransaction whether the refused call would send in a transaction, which no advice helps
	 */
	private void checkMayWait(String action, boolean sendsInATransaction) {
		PollingSession current = this.session;
		if ((current != null && current.isPollingThread()) || this.orphanDispatch.isHeldByCurrentThread()) {
			throw new IllegalCallerException("Cannot " + action + " on thread '" + Thread.currentThread().getName()
					+ "': it dispatches the delivery reports of producer '" + id() + "', so it would wait forever. "
					+ mayWaitAdvice(sendsInATransaction));
		}
	}

	private String mayWaitAdvice(boolean sendsInATransaction) {
		if (sendsInATransaction) {
			// checkMayTransact refuses every polling thread: another Poller or produceAsync would not help.
			return "Hand the work to another thread (an executor): a transactional producer sends from no "
					+ "polling thread, its own or another's.";
		}
		// Another Poller helps only the callback of another producer that shares this one's Poller.
		return "Use produceAsync with a DeliveryCallback here, or hand the wait to another thread (an executor)"
				+ ((this.config.pollingMode() == PollingMode.FD)
						? "; from the callback of another producer on this Poller, a Poller of its own for either of "
								+ "them also works (polling.poller)."
						: ".");
	}

	/**
	 * Throws on any polling thread, this producer's or another's: a transaction blocks (its begin and commit
	 * wait for the broker, and for the transaction lock), which would stall every producer that thread
	 * serves; and a send from a polling thread is relayed to another thread, where it could reach Kafka after
	 * the commit, outside the transaction.
	 */
	void checkMayTransact(String action) {
		checkMayWait(action, true);
		if (PollingThreads.isCurrent()) {
			throw new IllegalCallerException("Cannot " + action + " with transactional producer '" + id()
					+ "' on thread '" + Thread.currentThread().getName() + "': it dispatches delivery reports, and "
					+ "a transaction would block them while it waits for the broker. Hand the work to another "
					+ "thread (an executor) instead.");
		}
	}

	/**
	 * The polling thread of {@code lost} died: nothing is dispatched until the close does it (on its own
	 * thread), so new messages are refused and every close waiter is released. A registration a disconnect let
	 * go of (its death raced the disconnect, or came after a reconnect) concerns the producer no more.
	 */
	void pollingTerminated(ReportDispatcher lost, Throwable cause) {
		boolean whileConnecting = false;
		this.lifecycleLock.lock();
		try {
			if (lost != this.dispatcher || this.pollingReleased != null) {
				return;
			}
			if (this.state == State.CONNECTED) {
				this.state = State.POLLING_LOST;
			}
			else if (this.state == State.DISCONNECTED && this.clientBuild != null) { // a reconnect builds its client
				this.pollingLostWhileConnecting = true; // it connects as POLLING_LOST, or lets go if its client fails
				whileConnecting = true;
			}
		}
		finally {
			this.lifecycleLock.unlock();
		}
		logger.error("Producer '{}' lost its polling thread; {} report(s) will be dispatched when it is closed", id(),
				inFlight(), cause);
		if (!whileConnecting) {
			this.drained.complete(null);
		}
	}

	/** Closes, waiting up to {@code maxWaitTimeout} for in-flight messages before purging the rest. */
	@Override
	public void close() {
		close(this.config.maxWaitTimeout());
	}

	/**
	 * Closes: sends what is buffered (as {@link #flushAsync}), refuses new messages, waits up to
	 * {@code timeout} for every in-flight message's report to be dispatched, purges what is still undelivered
	 * then (each reported as {@code message.purged}), and releases the client and polling resources.
	 * Concurrent and repeated calls wait for the same close, each within its own timeout: one whose timeout ends
	 * first hurries the close under way, purging what is undelivered (as {@code KafkaProducer}'s close with a
	 * shorter timeout forces the close under way). Called on a polling thread (from a callback, of
	 * this producer or another) it only starts the close and returns: waiting there would stall every producer
	 * that thread serves; so it does in a listener of this close's own {@code producer.closing} or
	 * {@code producer.closed}, which would wait for itself, and in a listener of this producer's
	 * {@code producer.configured}, {@code producer.connected} or {@code producer.disconnecting} while another
	 * close flushes the buffer (that close waits for the lock the listener's thread holds, and then finishes
	 * the close). On an interrupted thread it still releases everything (purging instead of waiting) and keeps
	 * the interrupt flag set.
	 */
	public void close(Duration timeout) {
		close(Timeouts.require(timeout, "close"), false);
	}

	/**
	 * Closes at once: everything undelivered is purged and reported as {@code message.purged}, and what is
	 * buffered is dropped ({@code buffer.purged}). A graceful close already waiting for reports (on another
	 * thread) stops waiting and purges them too.
	 */
	public void closeForcefully() {
		this.forced.complete(null);
		cutShortKafkasClose();
		close(Duration.ZERO, true);
	}

	/**
	 * A graceful close already inside Kafka's close (RELEASING) waits for Kafka's own requests, for up to what
	 * is left of its timeout: Kafka's close at once, from this thread, force-closes the client and ends that
	 * wait (what Kafka still held fails, reported as purged). Not on a polling thread: Kafka's close joins its
	 * network thread, which every producer that thread serves would wait for; the close there returns at once
	 * anyway. Kafka's client is thread-safe: both closes then release its resources, each quietly.
	 */
	private void cutShortKafkasClose() {
		org.apache.kafka.clients.producer.Producer<byte[], byte[]> current = this.client;
		if (this.state != State.RELEASING || current == null || PollingThreads.isCurrent()) {
			return;
		}
		if (inFlight() > 0) {
			this.purgeUnderWay = true;
		}
		if (closeClient(current, Duration.ZERO)) {
			Thread.currentThread().interrupt();
		}
	}

	private void close(Duration timeout, boolean force) {
		long start = System.nanoTime();
		if (startClose(timeout, force)) {
			return; // on the polling thread: the close goes on elsewhere
		}
		if (this.closingThread == Thread.currentThread()) {
			return; // in a listener of this close's own producer.closing or producer.closed: it would wait for itself
		}
		runPendingClose();
		try {
			awaitClose(timeout, start, force);
		}
		catch (InterruptedException ex) {
			// Another thread is closing and will finish the releases; this one only stops waiting.
			Thread.currentThread().interrupt();
			throw new WaterDropException("Interrupted while waiting for producer '" + id() + "' to close", ex);
		}
		catch (ExecutionException ex) {
			throw new WaterDropException("Closing producer '" + id() + "' failed", ex.getCause());
		}
	}

	/**
	 * Waits for the close, also one another thread began with a longer timeout: when this call's timeout (from
	 * {@code start}, its wait for the turn to flush included) ends first, it hurries that close as KafkaProducer's
	 * close does (what is undelivered is purged), so that every close returns within its own timeout plus the
	 * purge.
	 */
	private void awaitClose(Duration timeout, long start, boolean force)
			throws InterruptedException, ExecutionException {
		if (!force) {
			try {
				this.closed.get(remaining(timeout, start).toNanos(), TimeUnit.NANOSECONDS);
				return;
			}
			catch (TimeoutException ex) {
				if (this.forced.complete(null)) {
					logger.warn("Producer '{}' was still closing when a close with timeout {} ran out; purging what "
							+ "is undelivered", id(), timeout);
				}
				cutShortKafkasClose();
			}
		}
		this.closed.get();
	}

	/** What is left of {@code timeout} since the {@link System#nanoTime()} {@code start}; zero when spent. */
	private static Duration remaining(Duration timeout, long start) {
		return Duration.ofNanos(Math.max(0, Timeouts.nanos(timeout) - (System.nanoTime() - start)));
	}

	/**
	 * Runs a close begun on a polling thread whose own thread has not started (none could be): the caller may
	 * wait, so it runs the close. Once only, whoever claims it first.
	 */
	private void runPendingClose() {
		Runnable pending = this.closeToStart.getAndSet(null);
		if (pending != null) {
			pending.run();
		}
	}

	/**
	 * Starts a close on a new thread and returns a future that completes once the producer is closed: within
	 * {@code timeout} plus the purge, as {@link #close(Duration)}, also when another close is under way. The
	 * future is the caller's own: cancelling or completing it changes nothing of the close. Where no thread
	 * can be started (the JVM out of native threads), the close runs on the caller's thread, unless that is a
	 * polling thread.
	 */
	public CompletableFuture<Void> closeAsync(Duration timeout) {
		Timeouts.require(timeout, "close");
		if (this.closed.isDone()) {
			return this.closed.copy();
		}
		// On the caller's thread the close would wait for every in-flight report before returning.
		Runnable close = asyncClose(timeout);
		try {
			startThread("waterdrop.close-" + id(), close);
		}
		catch (OutOfMemoryError ex) {
			logger.warn("Producer '{}' could not start a thread to close it; closing it on thread '{}'", id(),
					Thread.currentThread().getName(), ex);
			if (PollingThreads.isCurrent()) {
				startClose(timeout, false); // leaves the close pending for its polling thread or a close()
			}
			else {
				close.run();
			}
		}
		return this.closed.copy();
	}

	private Runnable asyncClose(Duration timeout) {
		return () -> {
			long start = System.nanoTime();
			startClose(timeout, false);
			runPendingClose();
			try {
				awaitClose(timeout, start, false);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
			catch (ExecutionException ex) {
				// the close's future tells its callers
			}
		};
	}

	/**
	 * A graceful close sends what is buffered first, as {@link #flushAsync} does (so does Ruby WaterDrop's
	 * close); the close then waits for those reports like any other, within its timeout. The flush runs as on a
	 * polling thread, so that it never waits: its sends go to the relay (Kafka's send may block for metadata),
	 * and a batch the free slots cannot hold is refused. A transactional producer's buffer is not flushed: its
	 * transaction could wait for the broker past the close's timeout. What is not sent the close drops, with
	 * {@code buffer.purged}; a close with timeout 0, which purges at once, drops it unsent. A disconnected
	 * producer connects first: the relay's reconnect would come after the close began, which refuses it. That
	 * connect comes before the close's timeout starts; a polling thread, which must not block for it, closes
	 * such a producer on a thread of its own (see {@link #startClose}).
	 */
	private void flushBeforeClose(Duration timeout) {
		if (!hasBufferToFlushBeforeClose(timeout)) {
			return;
		}
		try {
			if (this.state == State.DISCONNECTED && !PollingThreads.isCurrent()) {
				connect();
			}
			PollingThreads.runAsPollingThread(this::flushAsync);
		}
		catch (Exception ex) { // a checked one sneaked out of a client factory too; the close goes on, drops the rest
			logger.debug("Producer '{}' could not flush its buffer before closing", id(), ex);
		}
	}

	/**
	 * Moves to the first closing state, once. The closing thread is chosen under the lock, so that a
	 * concurrent first connect cannot make a callback's close run its blocking releases on the polling
	 * thread.
	 * @return whether the close was left to another thread because the caller is a polling thread
	 */
	private boolean startClose(Duration timeout, boolean force) {
		boolean onPollingThread = PollingThreads.isCurrent(); // any producer's: a wait would stall all it serves
		if (this.closeStart.isHeldByCurrentThread()) {
			return true; // in this thread's own flush before closing (a serializer, a listener): that close goes on
		}
		if (onPollingThread && !force && this.state == State.DISCONNECTED && hasBufferToFlushBeforeClose(timeout)
				&& (!this.closeHandedOff.compareAndSet(false, true) || startAsyncClose(timeout))) {
			return true; // that close connects to send the buffer; until it begins, the producer takes messages
		}
		// A graceful closer flushes the buffer and moves on in turn: another's DRAINING would refuse that flush's
		// sends, and the buffer they came from is closed by then, so they would be dropped. A forced close does
		// not wait for that flush (which it drops). A thread that must not wait (a polling thread, or one holding
		// the lifecycle lock: a listener of a connect or disconnect, which the flush may wait for) leaves the
		// close to the closer in turn, which always begins it; one that may wait does so within its timeout.
		long start = System.nanoTime();
		CloseTurn turn = force ? CloseTurn.SKIPPED : takeCloseStart(onPollingThread, timeout);
		if (turn == CloseTurn.LEFT_TO_HOLDER) {
			return true;
		}
		boolean inTurn = turn == CloseTurn.TAKEN;
		BegunClose begun;
		Error flushFailure = null;
		try {
			if (inTurn) {
				try {
					flushBeforeClose(timeout);
				}
				catch (Error ex) { // the close goes on all the same; the error after it began
					flushFailure = ex;
				}
			}
			begun = beginClose(remaining(timeout, start), force, onPollingThread); // the wait for the turn counts
		}
		finally {
			if (inTurn) {
				this.closeStart.unlock();
			}
		}
		if (begun != null) {
			dropBuffered(begun.unflushed(), force ? "at a forced close" : "that the close could not flush");
			if (!onPollingThread || begun.from() == State.CONFIGURED) { // never connected: nothing to wait for
				begun.close().run();
			}
			else if (startCloseThread(begun.close(), false)) {
				this.closeToStart.compareAndSet(begun.close(), null);
			}
		}
		if (flushFailure != null) {
			throw flushFailure;
		}
		return onPollingThread;
	}

	private boolean hasBufferToFlushBeforeClose(Duration timeout) {
		State current = this.state;
		return !current.closing() && current != State.POLLING_LOST && this.buffer.size() > 0
				&& !this.transactions.enabled() && !timeout.isZero();
	}

	/** Starts the whole close on a thread of its own, if one can be started. */
	private boolean startAsyncClose(Duration timeout) {
		try {
			startThread("waterdrop.close-" + id(), asyncClose(timeout));
			return true;
		}
		catch (OutOfMemoryError ex) { // the close begins here: the buffer is dropped
			this.closeHandedOff.set(false);
			logger.warn("Producer '{}' could not start a thread to connect and send its buffer before closing", id(),
					ex);
			return false;
		}
	}

	/** Takes the turn to flush before closing: waits for it, within the close's timeout, where the thread may. */
	private CloseTurn takeCloseStart(boolean onPollingThread, Duration timeout) {
		if (onPollingThread || this.lifecycleLock.isHeldByCurrentThread()) {
			return this.closeStart.tryLock() ? CloseTurn.TAKEN : CloseTurn.LEFT_TO_HOLDER;
		}
		if (this.closeStart.tryLock()) { // free: taken also on an interrupted thread, whose flush does not wait
			return CloseTurn.TAKEN;
		}
		try {
			// Not longer: its timeout spent, a close goes on (purging, as it would then anyway).
			return this.closeStart.tryLock(Timeouts.nanos(timeout), TimeUnit.NANOSECONDS) ? CloseTurn.TAKEN
					: CloseTurn.SKIPPED;
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt(); // an interrupted close purges: it does not wait for another's flush
			return CloseTurn.SKIPPED;
		}
	}

	/** How a close's caller stands to the turn to flush before closing. */
	private enum CloseTurn {

		/** It holds the turn: it flushes, then begins the close. */
		TAKEN,

		/** It begins the close without flushing: forced, or its timeout spent waiting for the turn. */
		SKIPPED,

		/** It must not wait, and another closer holds the turn: that one begins the close. */
		LEFT_TO_HOLDER

	}

	/**
	 * The state change of {@link #startClose}, under the lifecycle lock.
	 * @return the close to run, or {@code null} if the producer is closing already
	 */
	private BegunClose beginClose(Duration timeout, boolean force, boolean onPollingThread) {
		this.lifecycleLock.lock();
		try {
			State from = this.state;
			if (from.closing()) {
				return null;
			}
			this.state = (from == State.CONNECTED) ? State.DRAINING
					: (from == State.POLLING_LOST || from == State.DISCONNECTED) ? State.RELEASING : State.CLOSED;
			List<Message> unflushed = this.buffer.close();
			AtomicBoolean begun = new AtomicBoolean(); // a pending close may run on its thread and in a close()
			CompletableFuture<Void> buildUnderWay = (this.clientBuilder != Thread.currentThread()) ? this.clientBuild
					: null;
			Runnable close = () -> {
				if (begun.compareAndSet(false, true)) {
					shutdown(from, timeout, force, buildUnderWay);
				}
			};
			if (onPollingThread && from != State.CONFIGURED) {
				// Pending until its thread runs it: published with the state, so that a close() which finds the
				// producer closing finds this too and runs it if no thread can be started for it.
				this.closeToStart.set(close);
			}
			return new BegunClose(from, close, unflushed);
		}
		finally {
			this.lifecycleLock.unlock();
		}
	}

	/** A close just begun: the state it left, the close to run, and what the buffer held that was not flushed. */
	private record BegunClose(State from, Runnable close, List<Message> unflushed) {
	}

	private boolean startCloseThread(Runnable close, boolean again) {
		try {
			startThread("waterdrop.close-" + id(), close);
			return true;
		}
		catch (OutOfMemoryError ex) {
			if (again) {
				logger.debug("Producer '{}' still cannot start a thread to close it", id(), ex);
			}
			else {
				logger.error("Producer '{}' could not start a thread to close it (the JVM out of native threads?); "
						+ "its polling thread, if it has one, tries again, as does a close() elsewhere", id(), ex);
			}
			return false;
		}
	}

	/** On the producer's polling thread, in its periodic work: starts a close whose thread could not start. */
	void retryCloseStart() {
		Runnable close = this.closeToStart.get();
		if (close != null && startCloseThread(close, true)) {
			this.closeToStart.compareAndSet(close, null);
		}
	}

	private static void startThread(String name, Runnable task) {
		Thread thread = threads.newThread(task);
		thread.setName(name);
		thread.setDaemon(true);
		thread.start();
	}

	/**
	 * Runs the close from the state it left. Interrupts do not stop it: the releases must happen (a cancelled
	 * task's try-with-resources would otherwise leak the client, its thread and the pipe); an interrupt ends
	 * the graceful wait early (as a forced close) and is restored at the end. A graceful close drains, then
	 * waits in what is left of its timeout for {@code buildUnderWay} (a connect, purge or rebuild building a
	 * client, which it closes on seeing the close; the drain does not need it).
	 */
	private void shutdown(State from, Duration timeout, boolean force, CompletableFuture<Void> buildUnderWay) {
		this.closingThread = Thread.currentThread();
		boolean interrupted = Thread.interrupted();
		boolean holdsResources = from == State.CONNECTED || from == State.POLLING_LOST || from == State.DISCONNECTED;
		try {
			this.monitor.publish(new ProducerEvent.Closing(id()));
			long start = System.nanoTime();
			if (from == State.CONNECTED) {
				interrupted |= drain(timeout, force || interrupted);
			}
			if (buildUnderWay != null && !force && !interrupted && !PollingThreads.isCurrent()) {
				// It closes the client it built once it sees the close: no client of this producer outlives a
				// graceful close (a connect's transactional one would hold its transactional.id), within the timeout.
				Duration left = timeout.minusNanos(System.nanoTime() - start);
				Waited waited = await(CompletableFuture.anyOf(buildUnderWay, this.forced), left);
				interrupted |= waited == Waited.INTERRUPTED;
			}
			if (holdsResources) {
				this.state = State.RELEASING;
				Duration left = (force || interrupted) ? Duration.ZERO : timeout.minusNanos(System.nanoTime() - start);
				interrupted |= release(left.isNegative() ? Duration.ZERO : left);
			}
			this.state = State.CLOSED;
			this.monitor.publish(new ProducerEvent.Closed(id()));
			this.closed.complete(null);
		}
		catch (Throwable ex) {
			if (holdsResources && this.state != State.RELEASING) {
				try { // the drain failed: the client, pipe and polling registration must go all the same
					release(this.config.maxWaitTimeout());
				}
				catch (Throwable again) {
					ex.addSuppressed(again);
				}
			}
			this.state = State.CLOSED;
			this.monitor.publish(new ProducerEvent.ErrorOccurred(id(), ErrorType.PRODUCER_CLOSE, ex, null, null));
			this.monitor.publish(new ProducerEvent.Closed(id())); // its listeners let go of it (meters, health)
			this.closed.completeExceptionally(ex);
		}
		finally {
			this.closingThread = null;
			if (interrupted) {
				Thread.currentThread().interrupt();
			}
		}
	}

	/**
	 * DRAINING, then PURGING if the reports did not all come within {@code timeout}.
	 * @return whether the thread was interrupted meanwhile
	 */
	private boolean drain(Duration timeout, boolean force) {
		// Read after the state became DRAINING (a sender takes its slot, then reads the state).
		if (this.slots.availablePermits() == this.config.maxInFlight()) {
			this.drained.complete(null);
		}
		boolean interrupted = false;
		if (!force && !this.drained.isDone()) {
			// Kafka sends what lingers now, as its own close does: the close neither waits out linger.ms nor purges
			// what a healthy broker would take.
			this.flushes.request();
			Waited waited = await(CompletableFuture.anyOf(this.drained, this.forced), timeout);
			interrupted = waited == Waited.INTERRUPTED;
		}
		if (this.drained.isDone()) {
			return interrupted;
		}
		if (!force && !this.forced.isDone() && !interrupted) {
			logger.warn("Producer '{}' still had {} message(s) in flight after {}; purging them", id(), inFlight(),
					timeout);
		}
		// Kafka fails every unfinished batch at once; their reports are dispatched as purged.
		this.state = State.PURGING;
		this.purgeUnderWay = true;
		interrupted |= closeClient(this.client, Duration.ZERO);
		interrupted |= awaitThroughInterrupts(this.drained);
		if (!this.drained.isDone()) {
			logger.error("Producer '{}': {} report(s) were not dispatched within {}", id(), inFlight(),
					this.config.maxWaitTimeout());
		}
		return interrupted;
	}

	/**
	 * RELEASING: closes the client, stops the relay and detaches from polling, whatever happens on the way.
	 * The client goes first: after a drain that failed part-way it may still hold messages, and its close
	 * completes them; then the relay's last sends fail on the closed client (or find none) as purged. Their
	 * reports must find the polling thread still attached: the detach dispatches what is queued before it
	 * lets go.
	 * <p>
	 * Messages still in flight here had no drain to wait for them: the polling thread died (before the close,
	 * or during its drain). Kafka then sends them within {@code left}, what is left of the close's timeout
	 * (at most {@code maxWaitTimeout}), and fails the rest as closed forcefully; with nothing left (a forced
	 * close) it drops them at once, as a purge does, and they are reported purged.
	 * @return whether the thread was interrupted meanwhile
	 */
	private boolean release(Duration left) {
		boolean interrupted = false;
		try {
			// Within the close's timeout even with nothing in flight: Kafka's close also waits for its own requests
			// (metadata, an open transaction's abort), which a broker that does not answer never ends. A
			// closeForcefully() meanwhile closes the client at once beside it, ending its wait. (A release after a
			// failed drain gives Kafka max-wait-timeout: its close at once may be what failed.)
			Duration clientTimeout = this.config.maxWaitTimeout();
			if (left.compareTo(clientTimeout) < 0) {
				clientTimeout = this.forced.isDone() ? Duration.ZERO : left;
			}
			// Purged only so: a graceful close may fail a record with a KafkaException of its own.
			if (clientTimeout.isZero() && inFlight() > 0) {
				this.purgeUnderWay = true;
			}
			interrupted = closeClient(this.client, clientTimeout);
		}
		finally {
			try {
				interrupted |= stopRelay();
			}
			finally {
				CompletableFuture<Void> detached;
				boolean releasedBefore;
				this.lifecycleLock.lock();
				try {
					// Marked released in one step with the detach: a relay still reconnecting past stopRelay's wait
					// that refuses its send either queued the report before the detach (which dispatches it) or finds
					// the registration released and dispatches the report itself (refuseRelayed).
					detached = this.session.detach();
					releasedBefore = this.pollingReleased != null;
					if (!releasedBefore) {
						this.pollingReleased = detached;
					}
				}
				finally {
					this.lifecycleLock.unlock();
				}
				interrupted |= awaitThroughInterrupts(detached);
				// After a disconnect's detach, a send the relay refused since was queued with nobody to dispatch it.
				if (detached.isCompletedExceptionally() || (releasedBefore && detached.isDone())) {
					dispatchOrphaned();
				}
			}
		}
		return interrupted;
	}

	/**
	 * Shuts the relay down for good and waits (up to {@code maxWaitTimeout}, interrupts notwithstanding) for
	 * the sends it still holds: their reports must be queued before the detach.
	 * @return whether the thread was interrupted meanwhile
	 */
	private boolean stopRelay() {
		ThreadPoolExecutor current;
		this.lifecycleLock.lock();
		try {
			this.relayStopped = true;
			current = this.relay;
		}
		finally {
			this.lifecycleLock.unlock();
		}
		if (current == null) {
			return false;
		}
		current.shutdown();
		boolean interrupted = false;
		long timeout = Timeouts.nanos(this.config.maxWaitTimeout());
		long start = System.nanoTime();
		while (true) {
			try {
				if (!current.awaitTermination(Math.max(0, timeout - (System.nanoTime() - start)),
						TimeUnit.NANOSECONDS)) {
					logger.error("Producer '{}': its relay still sends after {}", id(), this.config.maxWaitTimeout());
				}
				return interrupted;
			}
			catch (InterruptedException ex) {
				interrupted = true;
			}
		}
	}

	/**
	 * The polling thread died (a {@link VirtualMachineError}): what Kafka reported since, its client closed now,
	 * is dispatched on this closing thread instead, so that every message still gets its one outcome and its
	 * waiters wake.
	 */
	private void dispatchOrphaned() {
		dispatchLeft(this.dispatcher);
	}

	/**
	 * Dispatches what is left in a queue whose polling thread is gone, on this thread; one such thread at a
	 * time (a close and a relay past their waits may both come), as a queue has one consumer.
	 */
	private void dispatchLeft(ReportDispatcher orphaned) {
		this.orphanDispatch.lock();
		try {
			// As a polling thread: a callback's close then returns at once instead of waiting for this very close.
			PollingThreads.runAsPollingThread(() -> orphaned
				.drain(DrainSlice.untilDeadline().begin(System.nanoTime(), Long.MAX_VALUE, Long.MAX_VALUE)));
		}
		finally {
			this.orphanDispatch.unlock();
		}
	}

	/**
	 * Closes a Kafka client with the interrupt flag cleared, and returns only once its network thread ended, so
	 * that every record it held has had its callback: Kafka's close gives up joining that thread when
	 * interrupted (InterruptException, flag set again) while the thread still fails the unsent records; what
	 * comes after a close here (a purge's end, dispatching the orphaned reports of a dead polling thread) must
	 * not come before them. So an interrupted close is repeated, forced, with the flag cleared (Kafka then
	 * closes its serializers, interceptors and metrics a second time, which they take).
	 * @return whether the thread was interrupted (the flag is left cleared for the caller to restore)
	 */
	private boolean closeClient(org.apache.kafka.clients.producer.Producer<byte[], byte[]> target,
			Duration timeout) {
		boolean interrupted = Thread.interrupted();
		if (target == null) {
			return interrupted; // disconnected: nothing to close
		}
		Duration wait = timeout;
		while (true) {
			try {
				target.close(wait);
				break;
			}
			catch (InterruptException ex) {
				interrupted = true;
				Thread.interrupted();
				wait = Duration.ZERO; // Kafka forced the close already, giving up the graceful wait
			}
			catch (RuntimeException ex) {
				logger.warn("Producer '{}': closing its Kafka client failed", id(), ex);
				break;
			}
		}
		return interrupted | Thread.interrupted();
	}

	private enum Waited {

		DONE, TIMED_OUT, INTERRUPTED

	}

	/**
	 * Waits up to {@code maxWaitTimeout} for the last reports' dispatch (a purge's, a detach's), going on through
	 * interrupts: an interrupted close purges instead of waiting for Kafka, but still returns only once every
	 * message has its outcome.
	 * @return whether the thread was interrupted meanwhile (the flag is left cleared for the caller to restore)
	 */
	private boolean awaitThroughInterrupts(CompletableFuture<?> future) {
		long timeout = Timeouts.nanos(this.config.maxWaitTimeout());
		long start = System.nanoTime();
		boolean interrupted = false;
		while (await(future, Duration.ofNanos(Math.max(0, timeout - (System.nanoTime() - start))))
				== Waited.INTERRUPTED) {
			interrupted = true;
		}
		return interrupted;
	}

	/** Waits for {@code future}; an interrupt ends the wait and is reported, with the flag cleared. */
	private Waited await(CompletableFuture<?> future, Duration timeout) {
		try {
			future.get(Timeouts.nanos(timeout), TimeUnit.NANOSECONDS);
			return Waited.DONE;
		}
		catch (TimeoutException ex) {
			return Waited.TIMED_OUT;
		}
		catch (ExecutionException ex) {
			logger.warn("Producer '{}': polling ended with an error while closing", id(), ex.getCause());
			return Waited.DONE;
		}
		catch (InterruptedException ex) {
			return Waited.INTERRUPTED;
		}
	}

	@Override
	public String toString() {
		return "Producer '" + id() + "' (" + this.state.status + ", " + this.config.pollingMode() + ")";
	}

}
