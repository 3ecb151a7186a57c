package io.waterdrop;

import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import io.waterdrop.instrumentation.ProducerEvent;

/**
 * The open transaction handed to a {@link Producer#transaction transaction} block. Valid only inside the
 * block and on the thread running it; every message produced through it (or through the producer on that
 * thread) is part of the transaction.
 */
public final class Transaction {

	private final Producer producer;

	Transaction(Producer producer) {
		this.producer = producer;
	}

	public DeliveryHandle produceAsync(Message message) {
		return this.producer.produceAsync(message);
	}

	public DeliveryReport produceSync(Message message) {
		return this.producer.produceSync(message);
	}

	public List<DeliveryHandle> produceManyAsync(List<Message> messages) {
		return this.producer.produceManyAsync(messages);
	}

	/**
	 * Commits consumer offsets with this transaction (consume-transform-produce): they count only if the
	 * transaction commits.
	 * @throws IllegalStateException if the transaction is a bound one suspended on this thread (offsets would
	 * otherwise commit with a transaction that the thread's current scope set aside), or one whose end another
	 * thread claimed (its commit or abort has begun: the offsets would count in no transaction or the wrong one)
	 */
	public void markAsConsumed(Map<TopicPartition, OffsetAndMetadata> offsets, ConsumerGroupMetadata group) {
		if (this.producer.inSuspendedTransaction()) {
			throw new IllegalStateException("Cannot mark offsets as consumed in the transaction of producer '"
					+ this.producer.id() + "': it is suspended on this thread (an inner scope such as Spring's "
					+ "REQUIRES_NEW or NOT_SUPPORTED set it aside); mark them in the outer scope");
		}
		this.producer.sendOffsetsToTransaction(offsets, group);
		this.producer.monitor()
			.publish(new ProducerEvent.TransactionMarkedAsConsumed(this.producer.id(), Map.copyOf(offsets),
					group.groupId()));
	}

	/** Rolls the transaction back quietly: {@code transaction} returns {@code null}. */
	public void abort() {
		throw new AbortTransaction();
	}

}
