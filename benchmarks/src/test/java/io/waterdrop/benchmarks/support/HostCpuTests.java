package io.waterdrop.benchmarks.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class HostCpuTests {

	@TempDir
	Path directory;

	@Test
	void hostTicksCountIdleAndIowaitAsNotBusyAndStealAsBusy() throws IOException {
		// user nice system idle iowait irq softirq steal guest guest_nice
		Path stat = write("stat", "cpu  100 5 40 800 20 3 2 30 7 0\ncpu0 50 2 20 400 10 1 1 15 3 0\nintr 1\n");

		assertThat(HostCpu.hostTicks(stat)).containsExactly(180, 1000);
	}

	@Test
	void processTicksAddUserAndSystemTimeAfterACommandNameWithSpacesAndParentheses() throws IOException {
		Path stat = write("pid-stat",
				"4242 (java (broker) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 567 8 9 20 0 60 0 100 200 300\n");

		assertThat(HostCpu.processTicks(stat)).isEqualTo(1234 + 567);
	}

	@Test
	void unreadableFilesGiveUnknownFigures() {
		Path missing = this.directory.resolve("missing");

		assertThat(HostCpu.hostTicks(missing)).containsExactly(-1, -1);
		assertThat(HostCpu.processTicks(missing)).isEqualTo(-1);
		assertThat(new HostCpu.Reading(-1, -1, -1).since(new HostCpu.Reading(-1, -1, -1)))
			.isEqualTo(new HostCpu.Usage(-1, -1));
	}

	@Test
	void usageIsTheBusyShareAndTheBrokersTicksAsNanoseconds() {
		HostCpu.Usage usage = new HostCpu.Reading(1_150, 1_200, 90).since(new HostCpu.Reading(1_000, 1_000, 40));

		assertThat(usage.hostBusy()).isCloseTo(0.75, within(1e-9));
		assertThat(usage.brokerCpuNanos()).isEqualTo(50 * 10_000_000L);
	}

	@Test
	@EnabledOnOs(OS.LINUX)
	void readsThisHostAndAProcessOfIt() {
		HostCpu.Reading reading = new HostCpu(ProcessHandle.current().pid()).read();

		assertThat(reading.hostTotalTicks()).isPositive();
		assertThat(reading.hostBusyTicks()).isBetween(0L, reading.hostTotalTicks());
		assertThat(reading.brokerTicks()).isNotNegative();
		assertThat(new HostCpu(-1).read().brokerTicks()).isEqualTo(-1);
	}

	private Path write(String name, String content) throws IOException {
		Path file = this.directory.resolve(name);
		Files.writeString(file, content);
		return file;
	}

}
