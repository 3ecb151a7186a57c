/**
 * Micrometer Observation of WaterDrop sends: an observation per message from the send to its delivery
 * report, whose context (with a tracer) is propagated into the record headers.
 */
@NullMarked
package io.waterdrop.autoconfigure.observation;

import org.jspecify.annotations.NullMarked;
