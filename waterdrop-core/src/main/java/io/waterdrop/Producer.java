package io.waterdrop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TransactionAbortedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.waterdrop.instrumentation.ErrorType;
import io.waterdrop.instrumentation.Monitor;
import io.waterdrop.instrumentation.ProducerEvent;
import io.waterdrop.instrumentation.ProducerEvent.Mode;
import io.waterdrop.polling.DispatchThread;
import io.waterdrop.polling.PollingMode;
import io.waterdrop.polling.PollingSession;
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
 * {@link IllegalCallerException} there, and {@link #close()} there starts the close and returns at once.
 * <p>
 * Life cycle: {@code CONFIGURED → CONNECTED → CLOSING → CLOSED}. The Kafka client is created by
 * {@link #connect()} or by the first message. {@link #close()} refuses new messages, waits until every
 * in-flight message has its report dispatched, then releases the client and its polling resources.
 */
public final class Producer implements AutoCloseable {

	private static final Logger logger = LoggerFactory.getLogger(Producer.class);

	private final ProducerConfig config;

	private final Monitor monitor;

	private final ProducerStats stats = new ProducerStats();

	private final MessageEncoder encoder;

	/** Serializes connect and the start of close. Never held while waiting for Kafka. */
	private final ReentrantLock lifecycleLock = new ReentrantLock();

	/** Messages accepted and not yet dispatched. */
	private final AtomicLong inFlight = new AtomicLong();

	/**
	 * One permit per message that may be in flight: back-pressure that wakes a waiting producer the moment a
	 * report is dispatched, instead of polling with a back-off.
	 */
	private final Semaphore slots;

	/** Completes when a closing producer has nothing in flight. */
	private final CompletableFuture<Void> drained = new CompletableFuture<>();

	private final AtomicBoolean closeStarted = new AtomicBoolean();

	private final CompletableFuture<Void> closed = new CompletableFuture<>();

	/** Completed by {@link #closeForcefully()}: a graceful close still waiting for reports purges them now. */
	private final CompletableFuture<Void> forced = new CompletableFuture<>();

	private volatile ProducerStatus status = ProducerStatus.CONFIGURED;

	/** Set before a forced close so that the errors it causes are reported as purges. */
	private volatile boolean purging;

	private final Middleware middleware = new Middleware();

	private final MessageBuffer buffer = new MessageBuffer();

	private final Transactions transactions;

	/** Replaced by a reload after a fatal transactional error, under the transaction lock. */
	private volatile org.apache.kafka.clients.producer.Producer<byte[], byte[]> client;

	// Written before status becomes CONNECTED, read after seeing it: the volatile write publishes them.

	private ReportQueue<Completion> queue;

	private PollingSession session;

	public Producer(ProducerConfig config) {
		this.config = config;
		this.monitor = new Monitor(config.id());
		this.slots = new Semaphore(config.maxInFlight());
		this.transactions = new Transactions(this);
		this.encoder = new MessageEncoder(config, (topic) -> this.client.partitionsFor(topic).size());
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

	public ProducerStats stats() {
		return this.stats;
	}

	public ProducerStatus status() {
		return this.status;
	}

	/** Messages accepted whose report has not been dispatched yet. */
	public long inFlight() {
		return this.inFlight.get();
	}

	/** Reports received from Kafka and waiting for the polling thread. */
	public int queueSize() {
		ReportQueue<Completion> current = this.queue;
		return (current != null) ? current.size() : 0;
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

	/** Swaps in a rebuilt client; only {@link Transactions} does this, holding the transaction lock. */
	void replaceClient(org.apache.kafka.clients.producer.Producer<byte[], byte[]> replacement) {
		this.client = replacement;
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
	 * transaction and is rethrown; {@link AbortTransaction} aborts quietly and makes this return
	 * {@code null}. Transactions on one producer run one after another (callers wait their turn), and a
	 * transaction inside a transaction on the same thread joins the outer one.
	 * @throws TransactionFailedException if the commit failed (the transaction was aborted)
	 * @throws IllegalStateException if the producer is not transactional
	 * @throws IllegalCallerException if called on the thread that dispatches this producer's reports
	 */
	public <T> T transaction(TransactionBlock<T> block) {
		connect();
		return this.transactions.run(block);
	}

	/**
	 * On a transactional producer, a message produced outside a transaction gets one of its own (so
	 * {@code produceAsync} returns only after the commit); inside one, it joins it.
	 */
	private <T> T inTransactionIfNeeded(java.util.function.Supplier<T> work) {
		if (!this.transactions.enabled() || this.transactions.isOpenOnThisThread()) {
			return work.get();
		}
		return transaction((transaction) -> work.get());
	}

	/** Validates a message (after middleware) and keeps it until the next flush. */
	public void buffer(Message message) {
		Message transformed = this.middleware.apply(message);
		this.encoder.encode(transformed);
		this.buffer.add(List.of(transformed));
		this.monitor.publish(new ProducerEvent.MessageBuffered(id(), transformed));
	}

	/** Validates messages (after middleware) and keeps them until the next flush; one invalid refuses all. */
	public void bufferMany(List<Message> messages) {
		if (messages == null) {
			throw new InvalidMessageException(InvalidMessageException.Violation.MESSAGE_MISSING, null,
					"Message list is null");
		}
		List<Message> transformed = transform(messages);
		for (Message message : transformed) {
			this.encoder.encode(message);
		}
		this.buffer.add(transformed);
		this.monitor.publish(new ProducerEvent.MessagesBuffered(id(), List.copyOf(transformed)));
	}

	/** Messages buffered and not yet flushed. */
	public int bufferSize() {
		return this.buffer.size();
	}

	/**
	 * Sends everything buffered and waits for the reports (in one transaction on a transactional producer).
	 * Messages not delivered go back into the buffer, ahead of anything buffered meanwhile (on a transactional
	 * producer all of them, as the transaction is rolled back).
	 * @throws DeliveryFailedException for the first undelivered message (others suppressed in it)
	 */
	public List<DeliveryReport> flushSync() {
		List<Message> taken = this.buffer.takeAll();
		if (taken.isEmpty()) {
			return List.of();
		}
		List<DeliveryHandle> sent = new ArrayList<>();
		try {
			List<DeliveryReport> reports = inTransactionIfNeeded(
					() -> awaitAll(sendManyUnchanged(taken, Mode.SYNC, sent)));
			this.monitor.publish(new ProducerEvent.BufferFlushed(id(), Mode.SYNC, taken));
			return reports;
		}
		catch (RuntimeException ex) {
			this.buffer.restore(undelivered(taken, sent));
			reportRefusal(ErrorType.BUFFER_FLUSH_SYNC, ex, null);
			throw ex;
		}
	}

	/**
	 * What a failed flush puts back: everything in a transaction (a failed send dooms the commit, so the
	 * acknowledged messages are rolled back too); otherwise the messages that failed and those never sent,
	 * in their order. A message still in flight is not put back: its report will come, and resending it
	 * could duplicate it.
	 */
	private List<Message> undelivered(List<Message> taken, List<DeliveryHandle> sent) {
		if (this.transactions.enabled()) {
			return taken;
		}
		List<Message> undelivered = new ArrayList<>();
		for (DeliveryHandle handle : sent) {
			if (handle.failed()) {
				undelivered.add(handle.message());
			}
		}
		undelivered.addAll(taken.subList(sent.size(), taken.size()));
		return undelivered;
	}

	/**
	 * Sends everything buffered and returns the handles at once; the buffer is empty afterwards unless the
	 * producer refused the batch, in which case it keeps the messages.
	 */
	public List<DeliveryHandle> flushAsync() {
		List<Message> taken = this.buffer.takeAll();
		if (taken.isEmpty()) {
			return List.of();
		}
		List<DeliveryHandle> sent = new ArrayList<>();
		try {
			List<DeliveryHandle> handles = inTransactionIfNeeded(() -> sendManyUnchanged(taken, Mode.ASYNC, sent));
			this.monitor.publish(new ProducerEvent.BufferFlushed(id(), Mode.ASYNC, taken));
			return handles;
		}
		catch (RuntimeException ex) {
			this.buffer.restore(undelivered(taken, sent));
			reportRefusal(ErrorType.BUFFER_FLUSH_ASYNC, ex, null);
			throw ex;
		}
	}

	/** Creates the Kafka client and starts dispatching; does nothing if connected already. */
	public void connect() {
		if (this.status == ProducerStatus.CONNECTED) {
			return;
		}
		this.lifecycleLock.lock();
		try {
			if (this.status == ProducerStatus.CONFIGURED) {
				start();
			}
			else if (this.status != ProducerStatus.CONNECTED) {
				throw new ProducerClosedException(id(), this.status);
			}
		}
		finally {
			this.lifecycleLock.unlock();
		}
	}

	private void start() {
		this.client = this.transactions.newClient();
		ReportDispatcher dispatcher;
		if (this.config.pollingMode() == PollingMode.FD) {
			WakeupPipe pipe = WakeupPipe.open();
			this.queue = new ReportQueue<>(pipe);
			dispatcher = new ReportDispatcher(this, this.queue);
			this.session = this.config.poller().register(dispatcher, pipe);
		}
		else {
			DispatchThread thread = new DispatchThread(id(), this.config.pollTimeout());
			this.queue = new ReportQueue<>(thread);
			dispatcher = new ReportDispatcher(this, this.queue);
			thread.start(dispatcher);
			this.session = thread;
		}
		this.status = ProducerStatus.CONNECTED;
		this.monitor.publish(new ProducerEvent.Connected(id()));
	}

	/**
	 * Sends a message and waits (up to {@code maxWaitTimeout}) until its delivery report is dispatched.
	 * @throws InvalidMessageException if the message is invalid (nothing was sent)
	 * @throws ProducerClosedException if the producer is closing or closed (nothing was sent)
	 * @throws DeliveryFailedException if the broker did not take it
	 * @throws DeliveryTimeoutException if no report came in time
	 * @throws IllegalCallerException if called on the thread that dispatches this producer's reports
	 */
	public DeliveryReport produceSync(Message message) {
		try {
			return inTransactionIfNeeded(() -> send(message, Mode.SYNC, null).await());
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
	 */
	public DeliveryHandle produceAsync(Message message, DeliveryCallback callback) {
		try {
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
	 */
	public List<DeliveryReport> produceManySync(List<Message> messages) {
		try {
			return inTransactionIfNeeded(() -> awaitAll(sendMany(messages, Mode.SYNC)));
		}
		catch (RuntimeException ex) {
			reportRefusal(ErrorType.MESSAGES_PRODUCE_MANY_SYNC, ex, null);
			throw ex;
		}
	}

	/** Sends messages, all validated first, and returns their handles in order. */
	public List<DeliveryHandle> produceManyAsync(List<Message> messages) {
		try {
			return inTransactionIfNeeded(() -> sendMany(messages, Mode.ASYNC));
		}
		catch (RuntimeException ex) {
			reportRefusal(ErrorType.MESSAGES_PRODUCE_MANY_ASYNC, ex, null);
			throw ex;
		}
	}

	/** Waits for every handle; the first failure is thrown with the others suppressed in it. */
	private List<DeliveryReport> awaitAll(List<DeliveryHandle> handles) {
		List<DeliveryReport> reports = new ArrayList<>(handles.size());
		DeliveryFailedException firstFailure = null;
		for (DeliveryHandle handle : handles) {
			try {
				reports.add(handle.await());
			}
			catch (DeliveryFailedException ex) {
				if (firstFailure == null) {
					firstFailure = ex;
				}
				else {
					firstFailure.addSuppressed(ex);
				}
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
		connect();
		checkMayWait(mode);
		record = this.encoder.resolvePartition(message, record);
		acquireSlots(1);
		DeliveryHandle handle = dispatch(message, record, callback);
		(mode == Mode.SYNC ? this.stats.producedSync : this.stats.producedAsync).increment();
		this.monitor.publish(new ProducerEvent.MessageProduced(id(), mode, message));
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
		return sendManyUnchanged(transform(messages), mode, new ArrayList<>());
	}

	/**
	 * Sends messages that went through the middleware already, adding each handle to {@code sent} as it goes,
	 * so that a caller can tell what was sent if a later message is refused. Room for the whole batch is
	 * reserved first: a full producer refuses the batch before any of it is sent.
	 */
	private List<DeliveryHandle> sendManyUnchanged(List<Message> messages, Mode mode, List<DeliveryHandle> sent) {
		List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(messages.size());
		for (Message message : messages) {
			records.add(this.encoder.encode(message));
		}
		connect();
		checkMayWait(mode);
		for (int i = 0; i < records.size(); i++) {
			records.set(i, this.encoder.resolvePartition(messages.get(i), records.get(i)));
		}
		acquireSlots(records.size());
		for (int i = 0; i < records.size(); i++) {
			try {
				sent.add(dispatch(messages.get(i), records.get(i), null));
			}
			catch (RuntimeException ex) {
				this.slots.release(records.size() - i - 1); // the failed one released its own
				throw ex;
			}
		}
		(mode == Mode.SYNC ? this.stats.producedSync : this.stats.producedAsync).add(sent.size());
		this.monitor.publish(new ProducerEvent.MessagesProduced(id(), mode, List.copyOf(messages)));
		return List.copyOf(sent);
	}

	/**
	 * Hands one valid record, whose slot is acquired, to Kafka; its callback only enqueues the completion.
	 */
	private DeliveryHandle dispatch(Message message, ProducerRecord<byte[], byte[]> record,
			DeliveryCallback callback) {
		this.inFlight.incrementAndGet();
		// Checked after counting: a close that began earlier is seen here, a later one waits for this message.
		if (this.status != ProducerStatus.CONNECTED) {
			dispatched();
			throw new ProducerClosedException(id(), this.status);
		}
		DeliveryHandle handle = new DeliveryHandle(this, message, callback);
		ReportQueue<Completion> reports = this.queue;
		try {
			this.client.send(record, (metadata, error) -> reports.offer(new Completion(handle, metadata, error,
					error != null && (this.purging || error instanceof TransactionAbortedException))));
		}
		catch (RuntimeException ex) {
			// Not an ApiException (those reach the callback): the client refused it, no callback follows.
			dispatched();
			if (this.status != ProducerStatus.CONNECTED) {
				throw new ProducerClosedException(id(), this.status);
			}
			throw new DeliveryFailedException("Kafka client of producer '" + id() + "' refused the message to '"
					+ record.topic() + "': " + ex, message, ex);
		}
		return handle;
	}

	/**
	 * Waits for room under {@code maxInFlight}. Never waits on the polling thread: only it frees slots.
	 */
	private void acquireSlots(int count) {
		if (count > this.config.maxInFlight()) {
			throw new QueueFullException(id(), count, this.config.maxInFlight());
		}
		if (this.slots.tryAcquire(count)) {
			return;
		}
		Duration timeout = this.config.waitTimeoutOnQueueFull();
		if (!this.config.waitOnQueueFull() || this.session.isPollingThread()) {
			throw new QueueFullException(id(), this.config.maxInFlight(), Duration.ZERO);
		}
		try {
			if (!this.slots.tryAcquire(count, timeout.toNanos(), TimeUnit.NANOSECONDS)) {
				throw new QueueFullException(id(), this.config.maxInFlight(), timeout);
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new WaterDropException("Interrupted while waiting for room in producer '" + id() + "'", ex);
		}
	}

	/** One in-flight message reached its end. Called on the polling thread, or on refusal. */
	void dispatched() {
		long left = this.inFlight.decrementAndGet();
		// Counted out first: a sender woken by the slot must not find inFlight above maxInFlight.
		this.slots.release();
		if (left == 0 && this.status == ProducerStatus.CLOSING) {
			this.drained.complete(null);
		}
	}

	private void reportRefusal(ErrorType type, RuntimeException error, Message message) {
		this.monitor.publish(new ProducerEvent.ErrorOccurred(id(), type, error, message,
				(message != null) ? message.label() : null));
	}

	/** Checked once connected, so that a producer first connected from a callback is covered too. */
	private void checkMayWait(Mode mode) {
		if (mode == Mode.SYNC) {
			checkMayWait("produce synchronously");
		}
	}

	/** Throws if the calling thread dispatches this producer's reports: waiting there would never end. */
	void checkMayWait(String action) {
		PollingSession current = this.session;
		if (current != null && current.isPollingThread()) {
			throw new IllegalCallerException("Cannot " + action + " on thread '" + Thread.currentThread().getName()
					+ "': it dispatches the delivery reports of producer '" + id()
					+ "', so it would wait forever. Use produceAsync with a DeliveryCallback here, "
					+ "or move the producer to another Poller.");
		}
	}

	/** The polling thread died: nothing will be dispatched any more, so release every waiter. */
	void pollingTerminated(Throwable cause) {
		logger.error("Producer '{}' lost its polling thread; {} report(s) will not be dispatched", id(),
				this.inFlight.get(), cause);
		this.drained.complete(null);
	}

	/** Closes, waiting up to {@code maxWaitTimeout} for in-flight messages before purging the rest. */
	@Override
	public void close() {
		close(this.config.maxWaitTimeout());
	}

	/**
	 * Closes: refuses new messages, waits up to {@code timeout} for every in-flight message's report to be
	 * dispatched, purges what is still undelivered then (each reported as {@code message.purged}), and
	 * releases the client and polling resources. Concurrent and repeated calls wait for the same close.
	 * Called on the polling thread (from a callback) it only starts the close and returns.
	 */
	public void close(Duration timeout) {
		CompletableFuture<Void> closing = closeAsync(timeout, false);
		if (this.session != null && this.session.isPollingThread()) {
			return;
		}
		awaitClosed(closing);
	}

	/**
	 * Closes at once: everything undelivered is purged and reported as {@code message.purged}. A graceful
	 * close already waiting for reports (on another thread) stops waiting and purges them too.
	 */
	public void closeForcefully() {
		this.forced.complete(null);
		CompletableFuture<Void> closing = closeAsync(Duration.ZERO, true);
		if (this.session != null && this.session.isPollingThread()) {
			return;
		}
		awaitClosed(closing);
	}

	/**
	 * Starts a close on a new thread and returns a future that completes once the producer is closed.
	 */
	public CompletableFuture<Void> closeAsync(Duration timeout) {
		if (!this.closeStarted.get()) {
			// On the caller's thread the close would wait for every in-flight report before returning.
			Thread closer = new Thread(() -> closeAsync(timeout, false), "waterdrop.close-" + id());
			closer.setDaemon(true);
			closer.start();
		}
		return this.closed;
	}

	private CompletableFuture<Void> closeAsync(Duration timeout, boolean force) {
		if (this.closeStarted.compareAndSet(false, true)) {
			boolean onPollingThread = this.session != null && this.session.isPollingThread();
			if (onPollingThread) {
				Thread closer = new Thread(() -> shutdown(timeout, force), "waterdrop.close-" + id());
				closer.setDaemon(true);
				closer.start();
			}
			else {
				shutdown(timeout, force);
			}
		}
		return this.closed;
	}

	private void awaitClosed(CompletableFuture<Void> closing) {
		try {
			closing.get();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new WaterDropException("Interrupted while closing producer '" + id() + "'", ex);
		}
		catch (ExecutionException ex) {
			throw new WaterDropException("Closing producer '" + id() + "' failed", ex.getCause());
		}
	}

	private void shutdown(Duration timeout, boolean force) {
		try {
			this.lifecycleLock.lock();
			boolean wasConnected;
			try {
				wasConnected = this.status == ProducerStatus.CONNECTED;
				this.status = ProducerStatus.CLOSING;
			}
			finally {
				this.lifecycleLock.unlock();
			}
			this.monitor.publish(new ProducerEvent.Closing(id()));
			if (wasConnected) {
				release(timeout, force);
			}
			this.status = ProducerStatus.CLOSED;
			this.monitor.publish(new ProducerEvent.Closed(id()));
			this.closed.complete(null);
		}
		catch (Throwable ex) {
			this.status = ProducerStatus.CLOSED;
			this.monitor.publish(new ProducerEvent.ErrorOccurred(id(), ErrorType.PRODUCER_CLOSE, ex, null, null));
			this.closed.completeExceptionally(ex);
		}
	}

	private void release(Duration timeout, boolean force) {
		if (this.inFlight.get() == 0) {
			this.drained.complete(null);
		}
		if (!force && !this.drained.isDone()) {
			flushInBackground();
		}
		if (force || !awaitDrainedUnlessForced(timeout)) {
			if (!force && !this.forced.isDone()) {
				logger.warn("Producer '{}' still had {} message(s) in flight after {}; purging them", id(),
						this.inFlight.get(), timeout);
			}
			// Kafka fails every unfinished batch at once; the callbacks enqueue them as purged.
			this.purging = true;
			this.client.close(Duration.ZERO);
			if (!awaitDrained(this.config.maxWaitTimeout())) {
				logger.error("Producer '{}': {} report(s) were not dispatched within {}", id(), this.inFlight.get(),
						this.config.maxWaitTimeout());
			}
		}
		awaitQuietly(this.session.detach(), this.config.maxWaitTimeout());
		this.client.close(this.config.maxWaitTimeout());
	}

	/**
	 * Makes Kafka send lingering batches now, as its own close does, so that a close neither waits out
	 * {@code linger.ms} nor purges messages a healthy broker would take. Kafka's flush has no timeout, so it
	 * runs on a thread of its own; it ends when every batch completed, at the latest when a purge aborts them.
	 */
	private void flushInBackground() {
		Thread flusher = new Thread(() -> {
			try {
				this.client.flush();
			}
			catch (RuntimeException ex) {
				logger.debug("Producer '{}': flush on close ended with an error", id(), ex);
			}
		}, "waterdrop.flush-" + id());
		flusher.setDaemon(true);
		flusher.start();
	}

	/** Waits like {@link #awaitDrained} but stops waiting when {@link #closeForcefully()} is called meanwhile. */
	private boolean awaitDrainedUnlessForced(Duration timeout) {
		awaitQuietly(CompletableFuture.anyOf(this.drained, this.forced), timeout);
		return this.drained.isDone();
	}

	private boolean awaitDrained(Duration timeout) {
		return awaitQuietly(this.drained, timeout);
	}

	private boolean awaitQuietly(CompletableFuture<?> future, Duration timeout) {
		try {
			future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
			return true;
		}
		catch (TimeoutException ex) {
			return false;
		}
		catch (ExecutionException ex) {
			logger.warn("Producer '{}': polling ended with an error while closing", id(), ex.getCause());
			return true;
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new WaterDropException("Interrupted while closing producer '" + id() + "'", ex);
		}
	}

	@Override
	public String toString() {
		return "Producer '" + id() + "' (" + this.status + ", " + this.config.pollingMode() + ")";
	}

}
