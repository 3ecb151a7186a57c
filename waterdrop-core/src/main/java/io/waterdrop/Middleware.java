package io.waterdrop;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;

/**
 * An ordered chain of message transformers a producer applies to every message before validating and
 * sending (or buffering) it — to add headers, set keys, redirect topics. A step returns the message to
 * continue with (use {@link Message#toBuilder()}).
 * <p>
 * Threading: thread-safe. Steps may be added at any time; a message in progress sees the chain as it was
 * when it started. Steps run on the producing thread and must be thread-safe themselves.
 */
public final class Middleware {

	private final List<UnaryOperator<Message>> steps = new CopyOnWriteArrayList<>();

	/** Adds a step that runs after the existing ones. */
	public Middleware append(UnaryOperator<Message> step) {
		this.steps.add(Objects.requireNonNull(step, "step"));
		return this;
	}

	/** Adds a step that runs before the existing ones. */
	public Middleware prepend(UnaryOperator<Message> step) {
		this.steps.add(0, Objects.requireNonNull(step, "step"));
		return this;
	}

	/** Runs every step in order. A step returning {@code null} refuses the message as missing. */
	Message apply(Message message) {
		Message current = message;
		for (UnaryOperator<Message> step : this.steps) {
			if (current == null) {
				break;
			}
			current = step.apply(current);
		}
		return current;
	}

}
