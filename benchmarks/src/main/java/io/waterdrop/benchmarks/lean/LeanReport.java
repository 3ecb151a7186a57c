package io.waterdrop.benchmarks.lean;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.RecordMetadata;

import io.waterdrop.benchmarks.clients.DeliveryListener;

/**
 * The one object the lean hand-off allocates per message: Kafka's {@link Callback} for the send, the
 * delivery report (metadata or exception in plain fields) and the node of its producer's
 * {@link LeanReportQueue}, all in one.
 * <p>
 * Deliberately bare: no once-only claim against a second callback for the same record (Kafka calls back
 * twice only on fenced or aborted transactional paths, which the benchmarks never take), no timestamps, no
 * future. It is the floor a full-featured hand-off is measured against, not a product.
 */
public final class LeanReport implements Callback {

	private final LeanReportQueue queue;

	private final DeliveryListener listener;

	/** Carried to the Selector thread as a real report would be, though the benchmarks only count. */
	@SuppressWarnings("unused")
	private RecordMetadata metadata;

	private Exception exception;

	/** Written by the pushing thread before the queue's CAS publishes it; read by the draining thread. */
	LeanReport next;

	/** @param listener told on the Selector thread when the report is dispatched */
	public LeanReport(LeanReportQueue queue, DeliveryListener listener) {
		this.queue = queue;
		this.listener = listener;
	}

	/** Kafka's network thread (or the sending thread, for a send refused at once) hands the report over. */
	@Override
	public void onCompletion(RecordMetadata metadata, Exception exception) {
		this.metadata = metadata;
		this.exception = exception;
		this.queue.push(this);
	}

	void dispatch() {
		this.listener.delivered(this.exception);
	}

}
