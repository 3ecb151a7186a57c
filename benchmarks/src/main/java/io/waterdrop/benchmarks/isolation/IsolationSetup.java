package io.waterdrop.benchmarks.isolation;

/**
 * Where the measured producer B is dispatched, and whether producer A with its slow callback runs beside
 * it (always on the global Poller).
 */
enum IsolationSetup {

	ALONE("B alone on the global Poller (baseline)", false, null, Placement.GLOBAL),

	SHARED("B beside A on the global Poller (default settings: A yields after min-time 1 ms)", true, null,
			Placement.GLOBAL),

	SHARED_NO_YIELD("B beside A on the global Poller, no yielding (A's min-time = max-time 100 ms, as before)",
			true, null, Placement.GLOBAL, false),

	SHARED_SHORT_SLICE("B beside A on the global Poller, no yielding, A with max-time 10 ms", true, 10,
			Placement.GLOBAL, false),

	DEDICATED("B on a dedicated Poller, A on the global one", true, null, Placement.DEDICATED),

	THREAD_MODE("B in thread mode, A on the global Poller", true, null, Placement.THREAD);

	/** What dispatches B's reports. */
	enum Placement {

		GLOBAL, DEDICATED, THREAD

	}

	private final String label;

	private final boolean slowNeighbour;

	private final Integer neighbourMaxTimeMs;

	private final Placement placement;

	private final boolean neighbourYields;

	IsolationSetup(String label, boolean slowNeighbour, Integer neighbourMaxTimeMs, Placement placement) {
		this(label, slowNeighbour, neighbourMaxTimeMs, placement, true);
	}

	IsolationSetup(String label, boolean slowNeighbour, Integer neighbourMaxTimeMs, Placement placement,
			boolean neighbourYields) {
		this.label = label;
		this.slowNeighbour = slowNeighbour;
		this.neighbourMaxTimeMs = neighbourMaxTimeMs;
		this.placement = placement;
		this.neighbourYields = neighbourYields;
	}

	/** Whether A's slices yield to B after min-time (the default rule). */
	boolean neighbourYields() {
		return this.neighbourYields;
	}

	String label() {
		return this.label;
	}

	boolean slowNeighbour() {
		return this.slowNeighbour;
	}

	/** A's {@code max-time} in ms, or {@code null} for the default (100 ms). */
	Integer neighbourMaxTimeMs() {
		return this.neighbourMaxTimeMs;
	}

	Placement placement() {
		return this.placement;
	}

	@Override
	public String toString() {
		return this.label;
	}

}
