package io.waterdrop;

import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * What Kafka's network thread hands over for one message: the metadata or the error, nothing else. All
 * work on it happens later, on the polling thread.
 *
 * @param handle the message's handle
 * @param metadata where the message landed, or {@code null} on failure
 * @param error why it failed, or {@code null}
 * @param purged whether it failed because of a forced close
 */
record Completion(DeliveryHandle handle, RecordMetadata metadata, Exception error, boolean purged) {

}
