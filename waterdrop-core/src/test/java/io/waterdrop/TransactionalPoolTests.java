package io.waterdrop;

import java.lang.reflect.Field;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.waterdrop.instrumentation.micrometer.TransactionalPoolMetrics;
import io.waterdrop.testing.InMemoryKafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * {@link TransactionalPool} without a broker: member ids, borrowing, joining, the bounded and measured wait.
 * Concurrency against a real broker is {@code TransactionalPoolIntegrationTests}'.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class TransactionalPoolTests {

	private final InMemoryKafka kafka = new InMemoryKafka();

	private final ExecutorService executor = Executors.newCachedThreadPool();

	private TransactionalPool pool;

	@AfterEach
	void closePool() {
		this.executor.shutdownNow();
		if (this.pool != null) {
			this.pool.close(Duration.ofSeconds(5));
		}
	}

	@Test
	void membersGetDistinctStableIdsDerivedFromTheTemplate() {
		ProducerConfig.Builder template = template("payments-host-a").kafka("client.id", "payments-client");
		this.pool = TransactionalPool.of(template, 3, Duration.ofSeconds(5));
		assertThat(this.pool.name()).isEqualTo("payments");
		assertThat(this.pool.size()).isEqualTo(3);
		assertThat(this.pool.members()).extracting(Producer::id).containsExactly("payments-0", "payments-1", "payments-2");
		assertThat(this.pool.members()).extracting((member) -> member.config().kafka().get("transactional.id"))
			.containsExactly("payments-host-a-0", "payments-host-a-1", "payments-host-a-2");
		assertThat(this.pool.members()).extracting((member) -> member.config().kafka().get("client.id"))
			.containsExactly("payments-client-0", "payments-client-1", "payments-client-2");
		// The template is left as given.
		ProducerConfig after = template.build();
		assertThat(after.id()).isEqualTo("payments");
		assertThat(after.kafka()).containsEntry("transactional.id", "payments-host-a")
			.containsEntry("client.id", "payments-client");
	}

	@Test
	void aPoolNeedsTransactionalMembersWithDistinctIds() {
		assertThatThrownBy(() -> TransactionalPool.of(ProducerConfig.builder().id("plain").clientFactory(this.kafka), 2,
				Duration.ofSeconds(1)))
			.isInstanceOf(InvalidConfigurationException.class)
			.hasMessageContaining("needs a transactional.id");
		assertThatThrownBy(() -> TransactionalPool.create("same", 2, Duration.ofSeconds(1),
				(index) -> template("same-id").id("same-" + index).build()))
			.isInstanceOf(InvalidConfigurationException.class)
			.hasMessageContaining("share the transactional.id 'same-id'");
		assertThatThrownBy(() -> TransactionalPool.of(template("tx"), 0, Duration.ofSeconds(1)))
			.isInstanceOf(InvalidConfigurationException.class)
			.hasMessageContaining("pool-size: must be at least 1 but was 0");
		assertThatThrownBy(() -> TransactionalPool.of(template("tx"), 1, Duration.ZERO))
			.isInstanceOf(InvalidConfigurationException.class)
			.hasMessageContaining("pool-wait-timeout: must be positive");
	}

	@Test
	void concurrentTransactionsRunOnDifferentMembersAndNestedCallsJoin() throws Exception {
		this.pool = TransactionalPool.of(template("orders-tx"), 2, Duration.ofSeconds(20));
		CountDownLatch bothInside = new CountDownLatch(2);
		CountDownLatch release = new CountDownLatch(1);
		Set<Object> threadsInside = ConcurrentHashMap.newKeySet();
		List<CompletableFuture<String>> blocks = List.of(0, 1).stream().map((i) -> CompletableFuture.supplyAsync(() ->
				this.pool.transaction((transaction) -> {
					transaction.produceAsync(Message.of("orders", "outer-" + i));
					// Joins this thread's transaction: same member, committed together.
					this.pool.produceSync(Message.of("orders", "nested-" + i));
					threadsInside.add(Thread.currentThread());
					bothInside.countDown();
					TestProducers.awaitLatch(release);
					return "done-" + i;
				}), this.executor)).toList();
		TestProducers.awaitLatch(bothInside);
		assertThat(this.pool.available()).isZero();
		assertThat(this.kafka.payloads("orders")).isEmpty(); // nothing committed yet
		release.countDown();
		assertThat(blocks.get(0).get(20, TimeUnit.SECONDS)).isEqualTo("done-0");
		assertThat(blocks.get(1).get(20, TimeUnit.SECONDS)).isEqualTo("done-1");
		assertThat(threadsInside).hasSize(2);
		assertThat(this.kafka.payloads("orders")).containsExactlyInAnyOrder("outer-0", "nested-0", "outer-1", "nested-1");
		assertThat(this.pool.available()).isEqualTo(2);
		assertThat(this.pool.stats().waits()).isEqualTo(2);
		assertThat(this.pool.stats().timeouts()).isZero();
	}

	/** Pool meters read the first pool bound under their name until it is let go of, then the next one. */
	@Test
	void aPoolsMetersGoWhenTheirBinderClosesAndPassToTheNextPoolOfTheirName() {
		this.pool = TransactionalPool.of(template("metered-tx"), 2, Duration.ofSeconds(5));
		SimpleMeterRegistry registry = new SimpleMeterRegistry();
		TransactionalPoolMetrics closedContext = new TransactionalPoolMetrics(List.of(this.pool));
		closedContext.bindTo(registry);
		try (TransactionalPool next = TransactionalPool.of(template("metered-id"), 3, Duration.ofSeconds(5));
				TransactionalPoolMetrics nextContext = new TransactionalPoolMetrics(List.of(next))) {
			nextContext.bindTo(registry);
			assertThat(registry.get("waterdrop.transactions.pool.size").tag("pool", "metered").gauge().value())
				.isEqualTo(2);
			closedContext.close();
			assertThat(registry.get("waterdrop.transactions.pool.size").tag("pool", "metered").gauge().value())
				.isEqualTo(3);
		}
		assertThat(registry.getMeters()).isEmpty();
	}

	@Test
	void aCallerFindingEveryMemberBusyWaitsBoundedThenFailsAndTheWaitIsMeasured() throws Exception {
		this.pool = TransactionalPool.of(template("busy-tx"), 1, Duration.ofMillis(200));
		SimpleMeterRegistry registry = new SimpleMeterRegistry();
		new TransactionalPoolMetrics(List.of(this.pool)).bindTo(registry);
		CountDownLatch release = new CountDownLatch(1);
		CompletableFuture<Object> holder = holdAMember(release);
		assertThat(registry.get("waterdrop.transactions.pool.busy").tag("pool", "busy").gauge().value()).isEqualTo(1);

		assertThatThrownBy(() -> this.pool.produceSync(Message.of("busy", "refused")))
			.isInstanceOf(PoolWaitTimeoutException.class)
			.hasMessage("Transactional pool 'busy' had none of its 1 member(s) free within PT0.2S; no transaction "
					+ "began. Keep transaction blocks short, raise the pool size, or raise its wait timeout");
		release.countDown();
		holder.get(20, TimeUnit.SECONDS);
		this.pool.produceSync(Message.of("busy", "accepted"));

		assertThat(this.kafka.payloads("busy")).containsExactly("accepted");
		assertThat(this.pool.stats().timeouts()).isEqualTo(1);
		assertThat(this.pool.stats().waits()).isEqualTo(3);
		// The refused caller waited its full timeout: at least 200 ms of wait are on record.
		assertThat(this.pool.stats().waitNanos()).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(200));
		assertThat(registry.get("waterdrop.transactions.pool.wait").tag("pool", "busy").functionTimer().count())
			.isEqualTo(3);
		assertThat(registry.get("waterdrop.transactions.pool.timeouts").functionCounter().count()).isEqualTo(1);
		assertThat(registry.get("waterdrop.transactions.pool.busy").gauge().value()).isZero();
		assertThat(registry.get("waterdrop.transactions.pool.size").gauge().value()).isEqualTo(1);
	}

	@Test
	void aFailingBlockAbortsAndGivesItsMemberBack() {
		this.pool = TransactionalPool.of(template("fail-tx"), 1, Duration.ofSeconds(5));
		assertThatThrownBy(() -> this.pool.transaction((transaction) -> {
			transaction.produceAsync(Message.of("fail", "rolled back"));
			throw new IllegalArgumentException("bad input");
		})).isInstanceOf(IllegalArgumentException.class).hasMessage("bad input");
		assertThat(this.pool.available()).isEqualTo(1);
		String aborted = this.pool.transaction((transaction) -> {
			transaction.abort();
			return "unused";
		});
		assertThat(aborted).isNull();
		this.pool.produceManySync(List.of(Message.of("fail", "a"), Message.of("fail", "b")));
		assertThat(this.kafka.payloads("fail")).containsExactly("a", "b");
	}

	/**
	 * A nested pool transaction that aborts dooms the one around it, caught or not; a failed produceSync on the
	 * pool, caught in the block, is the block's to handle (as on a producer).
	 */
	@Test
	void aNestedPoolTransactionsAbortDoomsTheOuterOneButAFailedCallDoesNot() {
		this.pool = TransactionalPool.of(template("nested-tx"), 1, Duration.ofSeconds(5));
		this.kafka.topic("nested", 1);
		assertThatExceptionOfType(TransactionFailedException.class).isThrownBy(() -> this.pool.transaction((outer) -> {
			outer.produceAsync(Message.of("nested", "outer"));
			try {
				this.pool.transaction((inner) -> {
					inner.abort();
					return null;
				});
			}
			catch (RuntimeException ex) {
				// caught
			}
			return "done";
		})).withMessageContaining("called abort()");
		assertThat(this.pool.available()).isOne();

		String committed = this.pool.transaction((outer) -> {
			outer.produceAsync(Message.of("nested", "kept"));
			assertThatExceptionOfType(InvalidMessageException.class).isThrownBy(
					() -> this.pool.produceSync(Message.builder("nested").partition(-1).payload("refused").build()));
			return "committed";
		});
		assertThat(committed).isEqualTo("committed");
		assertThat(this.kafka.payloads("nested")).containsExactly("kept");
	}

	/**
	 * A pool call inside a member's own transaction block (members are beans of their own) joins that block's
	 * transaction, which ends with no hand-back hook: the member comes back at once, not never.
	 */
	@Test
	void aPoolCallInsideAMembersOwnTransactionBlockGivesTheMemberBack() {
		this.pool = TransactionalPool.of(template("direct-tx"), 1, Duration.ofSeconds(5));
		Producer member = this.pool.members().get(0);
		member.transaction((transaction) -> {
			this.pool.produceSync(Message.of("direct", "joined"));
			return null;
		});
		assertThat(this.pool.available()).isOne();
		this.pool.produceSync(Message.of("direct", "next"));
		assertThat(this.kafka.payloads("direct")).containsExactly("joined", "next");
	}

	@Test
	void aClosedPoolRefusesTransactionsAndClosesItsMembers() {
		this.pool = TransactionalPool.of(template("closed-tx"), 2, Duration.ofSeconds(5));
		this.pool.connect();
		assertThat(this.pool.members()).extracting(Producer::status).containsOnly(ProducerStatus.CONNECTED);
		this.pool.close(Duration.ofSeconds(5));
		assertThat(this.pool.members()).extracting(Producer::status).containsOnly(ProducerStatus.CLOSED);
		assertThatThrownBy(() -> this.pool.produceSync(Message.of("closed", "x")))
			.isInstanceOf(ProducerClosedException.class);
	}

	/** No member can come to callers waiting when the pool closes: they are refused as closed at once. */
	@Test
	void callersWaitingForAMemberWhenThePoolClosesAreRefusedAsClosed() throws Exception {
		this.pool = TransactionalPool.of(template("waiting-tx"), 1, Duration.ofMinutes(10));
		CountDownLatch release = new CountDownLatch(1);
		CompletableFuture<Object> holder = holdAMember(release);
		List<CompletableFuture<DeliveryReport>> waiting = new ArrayList<>();
		List<Thread> waiters = new ArrayList<>();
		for (int i = 0; i < 3; i++) {
			CompletableFuture<DeliveryReport> outcome = new CompletableFuture<>();
			Thread waiter = new Thread(() -> {
				try {
					outcome.complete(this.pool.produceSync(Message.of("waiting", "never")));
				}
				catch (Throwable ex) {
					outcome.completeExceptionally(ex);
				}
			}, "pool-waiter-" + i);
			waiting.add(outcome);
			waiters.add(waiter);
			waiter.start();
		}
		org.awaitility.Awaitility.await()
			.atMost(Duration.ofSeconds(30))
			.until(() -> waiters.stream().allMatch((waiter) -> waiter.getState() == Thread.State.TIMED_WAITING));

		this.pool.close(Duration.ofSeconds(5));

		for (CompletableFuture<DeliveryReport> outcome : waiting) {
			assertThat(outcome).failsWithin(Duration.ofSeconds(30))
				.withThrowableOfType(ExecutionException.class)
				.withCauseInstanceOf(ProducerClosedException.class);
		}
		assertThat(this.pool.stats().timeouts()).isZero();
		assertThat(this.pool.available()).isZero();
		release.countDown();
		holder.handle((result, failure) -> null).get(30, TimeUnit.SECONDS); // its commit finds the member closed
		assertThat(this.pool.available()).as("the member given back, the close's wake-up not counted").isOne();
	}

	/** Runs a transaction on another thread that holds its member until {@code release}; returns once it holds it. */
	private CompletableFuture<Object> holdAMember(CountDownLatch release) {
		CountDownLatch inside = new CountDownLatch(1);
		CompletableFuture<Object> holder = CompletableFuture.supplyAsync(() -> this.pool.transaction((transaction) -> {
			inside.countDown();
			TestProducers.awaitLatch(release);
			return null;
		}), this.executor);
		TestProducers.awaitLatch(inside);
		return holder;
	}

	private ProducerConfig.Builder template(String transactionalId) {
		String id = transactionalId.replaceAll("-(tx|id|host-a)$", "");
		return ProducerConfig.builder().id(id).kafka("transactional.id", transactionalId).clientFactory(this.kafka);
	}

	/** As spring-kafka binds a cached producer to the Spring transaction until it completes. */
	@Test
	void aBlockThatJoinsAnOuterTransactionKeepsItsMemberUntilThatTransactionEnds() {
		List<BoundTransaction> outer = new CopyOnWriteArrayList<>();
		this.pool = poolJoiningOuterTransactions(outer, 2, Duration.ofSeconds(5));

		this.pool.produceSync(Message.of("orders", "a"));
		assertThat(this.pool.available()).isOne();
		this.pool.produceSync(Message.of("orders", "b"));

		assertThat(outer).hasSize(1); // the second call joined the first one's outer transaction
		assertThat(this.pool.available()).isOne();
		assertThat(this.kafka.payloads("orders")).isEmpty();
		outer.get(0).commit();
		assertThat(this.pool.available()).isEqualTo(2);
		assertThat(this.kafka.payloads("orders")).containsExactly("a", "b");
		this.pool.produceSync(Message.of("orders", "c")); // a new outer transaction, on a free member
		assertThat(outer).hasSize(2);
		outer.get(1).abort();
		assertThat(this.pool.available()).isEqualTo(2);
		assertThat(this.kafka.payloads("orders")).containsExactly("a", "b");
	}

	/**
	 * A JTA transaction manager rolls back on a timeout on its own thread: the member goes back to the pool
	 * there, once, and the thread that borrowed it takes a member afresh instead of calling the one it gave up.
	 */
	@Test
	void aMemberWhoseOuterTransactionAnotherThreadEndsGoesBackOnceAndItsBorrowerMovesOn() throws Exception {
		List<BoundTransaction> outer = new CopyOnWriteArrayList<>();
		this.pool = poolJoiningOuterTransactions(outer, 2, Duration.ofSeconds(5));
		ExecutorService jta = Executors.newSingleThreadExecutor();
		try {
			this.pool.produceSync(Message.of("orders", "timed out"));
			Producer first = outer.get(0).producer();
			assertThat(this.pool.available()).isOne();

			jta.submit(outer.get(0)::abort).get(30, TimeUnit.SECONDS);

			assertThat(this.pool.available()).isEqualTo(2);
			this.pool.produceSync(Message.of("orders", "next"));
			assertThat(outer).as("a new outer transaction, not a call on the member given up").hasSize(2);
			assertThat(this.pool.available()).isOne();
			outer.get(1).commit();
			assertThat(this.pool.available()).isEqualTo(2);
			assertThat(this.kafka.payloads("orders")).containsExactly("next");
			assertThat(first.inTransaction()).isFalse();
		}
		finally {
			jta.shutdownNow();
		}
	}

	/**
	 * Another thread ends the outer transaction a block joined while the block still works (a JTA timeout): the
	 * block's later work is refused, not run in a transaction begun on the member, which that thread has given
	 * back to the pool (another borrower would take it and wait for that transaction).
	 */
	@Test
	void workOfAJoinedBlockAfterAnotherThreadEndedItsTransactionIsRefusedAndTheMemberStaysFree() throws Exception {
		List<BoundTransaction> outer = new CopyOnWriteArrayList<>();
		this.pool = poolJoiningOuterTransactions(outer, 1, Duration.ofSeconds(5));
		ExecutorService jta = Executors.newSingleThreadExecutor();
		try {
			this.pool.produceSync(Message.of("orders", "first"));
			Producer member = outer.get(0).producer();

			assertThatThrownBy(() -> this.pool.transaction((transaction) -> {
				CompletableFuture.runAsync(outer.get(0)::commit, jta).orTimeout(30, TimeUnit.SECONDS).join();
				return transaction.produceAsync(Message.of("orders", "second"));
			})).isInstanceOf(IllegalStateException.class).hasMessageContaining("ended on another thread");

			assertThat(outer).as("no transaction begun on the member").hasSize(1);
			assertThat(member.inTransaction()).isFalse();
			assertThat(this.pool.available()).isOne();
			assertThat(this.kafka.payloads("orders")).containsExactly("first");
		}
		finally {
			jta.shutdownNow();
		}
	}

	/**
	 * Two threads' joined blocks overlap on one member: the first one's outer transaction was ended on another
	 * thread (a JTA timeout) while its block still worked, and the member went to the next borrower, whose block
	 * joined its own. Each thread's block is its own: the first one returning neither refuses that thread's later
	 * transactions of their own nor lifts the refusal of the second one's late work once its outer transaction
	 * ends elsewhere too.
	 */
	@Test
	void joinedBlocksOfTwoThreadsOverlappingOnAMemberAreEachTheirThreads() throws Exception {
		Set<Thread> inScope = ConcurrentHashMap.newKeySet();
		List<BoundTransaction> outer = new CopyOnWriteArrayList<>();
		TransactionJoiner joiner = (producer) -> inScope.contains(Thread.currentThread())
				&& outer.add(producer.beginTransaction());
		this.pool = TransactionalPool.of(template("orders-tx").transactionJoiner(joiner), 1, Duration.ofSeconds(30));
		ExecutorService first = Executors.newSingleThreadExecutor();
		ExecutorService second = Executors.newSingleThreadExecutor();
		CountDownLatch firstInBlock = new CountDownLatch(1);
		CountDownLatch releaseFirst = new CountDownLatch(1);
		CountDownLatch secondInBlock = new CountDownLatch(1);
		CountDownLatch releaseSecond = new CountDownLatch(1);
		try {
			Future<?> firstScope = first.submit(() -> {
				inScope.add(Thread.currentThread());
				this.pool.produceSync(Message.of("orders", "first"));
				this.pool.transaction((transaction) -> {
					firstInBlock.countDown();
					TestProducers.awaitLatch(releaseFirst);
					return null;
				});
				inScope.remove(Thread.currentThread());
				return null;
			});
			TestProducers.awaitLatch(firstInBlock);
			outer.get(0).abort(); // the first scope's JTA timeout, on this thread: the member goes back

			Future<?> secondScope = second.submit(() -> {
				inScope.add(Thread.currentThread());
				this.pool.produceSync(Message.of("orders", "second"));
				assertThatThrownBy(() -> this.pool.transaction((transaction) -> {
					secondInBlock.countDown();
					TestProducers.awaitLatch(releaseSecond);
					return transaction.produceAsync(Message.of("orders", "second late"));
				})).hasMessageContaining("ended on another thread");
				inScope.remove(Thread.currentThread());
				return null;
			});
			TestProducers.awaitLatch(secondInBlock);
			releaseFirst.countDown();
			firstScope.get(30, TimeUnit.SECONDS); // its block returned while the second one's runs
			outer.get(1).abort(); // the second scope's JTA timeout
			releaseSecond.countDown();
			secondScope.get(30, TimeUnit.SECONDS);

			first.submit(() -> this.pool.produceSync(Message.of("orders", "first, on its own")))
				.get(30, TimeUnit.SECONDS);
			assertThat(outer).as("no transaction begun for late work").hasSize(2);
			assertThat(this.pool.available()).isOne();
			assertThat(this.kafka.payloads("orders")).containsExactly("first, on its own");
		}
		finally {
			first.shutdownNow();
			second.shutdownNow();
		}
	}

	/**
	 * The reviewer's case: another thread is still committing the outer transaction a block joined when the
	 * block returns. The member stays with that commit until it is over, and the borrower's next call takes a
	 * member afresh, waiting for it meanwhile, instead of joining the transaction being committed.
	 */
	@Test
	void aMemberWhoseOuterTransactionIsStillBeingCommittedStaysWithItAndTheBorrowersNextCallWaits()
			throws Exception {
		TransactionBoundTests.CommitHeldKafka client = new TransactionBoundTests.CommitHeldKafka(true);
		List<BoundTransaction> outer = new CopyOnWriteArrayList<>();
		this.pool = TransactionalPool.of(ProducerConfig.builder()
			.id("held")
			.kafka("transactional.id", "held-tx")
			.clientFactory((properties) -> client)
			.transactionJoiner((producer) -> outer.add(producer.beginTransaction())), 1, Duration.ofSeconds(30));
		ExecutorService borrower = Executors.newSingleThreadExecutor();
		ExecutorService committer = Executors.newSingleThreadExecutor();
		try {
			Thread borrowerThread = borrower.submit(Thread::currentThread).get(30, TimeUnit.SECONDS);
			List<Future<?>> commits = new CopyOnWriteArrayList<>();
			borrower.submit(() -> this.pool.transaction((transaction) -> {
				transaction.produceAsync(Message.of("orders", "first"));
				commits.add(committer.submit(outer.get(0)::commit));
				TestProducers.awaitLatch(client.inCommit);
				return null;
			})).get(30, TimeUnit.SECONDS);
			assertThat(this.pool.available()).as("the member of the transaction being committed").isZero();

			Future<?> next = borrower.submit(() -> this.pool
				.transaction((transaction) -> transaction.produceAsync(Message.of("orders", "next"))));
			// It waits (parked) for the member, or it joined the transaction being committed and returned.
			await().atMost(Duration.ofSeconds(30))
				.until(() -> next.isDone() || borrowerThread.getState() == Thread.State.TIMED_WAITING);
			assertThat(next).as("joined the transaction being committed").isNotDone();
			client.releaseCommit.countDown();
			commits.get(0).get(30, TimeUnit.SECONDS);
			next.get(30, TimeUnit.SECONDS);

			assertThat(outer).as("a new outer transaction for the next call").hasSize(2);
			assertThat(client.commitCount()).isOne();
			outer.get(1).commit();
			assertThat(client.commitCount()).isEqualTo(2);
			assertThat(client.history()).hasSize(2);
			assertThat(this.pool.available()).isOne();
		}
		finally {
			borrower.shutdownNow();
			committer.shutdownNow();
		}
	}

	/**
	 * The reviewer's case: between another thread's giving up the turn of the outer transaction it ended and its
	 * giving the member back, the borrower's next call must not begin a transaction on that member (which the
	 * hand-back would then offer to every caller while that transaction is open): it takes a member afresh.
	 */
	@Test
	void theBorrowersCallBetweenTheEndOfItsOuterTransactionAndTheHandBackBeginsNoTransactionOnTheMember()
			throws Exception {
		List<BoundTransaction> outer = new CopyOnWriteArrayList<>();
		this.pool = poolJoiningOuterTransactions(outer, 1, Duration.ofSeconds(30));
		PausingTurn turn = PausingTurn.installIn(this.pool.members().get(0));
		ExecutorService borrower = Executors.newSingleThreadExecutor();
		ExecutorService committer = Executors.newSingleThreadExecutor();
		try {
			Thread borrowerThread = borrower.submit(Thread::currentThread).get(30, TimeUnit.SECONDS);
			turn.pausing = committer.submit(Thread::currentThread).get(30, TimeUnit.SECONDS);
			borrower.submit(() -> this.pool.produceSync(Message.of("orders", "first"))).get(30, TimeUnit.SECONDS);
			Future<?> commit = committer.submit(outer.get(0)::commit);
			TestProducers.awaitLatch(turn.released); // the turn is free, the member not given back yet

			Future<?> next = borrower.submit(() -> this.pool.produceSync(Message.of("orders", "next")));
			// It waits (parked) for the member, or it began a transaction on the member and returned.
			await().atMost(Duration.ofSeconds(30))
				.until(() -> next.isDone() || borrowerThread.getState() == Thread.State.TIMED_WAITING);
			turn.resume.countDown();
			commit.get(30, TimeUnit.SECONDS);
			next.get(30, TimeUnit.SECONDS);

			assertThat(outer).hasSize(2);
			assertThat(this.pool.available()).as("the member of the open outer transaction, handed out meanwhile")
				.isZero();
			outer.get(1).commit();
			assertThat(this.pool.available()).isOne();
			assertThat(this.kafka.payloads("orders")).containsExactly("first", "next");
		}
		finally {
			turn.resume.countDown();
			borrower.shutdownNow();
			committer.shutdownNow();
		}
	}

	/**
	 * A member given back out of order (a later borrow's hand-back runs first) leaves the thread holding the
	 * member it borrowed last, not the snapshot taken when the earlier one was borrowed.
	 */
	@Test
	void aMemberGivenBackOutOfOrderLeavesTheThreadHoldingItsLatest() {
		List<BoundTransaction> outer = new CopyOnWriteArrayList<>();
		this.pool = poolJoiningOuterTransactions(outer, 2, Duration.ofSeconds(5));
		this.pool.produceSync(Message.of("orders", "outer"));
		outer.get(0).suspend();
		this.pool.produceSync(Message.of("orders", "inner")); // a second member, the outer one set aside
		outer.get(0).resume();

		outer.get(0).commit(); // the first member goes back while the thread still holds the second

		assertThat(this.pool.available()).isOne();
		this.pool.produceSync(Message.of("orders", "inner again"));
		assertThat(outer).as("joined the second member's open transaction").hasSize(2);
		outer.get(1).commit();
		assertThat(this.pool.available()).isEqualTo(2);
		assertThat(this.kafka.payloads("orders")).containsExactly("outer", "inner", "inner again");
	}

	/** As spring-kafka takes another cached producer for a {@code REQUIRES_NEW} scope. */
	@Test
	void whileTheHeldMembersTransactionIsSuspendedTheThreadsCallsTakeAnotherMemberAndThenGoBackToIt() {
		List<BoundTransaction> outer = new CopyOnWriteArrayList<>();
		this.pool = poolJoiningOuterTransactions(outer, 2, Duration.ofSeconds(5));
		this.pool.produceSync(Message.of("orders", "outer"));
		BoundTransaction suspended = outer.get(0);

		suspended.suspend();
		this.pool.produceSync(Message.of("orders", "inner"));

		assertThat(outer).hasSize(2);
		assertThat(outer.get(1).producer()).isNotSameAs(suspended.producer());
		assertThat(this.pool.available()).isZero();
		outer.get(1).commit(); // the inner scope ends: its member is free, its message counts
		assertThat(this.pool.available()).isOne();
		assertThat(this.kafka.payloads("orders")).containsExactly("inner");

		suspended.resume();
		this.pool.produceSync(Message.of("orders", "outer again")); // the thread holds the first member again
		assertThat(outer).hasSize(2);
		suspended.commit();
		assertThat(this.pool.available()).isEqualTo(2);
		assertThat(this.kafka.payloads("orders")).containsExactly("inner", "outer", "outer again");
	}

	@Test
	void anInnerScopeFindingEveryMemberHeldSuspendedByItsOwnThreadIsRefusedAtOnce() {
		List<BoundTransaction> outer = new CopyOnWriteArrayList<>();
		this.pool = poolJoiningOuterTransactions(outer, 1, Duration.ofMinutes(10));
		this.pool.produceSync(Message.of("orders", "outer"));
		outer.get(0).suspend();
		long borrows = this.pool.stats().waits();

		// Waiting would be for nothing: the one member is this thread's own, set aside.
		assertThatExceptionOfType(IllegalStateException.class)
			.isThrownBy(() -> this.pool.produceSync(Message.of("orders", "inner")))
			.withMessageContaining("this thread holds all 1");
		assertThat(this.pool.stats().waits()).as("no wait for a member").isEqualTo(borrows);

		outer.get(0).resume();
		outer.get(0).commit();
		assertThat(this.kafka.payloads("orders")).containsExactly("outer");
	}

	/**
	 * The turn of a member's transactions, installed in its place, that holds the thread {@link #pausing} right
	 * after it gave the turn up (the end of a transaction, before the member is given back) until {@link #resume}.
	 */
	static final class PausingTurn extends Semaphore {

		private static final long serialVersionUID = 1L;

		final CountDownLatch released = new CountDownLatch(1);

		final CountDownLatch resume = new CountDownLatch(1);

		volatile Thread pausing;

		private PausingTurn() {
			super(1, true);
		}

		/** Puts a new one in place of the free turn of {@code member}'s transactions. */
		static PausingTurn installIn(Producer member) throws ReflectiveOperationException {
			Field transactions = Producer.class.getDeclaredField("transactions");
			transactions.setAccessible(true);
			Field turn = Transactions.class.getDeclaredField("turn");
			turn.setAccessible(true);
			PausingTurn installed = new PausingTurn();
			turn.set(transactions.get(member), installed);
			return installed;
		}

		@Override
		public void release() {
			super.release();
			if (Thread.currentThread() == this.pausing) {
				this.released.countDown();
				TestProducers.awaitLatch(this.resume);
			}
		}

	}

	/**
	 * A pool whose members' joiner begins a bound transaction for every block, as an outer transaction
	 * manager (Spring's) would, and adds it to {@code outer}.
	 */
	private TransactionalPool poolJoiningOuterTransactions(List<BoundTransaction> outer, int size,
			Duration waitTimeout) {
		TransactionJoiner joiner = (producer) -> {
			outer.add(producer.beginTransaction());
			return true;
		};
		return TransactionalPool.of(template("orders-tx").transactionJoiner(joiner), size, waitTimeout);
	}

}
