package io.waterdrop.benchmarks;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.waterdrop.benchmarks.clients.ClientKind;
import io.waterdrop.benchmarks.throughput.TrialLimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class BenchmarkOptionsTests {

	@Test
	void defaultsAreTheFullRunOfTheMethod() {
		BenchmarkOptions options = BenchmarkOptions.parse();

		assertThat(options.output()).isEqualTo(Path.of("docs", "benchmarks.md"));
		assertThat(options.producers()).containsExactly(1, 5, 10, 25, 100);
		assertThat(options.trial()).isEqualTo(new TrialLimit(Duration.ofSeconds(3), 0));
		assertThat(options.warmups()).isEqualTo(3);
		assertThat(options.repeats()).isEqualTo(10);
		assertThat(options.callbackMicros()).containsExactly(0, 2, 10, 50);
		assertThat(options.callbackProducers()).containsExactly(1, 5, 25);
		assertThat(options.scenarios()).containsExactly(Scenario.THROUGHPUT, Scenario.CALLBACKS, Scenario.SYNC,
				Scenario.ISOLATION, Scenario.HANDOFF);
		assertThat(options.smoke()).isFalse();
	}

	@Test
	void quickIsASmokePresetThatOtherFlagsOverrideInAnyOrder() {
		BenchmarkOptions options = BenchmarkOptions.parse("--messages", "1000", "--quick", "--scenarios", "sync,handoff");

		assertThat(options.smoke()).isTrue();
		assertThat(options.repeats()).isEqualTo(3);
		assertThat(options.output()).isEqualTo(Path.of("benchmarks", "target", "quick", "benchmarks.md"));
		assertThat(options.trial()).isEqualTo(new TrialLimit(Duration.ofMillis(300), 1000));
		assertThat(options.scenarios()).containsExactly(Scenario.SYNC, Scenario.HANDOFF);
		assertThat(options.arguments()).isEqualTo(List.of("--messages", "1000", "--quick", "--scenarios", "sync,handoff"));
	}

	@Test
	void clientsAlwaysIncludeRawKafkaClientsAndKeepTheTablesOrder() {
		assertThat(BenchmarkOptions.parse().clients()).containsExactly(ClientKind.values());
		assertThat(BenchmarkOptions.parse("--clients", "fd,lean").clients())
			.containsExactly(ClientKind.RAW_KAFKA, ClientKind.LEAN_HANDOFF, ClientKind.WATERDROP_FD);
		assertThatIllegalArgumentException().isThrownBy(() -> BenchmarkOptions.parse("--clients", "fd,kafka"))
			.withMessageContaining("Unknown client 'kafka'");
	}

	@Test
	void theManyProducersScenarioRunsOnlyWhenNamedWithItsOwnSizes() {
		assertThat(BenchmarkOptions.parse().many())
			.isEqualTo(new BenchmarkOptions.ManySettings(1000, 10, Duration.ofSeconds(2), Duration.ofSeconds(5)));
		BenchmarkOptions options = BenchmarkOptions.parse("--scenarios", "many", "--many-producers", "300",
				"--many-active", "5", "--many-idle-ms", "1500");
		assertThat(options.scenarios()).containsExactly(Scenario.MANY);
		assertThat(options.many().producers()).isEqualTo(300);
		assertThat(options.many().idleDisconnect()).isEqualTo(Duration.ofMillis(1500));
		assertThatIllegalArgumentException()
			.isThrownBy(() -> BenchmarkOptions.parse("--many-producers", "5", "--many-active", "6"))
			.withMessage("--many-active 6 exceeds --many-producers 5");
	}

	@Test
	void fewerRoundsThanTheMethodAreSmoke() {
		assertThat(BenchmarkOptions.parse("--repeats", "5").smoke()).isTrue();
		assertThat(BenchmarkOptions.parse("--warmups", "1").smoke()).isTrue();
	}

	@Test
	void profileIsOnlyRunWhenAskedForAndItsLabelNamesBlockAndFile() {
		BenchmarkOptions options = BenchmarkOptions.parse("--scenarios", "profile", "--profile-label", "after");

		assertThat(options.scenarios()).containsExactly(Scenario.PROFILE);
		assertThat(options.profile().label()).isEqualTo("after");
		assertThat(options.profile().recording())
			.isEqualTo(Path.of("benchmarks", "target", "profile", "profile-after.jfr"));
	}

	@Test
	void rejectsUnknownFlagsAndBadValues() {
		assertThatIllegalArgumentException().isThrownBy(() -> BenchmarkOptions.parse("--fast"))
			.withMessageContaining("Unknown option --fast");
		assertThatIllegalArgumentException().isThrownBy(() -> BenchmarkOptions.parse("--repeats", "0"))
			.withMessageContaining("at least 1");
		assertThatIllegalArgumentException().isThrownBy(() -> BenchmarkOptions.parse("--messages"))
			.withMessageContaining("Missing value after --messages");
		assertThatIllegalArgumentException().isThrownBy(() -> BenchmarkOptions.parse("--scenarios", "latency"))
			.withMessageContaining("Unknown scenario 'latency'");
		assertThatIllegalArgumentException().isThrownBy(() -> BenchmarkOptions.parse("--trial-ms", "0"))
			.withMessageContaining("a trial must end somehow");
		assertThatIllegalArgumentException().isThrownBy(() -> BenchmarkOptions.parse("--profile-label", "a b"))
			.withMessageContaining("letters, digits and dashes");
	}

}
