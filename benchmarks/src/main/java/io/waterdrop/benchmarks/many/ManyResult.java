package io.waterdrop.benchmarks.many;

/**
 * What one setup held once its idle producers had settled, sampled while the active ones kept sending.
 *
 * @param connected producers holding a Kafka client
 * @param addedThreads live platform threads beyond those before the producers were created
 * @param networkThreads Kafka network threads ({@code kafka-producer-network-thread | ...})
 * @param waterdropThreads WaterDrop's Poller and dispatch threads ({@code waterdrop.poller...},
 * {@code waterdrop.dispatch-...})
 * @param clientWorkThreads WaterDrop's threads closing idle clients ({@code waterdrop.client-work}), which
 * linger a minute after their last disconnect
 * @param peakAddedThreads most live platform threads, beyond those before, at any time of the setup
 * @param rssGrowthBytes resident set size growth since before the producers were created (-1 unknown)
 * @param heapGrowthBytes heap in use after a full GC, growth since before
 * @param brokerConnections established TCP connections of this process to the broker (-1 unknown)
 * @param addedFileDescriptors open file descriptors beyond those before (-1 unknown)
 * @param activeRate messages per second the active producers had acknowledged during the sampling
 * @param settleMillis time from the last producer's first message until the figures were taken
 */
record ManyResult(int connected, int addedThreads, int networkThreads, int waterdropThreads, int clientWorkThreads,
		int peakAddedThreads,
		long rssGrowthBytes, long heapGrowthBytes, int brokerConnections, int addedFileDescriptors, double activeRate,
		long settleMillis) {

}
