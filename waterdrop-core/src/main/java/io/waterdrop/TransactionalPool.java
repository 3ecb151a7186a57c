package io.waterdrop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntFunction;

import org.apache.kafka.clients.CommonClientConfigs;

/**
 * N transactional producers behind one facade, so that N transactions run at the same time: a transactional
 * producer runs one transaction at a time (Kafka allows one open transaction per {@code transactional.id}),
 * so concurrency needs one client, and one id, per concurrent transaction.
 * <p>
 * {@link #transaction} borrows a free member for the block and gives it back after the commit or abort. When
 * every member is busy, the caller waits — in arrival order, at most {@link #waitTimeout()}, then a
 * {@link PoolWaitTimeoutException} — and the wait is counted in {@link #stats()} (and the
 * {@code waterdrop.transactions.pool.*} meters). Inside a block, the thread keeps its member: a nested
 * {@code transaction(...)}, {@link #produceSync} or {@link #produceManySync} on the pool joins the open
 * transaction, and {@link Transaction#markAsConsumed} sends the offsets with it, as on one producer. A
 * block that joins an outer transaction (its members' {@link TransactionJoiner}'s, such as a Spring-managed
 * one) keeps its member until that transaction has committed or aborted (on whichever thread ends it, which
 * gives the member back then), and the thread's later calls join it until its commit or abort begins (then
 * they take a member afresh, and work still running in a block that joined it is refused);
 * while an inner scope suspends that transaction ({@link BoundTransaction#suspend()}, as Spring's
 * {@code REQUIRES_NEW} does), the thread's calls take another member, as {@code KafkaTemplate} takes another
 * producer.
 * <p>
 * Members are ordinary {@link Producer}s (their own Kafka client, network thread and metrics; in fd mode all
 * on the same Poller). {@link #of(ProducerConfig.Builder, int, Duration)} derives them from one configuration:
 * member {@code i} (0 to N-1) has the id {@code <id>-i} and the {@code transactional.id}
 * {@code <transactional.id>-i} (and {@code <client.id>-i} if a client id is set). The ids depend only on the
 * configuration and the index, so a restarted instance takes over — and fences — exactly the ids of its
 * predecessor. Two live instances must never share an id: give each instance its own base
 * {@code transactional.id} (with a pod or host name in it).
 * <p>
 * Threading: thread-safe. Never run a transaction on a polling thread (a delivery callback): it throws
 * {@link IllegalCallerException} there, as on a producer.
 * <p>
 * Not designed for extension: not final only so that Spring can proxy it (an {@code @Lazy} injection point,
 * a scoped proxy).
 */
public class TransactionalPool implements AutoCloseable {

	private final String name;

	private final List<Producer> members;

	/**
	 * Free members, handed out to waiting callers in arrival order; after the close also {@link #CLOSED}, which
	 * each waiter takes and puts back for the next. Room for every member and it.
	 */
	private final ArrayBlockingQueue<Object> free;

	/** Wakes the callers waiting for a member when the pool closes: no member may ever come. */
	private static final Object CLOSED = new Object();

	private final Duration waitTimeout;

	private final TransactionalPoolStats stats = new TransactionalPoolStats();

	/** The member the current thread holds while its block runs. */
	private final ThreadLocal<Held> held = new ThreadLocal<>();

	private final AtomicBoolean closed = new AtomicBoolean();

	/**
	 * A pool over the given producers.
	 * @param name the pool's name (for messages and meters)
	 * @param members transactional producers, each with its own {@code transactional.id}
	 * @param waitTimeout longest {@link #transaction} waits for a free member
	 * @throws InvalidConfigurationException if there are no members, one is not transactional, two share a
	 * {@code transactional.id}, or the wait timeout is not positive
	 */
	public TransactionalPool(String name, List<Producer> members, Duration waitTimeout) {
		if (members.isEmpty()) {
			throw new InvalidConfigurationException("pool-size", "a transactional pool needs at least one member",
					"Set pool-size to 1 or more.");
		}
		if (waitTimeout == null || waitTimeout.isZero() || waitTimeout.isNegative()) {
			throw new InvalidConfigurationException("pool-wait-timeout",
					"must be positive but was " + ((waitTimeout != null) ? waitTimeout : "not set"),
					"Set a positive duration such as 10s.");
		}
		Set<Object> ids = new HashSet<>();
		for (Producer member : members) {
			if (!member.transactional()) {
				throw new InvalidConfigurationException("kafka.transactional.id",
						"member '" + member.id() + "' of transactional pool '" + name + "' is not transactional",
						"Set kafka.transactional.id; each member's id is derived from it.");
			}
			Object transactionalId = member.config().kafka().get(TRANSACTIONAL_ID);
			if (!ids.add(transactionalId)) {
				throw new InvalidConfigurationException("kafka.transactional.id",
						"members of transactional pool '" + name + "' share the transactional.id '" + transactionalId
								+ "', so they would fence each other",
						"Give every member its own transactional.id, e.g. with TransactionalPool.of(...).");
			}
		}
		this.name = name;
		this.members = List.copyOf(members);
		this.free = new ArrayBlockingQueue<>(members.size() + 1, true, members);
		this.waitTimeout = waitTimeout;
	}

	private static final String TRANSACTIONAL_ID = org.apache.kafka.clients.producer.ProducerConfig.TRANSACTIONAL_ID_CONFIG;

	/**
	 * A pool of {@code size} producers derived from one configuration: member {@code i} gets the id
	 * {@code <id>-i}, the {@code transactional.id} {@code <transactional.id>-i}, and the client id
	 * {@code <client.id>-i} if one is set. The builder is used as a template and left as it was given.
	 * @throws InvalidConfigurationException if the configuration has no {@code transactional.id} or is invalid
	 */
	public static TransactionalPool of(ProducerConfig.Builder template, int size, Duration waitTimeout) {
		ProducerConfig base = template.build();
		Object transactionalId = base.kafka().get(TRANSACTIONAL_ID);
		if (transactionalId == null) {
			throw new InvalidConfigurationException("kafka.transactional.id",
					"a transactional pool needs a transactional.id, from which its members' ids are derived",
					"Set kafka.transactional.id, e.g. 'payments-' plus this instance's name.");
		}
		Object clientId = base.kafka().get(CommonClientConfigs.CLIENT_ID_CONFIG);
		return create(base.id(), size, waitTimeout, (index) -> {
			try {
				template.id(memberName(base.id(), index))
					.kafka(TRANSACTIONAL_ID, memberName(transactionalId.toString(), index));
				if (clientId != null) {
					template.kafka(CommonClientConfigs.CLIENT_ID_CONFIG, memberName(clientId.toString(), index));
				}
				return template.build();
			}
			finally {
				template.id(base.id()).kafka(TRANSACTIONAL_ID, transactionalId);
				if (clientId != null) {
					template.kafka(CommonClientConfigs.CLIENT_ID_CONFIG, clientId);
				}
			}
		});
	}

	/**
	 * A pool of {@code size} producers, member {@code i} built from {@code memberConfig.apply(i)}; every
	 * member needs a {@code transactional.id} of its own.
	 */
	public static TransactionalPool create(String name, int size, Duration waitTimeout,
			IntFunction<ProducerConfig> memberConfig) {
		if (size < 1) {
			throw new InvalidConfigurationException("pool-size", "must be at least 1 but was " + size,
					"Set pool-size to the number of transactions that may run at the same time.");
		}
		List<Producer> members = new ArrayList<>(size);
		for (int index = 0; index < size; index++) {
			members.add(new Producer(memberConfig.apply(index)));
		}
		try {
			return new TransactionalPool(name, members, waitTimeout);
		}
		catch (RuntimeException ex) {
			members.forEach((member) -> member.close(Duration.ZERO));
			throw ex;
		}
	}

	/** How member {@code index} of a pool is named after the pool's id (or transactional or client id). */
	public static String memberName(String base, int index) {
		return base + "-" + index;
	}

	/**
	 * Runs {@code block} in one transaction of a free member: waits for one (up to {@link #waitTimeout()}),
	 * begins, runs, commits, and gives the member back. Called inside a block of this pool, it joins the open
	 * transaction, which its failure dooms (unless that is a bound one). Outcomes as
	 * {@link Producer#transaction}: the block's value, its exception after an abort, {@code null} after
	 * {@link Transaction#abort()}, a {@link TransactionFailedException} if the commit or a nested transaction
	 * failed.
	 * @throws PoolWaitTimeoutException if no member was free in time (nothing began)
	 * @throws ProducerClosedException if the pool is closed
	 * @throws IllegalCallerException if called on a thread that dispatches a member's delivery reports
	 * @throws IllegalStateException if this thread holds every member, each in a transaction an inner scope
	 * suspended (nothing began: waiting would be for itself)
	 */
	public <T> T transaction(TransactionBlock<T> block) {
		return run(block, true);
	}

	/** As {@link #transaction}; {@code nested} tells a nested block from one call's work (see produceSync). */
	private <T> T run(TransactionBlock<T> block, boolean nested) {
		Held current = held();
		if (current != null && !current.member.inSuspendedTransaction()) {
			// Joins it, but begins none on the member: another thread ending its transaction gives it back.
			Object joined = current.member.joinOpenTransaction(block, nested);
			if (joined != Transactions.NOT_JOINED) {
				@SuppressWarnings("unchecked")
				T result = (T) joined;
				return result;
			}
		}
		// No member held, one whose transaction an inner scope suspended (that scope gets another member), or
		// one whose transaction another thread is ending (a member afresh, which waits for that one meanwhile).
		if (this.closed.get()) {
			throw new ProducerClosedException(this.name, ProducerStatus.CLOSED);
		}
		for (Producer member : this.members) {
			member.checkMayTransact("run a transaction");
		}
		if (current != null && current.count() >= this.members.size()) {
			throw new IllegalStateException("Transactional pool '" + this.name + "' has no member for this scope: "
					+ "this thread holds all " + this.members.size() + ", their transactions suspended by the scopes "
					+ "around it (REQUIRES_NEW, NOT_SUPPORTED); set its pool-size above the number of such nested "
					+ "scopes that produce on it");
		}
		Held mine = new Held(borrow(), current);
		this.held.set(mine);
		try {
			return mine.member.transaction(block, nested);
		}
		finally {
			// A block that joined an outer transaction (its TransactionJoiner's, such as Spring's) leaves the
			// member with it, and this thread's later calls join it too, until it commits or aborts, on this
			// thread or another, which gives the member back once that has ended. (A member's own
			// transaction(...) block around this call sets no hand-back.)
			if (!mine.member.whenBoundTransactionEnds(() -> giveBack(mine))) {
				giveBack(mine);
			}
		}
	}

	/** What the thread holds: the latest member it borrowed and still has, or {@code null}. */
	private Held held() {
		Held latest = this.held.get();
		while (latest != null && latest.givenBack) {
			latest = latest.suspended;
		}
		return latest;
	}

	/**
	 * Frees a member, on the thread that borrowed it or on the one that ended the transaction it joined; the
	 * borrower then holds what it held before, the next member it has not given back. A member given back by
	 * another thread, or out of order, is skipped where the borrower's chain still names it.
	 */
	private void giveBack(Held returned) {
		returned.givenBack = true;
		if (this.held.get() == returned) { // on the borrower, which holds it last
			Held before = held();
			if (before != null) {
				this.held.set(before);
			}
			else {
				this.held.remove();
			}
		}
		this.free.offer(returned.member);
	}

	/**
	 * A member a thread borrowed, and the one it held before, which an inner scope set aside. Written by the
	 * borrower but {@link #givenBack}, which the thread that gives it back sets.
	 */
	private static final class Held {

		final Producer member;

		final Held suspended;

		volatile boolean givenBack;

		Held(Producer member, Held suspended) {
			this.member = member;
			this.suspended = suspended;
		}

		/**
		 * Whether the borrower still has the member, asked on the borrower's thread: not once it was given back,
		 * nor once another thread began to end the transaction it joined (that thread gives it back after the
		 * end).
		 */
		boolean isHeld() {
			return !this.givenBack && this.member.inTransaction();
		}

		/** Members the thread still holds. */
		int count() {
			return (isHeld() ? 1 : 0) + ((this.suspended != null) ? this.suspended.count() : 0);
		}

	}

	private Producer borrow() {
		long start = System.nanoTime();
		Object taken;
		try {
			taken = this.free.poll(Timeouts.nanos(this.waitTimeout), TimeUnit.NANOSECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new WaterDropException("Interrupted while waiting for a free member of transactional pool '"
					+ this.name + "'", ex);
		}
		finally {
			this.stats.waits.increment();
			this.stats.waitNanos.add(System.nanoTime() - start);
		}
		if (taken == null) {
			this.stats.timeouts.increment();
			throw new PoolWaitTimeoutException(this.name, this.members.size(), this.waitTimeout);
		}
		if (this.closed.get()) { // the close's wake-up, or a member given back since: either stays for the next waiter
			this.free.offer(taken);
			throw new ProducerClosedException(this.name, ProducerStatus.CLOSED);
		}
		return (Producer) taken;
	}

	/** Sends one message in a transaction of its own (or the open one, inside a block) and waits for it. */
	public DeliveryReport produceSync(Message message) {
		return run((transaction) -> transaction.produceSync(message), false);
	}

	/**
	 * Sends the messages in one transaction (or the open one, inside a block) and waits for their reports.
	 * A message refused part-way aborts a transaction of their own, which throws the refusal; inside an open
	 * one, it throws {@link BatchPartlySentException} with the handles of those sent.
	 */
	public List<DeliveryReport> produceManySync(List<Message> messages) {
		return run((transaction) -> transaction.produceManyAsync(messages)
			.stream()
			.map(DeliveryHandle::await)
			.toList(), false);
	}

	/** Connects every member (creates its client and initialises its transactions). */
	public void connect() {
		this.members.forEach(Producer::connect);
	}

	public String name() {
		return this.name;
	}

	/**
	 * Whether {@code pool} is a real pool, made by its constructor: not a test's mock, which has none of its
	 * state. Read from a field, without calling the object, so that a mock records no interaction.
	 */
	public static boolean isReal(TransactionalPool pool) {
		return pool.name != null;
	}

	/** The members, in index order. */
	public List<Producer> members() {
		return this.members;
	}

	/** Number of members: transactions that can run at the same time. */
	public int size() {
		return this.members.size();
	}

	/** Members free now (not running a transaction for a caller of the pool). */
	public int available() {
		if (!this.closed.get()) {
			return this.free.size();
		}
		int members = 0;
		for (Object free : this.free) { // the close's wake-up comes and goes as waiters pass it on
			if (free != CLOSED) {
				members++;
			}
		}
		return members;
	}

	public Duration waitTimeout() {
		return this.waitTimeout;
	}

	public TransactionalPoolStats stats() {
		return this.stats;
	}

	/** Closes every member at once, each waiting up to its {@code max-wait-timeout}. */
	@Override
	public void close() {
		close(null);
	}

	/**
	 * Refuses new transactions and closes every member at once, each waiting up to {@code timeout} (its
	 * {@code max-wait-timeout} if {@code null}) for its in-flight messages. As on a producer, the close does
	 * not wait for a transaction still running: its commit then fails (the client is closed) and it ends
	 * with a {@link TransactionFailedException}.
	 */
	public void close(Duration timeout) {
		if (timeout != null) {
			Timeouts.require(timeout, "close");
		}
		if (this.closed.compareAndSet(false, true)) {
			this.free.offer(CLOSED);
		}
		List<CompletableFuture<Void>> closes = new ArrayList<>();
		for (Producer member : this.members) {
			closes.add(member.closeAsync((timeout != null) ? timeout : member.config().maxWaitTimeout()));
		}
		try {
			CompletableFuture.allOf(closes.toArray(CompletableFuture[]::new)).get();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new WaterDropException("Interrupted while closing transactional pool '" + this.name + "'", ex);
		}
		catch (ExecutionException ex) {
			throw new WaterDropException("Closing transactional pool '" + this.name + "' failed", ex.getCause());
		}
	}

	@Override
	public String toString() {
		return "TransactionalPool[" + this.name + ", " + this.members.size() + " members, " + available() + " free]";
	}

}
