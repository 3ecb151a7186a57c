package io.waterdrop.polling;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.Pipe;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real OS pipe used as a producer's wake-up signal in {@link PollingMode#FD fd} mode: {@link #signal()}
 * writes one byte into the sink, the Poller's selector watches the source.
 * <p>
 * Threading: {@link #signal()} from any thread (non-blocking: at most a few bytes are ever unread, far
 * below the pipe's buffer); {@link #clear()} and the source channel only from the Poller thread;
 * {@link #close()} once, by the Poller thread when it drops the producer.
 */
public final class WakeupPipe implements Wakeup, Closeable {

	private static final Logger logger = LoggerFactory.getLogger(WakeupPipe.class);

	private final Pipe pipe;

	private final ByteBuffer readBuffer = ByteBuffer.allocate(64);

	/** The Poller's count of signals, which lets it end another producer's slice early; may be null. */
	private final AtomicLong signals;

	private WakeupPipe(Pipe pipe, AtomicLong signals) {
		this.pipe = pipe;
		this.signals = signals;
	}

	/** Opens a pipe with both ends non-blocking. */
	public static WakeupPipe open() {
		return open(null);
	}

	/** Opens a pipe whose signals are also counted in {@code signals}. */
	static WakeupPipe open(AtomicLong signals) {
		try {
			Pipe pipe = Pipe.open();
			pipe.sink().configureBlocking(false);
			pipe.source().configureBlocking(false);
			return new WakeupPipe(pipe, signals);
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not open a wake-up pipe", ex);
		}
	}

	@Override
	public void signal() {
		if (this.signals != null) {
			this.signals.incrementAndGet(); // before the byte: the Poller may read it as soon as it wakes
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
