package io.waterdrop.polling;

/*
 * The fields of ReportQueue, laid out so that the consumer's side and the producers' side never share a
 * cache line. The polling thread writes its cursor on every report it dispatches and Kafka's network thread
 * swaps `top` on every report it offers; on one line, each write would take the line away from the other
 * core (false sharing). HotSpot lays out a superclass's fields before its subclass's, so padding classes in
 * between keep the two sides apart: 128 bytes each, for CPUs that fetch cache lines in pairs. The same
 * layout as JCTools' queues.
 */

abstract class ReportQueueLeftPadding {

	long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;

}

/** The consumer's side: written on every report dispatched, by the polling thread only. */
abstract class ReportQueueConsumerSide extends ReportQueueLeftPadding {

	/** The oldest report taken and not yet dispatched, linked to the newer ones; {@code null} if none. */
	ReportQueue.Node taken;

	/** How many reports {@code taken} holds; written by the consumer, read by {@code size()} on any thread. */
	int takenCount;

}

abstract class ReportQueueMiddlePadding extends ReportQueueConsumerSide {

	long p20, p21, p22, p23, p24, p25, p26, p27, p28, p29, p30, p31, p32, p33, p34, p35;

}

/** The producers' side: swapped on every report offered, and by the consumer once per take. */
abstract class ReportQueueProducerSide extends ReportQueueMiddlePadding {

	/**
	 * The newest report offered and not yet taken, linked to the older ones; or {@code null} (idle: nobody
	 * owns the duty to drain) or the {@code DRAINING} mark (the consumer owns it). See {@link ReportQueue}.
	 */
	volatile ReportQueue.Node top;

}

abstract class ReportQueueRightPadding extends ReportQueueProducerSide {

	long p40, p41, p42, p43, p44, p45, p46, p47, p48, p49, p50, p51, p52, p53, p54, p55;

}
