package io.waterdrop.benchmarks.throughput;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A counter alone on its cache lines: 128 bytes of padding on either side (two lines, as adjacent-line
 * prefetchers pair them). The producers' delivery counters are written on every report by each client's
 * dispatching threads; unpadded, counters allocated side by side would share a line, and clients that
 * dispatch on several threads (raw kafka-clients, thread mode, KafkaTemplate) would pay for false sharing
 * that those dispatching on one thread (fd mode, the lean hand-off) do not.
 * <p>
 * The padding before the value lives in a superclass and the padding after it in this class, because the
 * JVM lays out a superclass's fields before a subclass's and reorders fields only within one class.
 */
final class PaddedCounter extends PaddedCounterValue {

	private static final VarHandle VALUE;

	static {
		try {
			VALUE = MethodHandles.lookup().findVarHandle(PaddedCounterValue.class, "value", long.class);
		}
		catch (ReflectiveOperationException ex) {
			throw new ExceptionInInitializerError(ex);
		}
	}

	// Padding after the value (in the subclass, so that the JVM cannot place it before the value).
	long after00;
	long after01;
	long after02;
	long after03;
	long after04;
	long after05;
	long after06;
	long after07;
	long after08;
	long after09;
	long after10;
	long after11;
	long after12;
	long after13;
	long after14;
	long after15;

	/** Adds one (an atomic read-modify-write, full fence) and returns the new count. */
	long incrementAndGet() {
		return (long) VALUE.getAndAdd(this, 1L) + 1;
	}

	long get() {
		return this.value;
	}

}

/** The counter's field, after the padding before it. */
abstract class PaddedCounterValue extends PaddedCounterPadBefore {

	volatile long value;

}

/** Padding before the counter's field. */
abstract class PaddedCounterPadBefore {

	long before00;
	long before01;
	long before02;
	long before03;
	long before04;
	long before05;
	long before06;
	long before07;
	long before08;
	long before09;
	long before10;
	long before11;
	long before12;
	long before13;
	long before14;
	long before15;

}
