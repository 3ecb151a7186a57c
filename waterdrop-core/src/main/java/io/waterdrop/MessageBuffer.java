package io.waterdrop;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Messages held by {@link Producer#buffer} until a flush. Thread-safe; the lock is never held while
 * sending.
 */
final class MessageBuffer {

	private final ReentrantLock lock = new ReentrantLock();

	private List<Message> messages = new ArrayList<>();

	void add(List<Message> added) {
		this.lock.lock();
		try {
			this.messages.addAll(added);
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

	/** Puts messages of a failed flush back, ahead of anything buffered since. */
	void restore(List<Message> undelivered) {
		this.lock.lock();
		try {
			List<Message> restored = new ArrayList<>(undelivered);
			restored.addAll(this.messages);
			this.messages = restored;
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
