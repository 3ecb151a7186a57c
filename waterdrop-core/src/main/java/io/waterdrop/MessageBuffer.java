package io.waterdrop;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
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
			Taken taken = new Taken(this.messages);
			this.messages = new ArrayList<>();
			return taken;
		}
		finally {
			this.lock.unlock();
		}
	}

	/**
	 * Puts messages of a failed flush back where they were, ahead of anything buffered since.
	 * @param undelivered messages of {@code taken}, in its order
	 * @return {@code false} (nothing put back) once closed
	 */
	boolean restore(List<Message> undelivered, Taken taken) {
		this.lock.lock();
		try {
			if (!this.closed) {
				List<Buffered> merged = new ArrayList<>(undelivered.size() + this.messages.size());
				int held = 0;
				for (Message message : undelivered) {
					long place = taken.placeOf(message);
					while (held < this.messages.size() && this.messages.get(held).place() < place) {
						merged.add(this.messages.get(held++));
					}
					merged.add(new Buffered(place, message));
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
	 * What a flush took, in order, with the places to put back what it could not send. Used by the flush's
	 * own thread.
	 */
	static final class Taken {

		private final List<Buffered> buffered;

		private final List<Message> messages;

		/** Built on the first put-back, which is rare. */
		private Map<Message, Long> places;

		Taken(List<Buffered> buffered) {
			this.buffered = buffered;
			this.messages = buffered.stream().map(Buffered::message).toList();
		}

		List<Message> messages() {
			return this.messages;
		}

		/** By identity, as the flush hands them back (the same instance buffered twice: its later place). */
		long placeOf(Message message) {
			if (this.places == null) {
				this.places = new IdentityHashMap<>();
				for (Buffered each : this.buffered) {
					this.places.put(each.message(), each.place());
				}
			}
			Long place = this.places.get(message);
			if (place == null) {
				throw new IllegalArgumentException("Not a message of this flush: " + message);
			}
			return place;
		}

	}

}
