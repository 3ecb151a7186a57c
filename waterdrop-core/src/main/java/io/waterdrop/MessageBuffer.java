package io.waterdrop;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Messages held by {@link Producer#buffer} until a flush. Thread-safe; the lock is never held while
 * sending. Closed with its producer: from then on it takes nothing, so no message is left in it unseen.
 */
final class MessageBuffer {

	private final ReentrantLock lock = new ReentrantLock();

	private List<Message> messages = new ArrayList<>();

	private boolean closed;

	/** Adds messages; {@code false} (nothing added) once closed. */
	boolean add(List<Message> added) {
		this.lock.lock();
		try {
			if (!this.closed) {
				this.messages.addAll(added);
			}
			return !this.closed;
		}
		finally {
			this.lock.unlock();
		}
	}

	/** Takes nothing from now on; returns what it held, in order. */
	List<Message> close() {
		this.lock.lock();
		try {
			this.closed = true;
			return takeAll();
		}
		finally {
			this.lock.unlock();
		}
	}

	/** Empties the buffer, returning what it held in order. */
	List<Message> takeAll() {
		this.lock.lock();
		try {
			List<Message> taken = this.messages;
			this.messages = new ArrayList<>();
			return taken;
		}
		finally {
			this.lock.unlock();
		}
	}

	/**
	 * Puts messages of a failed flush back, ahead of anything buffered since.
	 * @return {@code false} (nothing put back) once closed
	 */
	boolean restore(List<Message> undelivered) {
		this.lock.lock();
		try {
			if (!this.closed) {
				List<Message> restored = new ArrayList<>(undelivered);
				restored.addAll(this.messages);
				this.messages = restored;
			}
			return !this.closed;
		}
		finally {
			this.lock.unlock();
		}
	}

	int size() {
		this.lock.lock();
		try {
			return this.messages.size();
		}
		finally {
			this.lock.unlock();
		}
	}

}
