/**
 * The {@code waterdrop} health component: an entry per producer, from cached state.
 */
@NullMarked
package io.waterdrop.autoconfigure.health;

import org.jspecify.annotations.NullMarked;
