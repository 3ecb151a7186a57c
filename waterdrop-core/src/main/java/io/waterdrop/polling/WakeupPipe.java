package io.waterdrop.polling;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.Pipe;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real OS pipe used as a producer's wake-up signal in {@link PollingMode#FD fd} mode: {@link #signal()}
 * writes one byte into the sink, the Poller's selector watches the source. A pipe opened by
 * {@link Poller#openPipe()} writes only while that Poller sleeps in its selector; otherwise it announces
 * itself to the Poller, which collects it before it would sleep ({@link PollerWakeups} has the protocol).
 * <p>
 * Threading: {@link #signal()} from any thread (non-blocking: at most a few bytes are ever unread, far
 * below the pipe's buffer); {@link #clear()} and the source channel only from the Poller thread;
 * {@link #close()} once, by the Poller thread when it drops the producer.
 */
public final class WakeupPipe implements Wakeup, Closeable {

	private static final Logger logger = LoggerFactory.getLogger(WakeupPipe.class);

	private final Pipe pipe;

	private static final VarHandle ANNOUNCED;

	static {
		try {
			ANNOUNCED = MethodHandles.lookup().findVarHandle(WakeupPipe.class, "announced", boolean.class);
		}
		catch (ReflectiveOperationException ex) {
			throw new ExceptionInInitializerError(ex);
		}
	}

	private final ByteBuffer readBuffer = ByteBuffer.allocate(64);

	/** The Poller's shared wake-up state; null for a pipe that always writes (not opened by a Poller). */
	private final PollerWakeups wakeups;

	/** On the Poller's list of announced pipes (not collected yet). */
	@SuppressWarnings("unused") // through ANNOUNCED
	private volatile boolean announced;

	/** The next (older) announced pipe; published by the list's compare-and-set. */
	WakeupPipe nextAnnounced;

	/** The Poller's registration of this pipe, or null when none; written and read on the Poller thread only. */
	Object registration;

	private WakeupPipe(Pipe pipe, PollerWakeups wakeups) {
		this.pipe = pipe;
		this.wakeups = wakeups;
	}

	/** Opens a pipe with both ends non-blocking. */
	public static WakeupPipe open() {
		return open(null);
	}

	/** Opens a pipe whose signals go through a Poller's {@code wakeups}. */
	static WakeupPipe open(PollerWakeups wakeups) {
		Pipe pipe;
		try {
			pipe = Pipe.open();
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not open a wake-up pipe", ex);
		}
		try {
			pipe.sink().configureBlocking(false);
			pipe.source().configureBlocking(false);
		}
		catch (IOException ex) { // its two file descriptors must not leak
			closeQuietly(pipe.sink());
			closeQuietly(pipe.source());
			throw new UncheckedIOException("Could not make a wake-up pipe non-blocking", ex);
		}
		return new WakeupPipe(pipe, wakeups);
	}

	@Override
	public void signal() {
		if (this.wakeups != null && !this.wakeups.announce(this)) {
			return; // the Poller is awake and collects this pipe before it sleeps
		}
		try {
			this.pipe.sink().write(ByteBuffer.wrap(new byte[] { 1 }));
		}
		catch (ClosedChannelException ex) {
			// Unregistered already: the producer has no reports left to announce.
		}
		catch (IOException ex) {
			logger.warn("Could not signal a wake-up pipe", ex);
		}
	}

	/** Puts the announced mark on; {@code false} if it was on already (the pipe is on the list). */
	boolean markAnnounced() {
		return !this.announced && ANNOUNCED.compareAndSet(this, false, true);
	}

	/** Whether this pipe was opened by a Poller (its signals write only while that Poller sleeps). */
	boolean announces() {
		return this.wakeups != null;
	}

	/** Whether this pipe's signals go through {@code wakeups} (it was opened by their Poller). */
	boolean announcesTo(PollerWakeups wakeups) {
		return this.wakeups == wakeups;
	}

	/** Takes the announced mark off, before the Poller serves the producer. Poller thread only. */
	void clearAnnounced() {
		this.announced = false;
	}

	/** The end the Poller's selector watches. */
	Pipe.SourceChannel source() {
		return this.pipe.source();
	}

	/** Discards every byte written so far. */
	void clear() throws IOException {
		int read;
		do {
			read = this.pipe.source().read(this.readBuffer);
			this.readBuffer.clear();
		}
		while (read == this.readBuffer.capacity()); // a short read emptied the pipe: no extra system call
	}

	@Override
	public void close() {
		closeQuietly(this.pipe.sink());
		closeQuietly(this.pipe.source());
	}

	private static void closeQuietly(Closeable closeable) {
		try {
			closeable.close();
		}
		catch (IOException ex) {
			logger.debug("Could not close a wake-up pipe end", ex);
		}
	}

}
