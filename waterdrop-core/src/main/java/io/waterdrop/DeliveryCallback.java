package io.waterdrop;

/**
 * Runs when a message's delivery report is dispatched: on the Poller thread in fd mode, on the producer's
 * dispatch thread in thread mode. Exactly one of the arguments is non-null.
 * <p>
 * Keep it short: on a shared Poller a slow callback delays every producer on it. A callback that throws is
 * reported as {@code error.occurred} (type {@code callbacks.delivery.error}); dispatch goes on.
 */
@FunctionalInterface
public interface DeliveryCallback {

	void onDelivery(DeliveryReport report, DeliveryFailedException failure);

}
