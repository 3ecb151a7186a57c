package io.waterdrop;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Messages held by {@link Producer#buffer} until a flush, in the order they were buffered. Each message
 * keeps the place it was buffered at, so that what failed flushes put back goes back there, ahead of what was
 * buffered after it, whichever flush puts back first. Thread-safe; the lock is never held while sending.
 * Closed with its producer: from then on it takes nothing, so no message is left in it unseen.
 */
final class MessageBuffer {

	private final ReentrantLock lock = new ReentrantLock();

	/** In the order of their places. */
	private List<Buffered> messages = new ArrayList<>();

	/** The place of the next message buffered. */
	private long nextPlace;

	/** Purges begun: one since a flush took its messages drops those it has not sent yet. */
	private int purges;

	private boolean closed;

	/** Adds messages; {@code false} (nothing added) once closed. */
	boolean add(List<Message> added) {
		this.lock.lock();
		try {
			if (!this.closed) {
				for (Message message : added) {
					this.messages.add(new Buffered(this.nextPlace++, message));
				}
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
			return takeAll().messages();
		}
		finally {
			this.lock.unlock();
		}
	}

	/** Empties the buffer, returning what it held in order. */
	Taken takeAll() {
		this.lock.lock();
		try {
			Taken taken = new Taken(this.messages, this.purges);
			this.messages = new ArrayList<>();
			return taken;
		}
		finally {
			this.lock.unlock();
		}
	}

	/**
	 * Puts messages of a failed flush back where they were, ahead of anything buffered since.
	 * @param undelivered positions in {@code taken}, in order
	 * @return {@code false} (nothing put back) once closed
	 */
	boolean restore(List<Integer> undelivered, Taken taken) {
		List<Buffered> restored = new ArrayList<>(undelivered.size());
		for (int position : undelivered) {
			restored.add(taken.buffered.get(position));
		}
		this.lock.lock();
		try {
			if (!this.closed) {
				List<Buffered> merged = new ArrayList<>(restored.size() + this.messages.size());
				int held = 0;
				for (Buffered each : restored) {
					while (held < this.messages.size() && this.messages.get(held).place() < each.place()) {
						merged.add(this.messages.get(held++));
					}
					merged.add(each);
				}
				merged.addAll(this.messages.subList(held, this.messages.size()));
				this.messages = merged;
			}
			return !this.closed;
		}
		finally {
			this.lock.unlock();
		}
	}

	/** A purge begins: what flushes took before it and have not sent yet is dropped with the buffer. */
	void purgeBegins() {
		this.lock.lock();
		try {
			this.purges++;
		}
		finally {
			this.lock.unlock();
		}
	}

	/** Whether a purge began since {@code taken} was taken (as one step with it, under the lock). */
	boolean purgedSince(Taken taken) {
		this.lock.lock();
		try {
			return this.purges != taken.purges;
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

	private record Buffered(long place, Message message) {
	}

	/**
	 * What a flush took, in order, with their places and the purges begun when it was taken. Used by the
	 * flush's own thread.
	 */
	static final class Taken {

		private final List<Buffered> buffered;

		private final List<Message> messages;

		private final int purges;

		Taken(List<Buffered> buffered, int purges) {
			this.buffered = buffered;
			this.messages = buffered.stream().map(Buffered::message).toList();
			this.purges = purges;
		}

		List<Message> messages() {
			return this.messages;
		}

		List<Message> messagesAt(List<Integer> positions) {
			return positions.stream().map(this.messages::get).toList();
		}

	}

}
