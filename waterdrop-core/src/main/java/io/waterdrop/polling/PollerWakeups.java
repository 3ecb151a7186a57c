package io.waterdrop.polling;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * What the wake-up pipes of one {@link Poller} share, so that a signal writes to its pipe only while the
 * Poller sleeps in its selector (as Netty's event loop skips its selector wake-up while the loop is awake).
 * A signal that finds the Poller awake costs no system call here and no epoll round trip and pipe read on
 * the Poller: the Poller collects the announced pipes itself before it would sleep.
 * <p>
 * Protocol: a signal (1) puts its pipe on the list of announced pipes unless it is there already, (2)
 * counts itself, with a full fence, and (3) writes to its pipe only if it then reads {@code sleeping}. The
 * Poller sets {@code sleeping} before it blocks in its selector and then looks at the list once more: if a
 * pipe is there it does not block. Both sides write one volatile and then read the other's, so at least one
 * sees the other: either the signal sees the Poller sleeping (and writes its byte, which wakes it) or the
 * Poller sees the announced pipe (and serves its producer without sleeping). A pipe already on the list when
 * it signals again has not been collected yet; the Poller clears its mark before it serves the producer,
 * and serves it after that, so the report behind the second signal is drained too.
 * <p>
 * Threading: {@link #announce} from any thread; everything else on the Poller thread. The count is also
 * read by the Poller's {@link DrainSlice}: a signal of another producer ends a long slice early.
 */
final class PollerWakeups {

	private final AtomicLong signals = new AtomicLong();

	/** Announced pipes, newest first, linked through {@link WakeupPipe#nextAnnounced}. */
	private final AtomicReference<WakeupPipe> announced = new AtomicReference<>();

	/** What the look before sleeping waits for; one object, not one per look. */
	private final BooleanSupplier pipeAnnounced = () -> this.announced.get() != null;

	private volatile boolean sleeping;

	/**
	 * Announces a signal of {@code pipe}.
	 * @return whether the pipe must also write its byte: the Poller is asleep, or about to be
	 */
	boolean announce(WakeupPipe pipe) {
		if (pipe.markAnnounced()) {
			WakeupPipe top;
			do {
				top = this.announced.get();
				pipe.nextAnnounced = top;
			}
			while (!this.announced.compareAndSet(top, pipe));
		}
		this.signals.incrementAndGet();
		return this.sleeping;
	}

	/** Signals counted so far, for {@link DrainSlice}. */
	AtomicLong signals() {
		return this.signals;
	}

	/**
	 * Marks the Poller as about to block in its selector, after looking for an announced pipe for up to
	 * {@code spinNanos} first. A look that finds one leaves {@code sleeping} alone: the flag every signal
	 * reads is written only around a real sleep.
	 * @return {@code true} if the Poller must block now (and call {@link #awake()} once it returns),
	 * {@code false} if a pipe is announced already and the Poller stays awake
	 */
	boolean sleep(long spinNanos) {
		if (spinNanos > 0 && SpinWait.until(this.pipeAnnounced, spinNanos)) {
			return false;
		}
		this.sleeping = true;
		if (this.announced.get() == null) {
			return true;
		}
		this.sleeping = false;
		return false;
	}

	/** The Poller returned from its selector: signals need not write to their pipes. */
	void awake() {
		this.sleeping = false;
	}

	/**
	 * Takes every announced pipe, oldest first, clears its mark (so that its next signal announces it again)
	 * and hands it to {@code action}. Poller thread only.
	 * @return how many pipes were taken
	 */
	int collect(Consumer<WakeupPipe> action) {
		if (this.announced.get() == null) {
			return 0;
		}
		WakeupPipe newest = this.announced.getAndSet(null);
		WakeupPipe oldest = null;
		while (newest != null) { // reverse: the producer that signalled first is served first
			WakeupPipe next = newest.nextAnnounced;
			newest.nextAnnounced = oldest;
			oldest = newest;
			newest = next;
		}
		int collected = 0;
		while (oldest != null) {
			collected++;
			WakeupPipe next = oldest.nextAnnounced;
			oldest.nextAnnounced = null;
			oldest.clearAnnounced();
			action.accept(oldest);
			oldest = next;
		}
		return collected;
	}

}
