/**
 * Spring Boot auto-configuration for WaterDrop producers and Pollers: the properties, the producer and
 * Poller beans, and the types applications use ({@link io.waterdrop.autoconfigure.WaterDropProducers},
 * customizers, event listeners).
 */
@NullMarked
package io.waterdrop.autoconfigure;

import org.jspecify.annotations.NullMarked;
