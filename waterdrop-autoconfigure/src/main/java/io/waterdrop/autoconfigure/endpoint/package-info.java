/**
 * The {@code waterdrop} Actuator endpoint.
 */
@NullMarked
package io.waterdrop.autoconfigure.endpoint;

import org.jspecify.annotations.NullMarked;
