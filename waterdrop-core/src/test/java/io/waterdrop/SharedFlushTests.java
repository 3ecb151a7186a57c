package io.waterdrop;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link SharedFlush}'s hand-off, on a client whose flush the test ends: one thread, one flush at a time, and
 * one more after it for every caller who asked while it ran.
 */
@Timeout(60)
class SharedFlushTests {

	private final AtomicInteger flushes = new AtomicInteger();

	private final List<CountDownLatch> mayEnd = new CopyOnWriteArrayList<>(
			List.of(new CountDownLatch(1), new CountDownLatch(1), new CountDownLatch(1)));

	/** Each flush waits for its own latch, so that the test decides when it ends. */
	private final MockProducer<byte[], byte[]> client = new MockProducer<>(true, null, new ByteArraySerializer(),
			new ByteArraySerializer()) {

		@Override
		public void flush() {
			int flush = SharedFlushTests.this.flushes.getAndIncrement();
			TestProducers.awaitUninterruptibly(SharedFlushTests.this.mayEnd.get(flush));
		}

	};

	private final List<Thread> started = new CopyOnWriteArrayList<>();

	private final SharedFlush shared = new SharedFlush("shared", () -> this.client, (task) -> {
		Thread thread = new Thread(task, "shared-flush");
		this.started.add(thread);
		thread.start();
	});

	@Test
	void callersDuringAFlushShareTheNextOneWhichBeginsOnlyAfterIt() throws Exception {
		CompletableFuture<Boolean> first = this.shared.request();
		CompletableFuture<Boolean> second = this.shared.request();
		CompletableFuture<Boolean> third = this.shared.request();

		assertThat(second).as("one flush for all who asked while the first ran").isSameAs(third).isNotSameAs(first);
		assertThat(this.flushes).as("never two at once").hasValueLessThanOrEqualTo(1);
		this.mayEnd.get(0).countDown();
		assertThat(first.get(30, TimeUnit.SECONDS)).isTrue();
		assertThat(second).as("begun after the first, still running").isNotDone();
		assertThat(this.flushes).as("flushes begun").hasValueLessThanOrEqualTo(2);
		this.mayEnd.get(1).countDown();
		assertThat(second.get(30, TimeUnit.SECONDS)).isTrue();
		assertThat(this.flushes).hasValue(2);
		assertThat(this.started).as("one thread for both").hasSize(1);
	}

	/** Once a flush has ended and nobody asked meanwhile, the next caller starts a thread again. */
	@RepeatedTest(20)
	void aCallerAfterTheLastFlushEndedStartsANewOne() throws Exception {
		this.mayEnd.get(0).countDown();
		assertThat(this.shared.request().get(30, TimeUnit.SECONDS)).isTrue();
		this.started.get(0).join(Duration.ofSeconds(30).toMillis());

		this.mayEnd.get(1).countDown();
		assertThat(this.shared.request().get(30, TimeUnit.SECONDS)).isTrue();

		assertThat(this.started).hasSize(2);
		assertThat(this.flushes).hasValue(2);
	}

}
