/**
 * Producers that store their messages in memory instead of sending them, for tests.
 */
@NullMarked
package io.waterdrop.autoconfigure.inmemory;

import org.jspecify.annotations.NullMarked;
