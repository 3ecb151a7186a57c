/**
 * Spring-managed transactions for transactional WaterDrop producers: Kafka transactions synchronized with
 * the outer Spring transaction, and a {@code PlatformTransactionManager} per transactional producer.
 */
@NullMarked
package io.waterdrop.autoconfigure.transaction;

import org.jspecify.annotations.NullMarked;
