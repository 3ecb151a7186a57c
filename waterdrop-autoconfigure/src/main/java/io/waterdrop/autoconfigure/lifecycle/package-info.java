/**
 * Connecting the context's producers on start and closing them, each with its close timeout, on shutdown.
 */
@NullMarked
package io.waterdrop.autoconfigure.lifecycle;

import org.jspecify.annotations.NullMarked;
