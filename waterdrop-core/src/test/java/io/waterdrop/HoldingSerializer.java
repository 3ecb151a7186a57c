package io.waterdrop;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.common.serialization.Serializer;

/**
 * A payload serializer that, once armed, holds the next message it serializes until released, and then
 * serializes it as the defaults do or fails with the error given. Holds a close's flush of the buffer, which
 * serializes the buffered messages again, at a known point.
 */
final class HoldingSerializer implements Serializer<Object> {

	/** Counted down when the armed serialization is held. */
	final CountDownLatch held = new CountDownLatch(1);

	/** Releases the held serialization. */
	final CountDownLatch mayGoOn = new CountDownLatch(1);

	private final AtomicBoolean armed = new AtomicBoolean();

	private final Serializer<Object> defaults = Serializers.defaults();

	private final Error failure;

	/** @param failure what the held serialization throws once released, or {@code null} to serialize */
	HoldingSerializer(Error failure) {
		this.failure = failure;
	}

	/** Holds the next serialization. */
	void arm() {
		this.armed.set(true);
	}

	@Override
	public byte[] serialize(String topic, Object data) {
		if (this.armed.compareAndSet(true, false)) {
			this.held.countDown();
			TestProducers.awaitUninterruptibly(this.mayGoOn);
			if (this.failure != null) {
				throw this.failure;
			}
		}
		return this.defaults.serialize(topic, data);
	}

}
