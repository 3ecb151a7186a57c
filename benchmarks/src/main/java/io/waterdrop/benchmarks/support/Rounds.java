package io.waterdrop.benchmarks.support;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

/**
 * Runs every case of a scenario once per round, warm-up rounds first (discarded), then the measured ones.
 * Cases are interleaved and their order is shuffled anew each round (with a fixed seed, so a rerun uses the
 * same orders): machine drift and "who ran after whom" affect every case alike. The first round runs them
 * in the order given (scenarios list their lightest cases first): the JIT compiles the clients' send paths
 * during it, and where it compiles them first under the heaviest case (100 senders) every client of the JVM
 * allocated about 170 B per message more for the rest of the run (docs/benchmarks.md, "the allocation
 * shift").
 */
public final class Rounds {

	private Rounds() {
	}

	/**
	 * @return each case's measured results in round order, so results of one round line up across cases
	 */
	public static <C, R> Map<C, List<R>> run(String scenario, List<C> cases, int warmups, int repeats,
			Function<C, R> trial) {
		Map<C, List<R>> results = new LinkedHashMap<>();
		cases.forEach((c) -> results.put(c, new ArrayList<>()));
		Random order = new Random(42);
		int rounds = warmups + repeats;
		for (int round = 0; round < rounds; round++) {
			List<C> shuffled = new ArrayList<>(cases);
			if (round > 0) {
				Collections.shuffle(shuffled, order);
			}
			boolean warmup = round < warmups;
			String label = warmup ? "warm-up " + (round + 1) + "/" + warmups
					: "round " + (round - warmups + 1) + "/" + repeats;
			for (C c : shuffled) {
				R result = trial.apply(c);
				Progress.log(scenario, label + " " + c + ": " + result);
				if (!warmup) {
					results.get(c).add(result);
				}
			}
		}
		return results;
	}

}
