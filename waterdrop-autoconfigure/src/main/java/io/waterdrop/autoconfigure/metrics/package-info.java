/**
 * WaterDrop's meters and Kafka's client meters of WaterDrop's clients on one shared rescan thread.
 */
@NullMarked
package io.waterdrop.autoconfigure.metrics;

import org.jspecify.annotations.NullMarked;
