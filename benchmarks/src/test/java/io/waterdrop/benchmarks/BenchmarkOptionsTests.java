package io.waterdrop.benchmarks;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class BenchmarkOptionsTests {

	@Test
	void defaultsAreTheFullRun() {
		BenchmarkOptions options = BenchmarkOptions.parse();

		assertThat(options.output()).isEqualTo(Path.of("docs", "benchmarks.md"));
		assertThat(options.producers()).containsExactly(1, 2, 5, 10, 25);
		assertThat(options.messages()).isEqualTo(20_000);
		assertThat(options.repeats()).isEqualTo(5);
		assertThat(options.scenarios()).containsExactly(Scenario.values());
	}

	@Test
	void quickIsAPresetThatOtherFlagsOverrideInAnyOrder() {
		BenchmarkOptions options = BenchmarkOptions.parse("--messages", "1000", "--quick", "--scenarios", "sync,handoff");

		assertThat(options.repeats()).isEqualTo(2);
		assertThat(options.messages()).isEqualTo(1000);
		assertThat(options.scenarios()).containsExactly(Scenario.SYNC, Scenario.HANDOFF);
		assertThat(options.arguments()).isEqualTo(List.of("--messages", "1000", "--quick", "--scenarios", "sync,handoff"));
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
	}

}
