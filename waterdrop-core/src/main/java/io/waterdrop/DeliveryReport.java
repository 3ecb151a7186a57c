package io.waterdrop;

import java.time.Instant;

/**
 * Where the broker stored an acknowledged message, plus the message's label.
 *
 * @param topic the topic written to
 * @param partition the partition written to
 * @param offset the offset the broker assigned ({@code -1} when {@code acks=0})
 * @param timestamp the record's timestamp (create time, or log-append time if the topic uses it)
 * @param label the message's label, untouched
 */
public record DeliveryReport(String topic, int partition, long offset, Instant timestamp, Object label) {

}
