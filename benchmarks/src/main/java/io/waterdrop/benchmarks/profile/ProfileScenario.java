package io.waterdrop.benchmarks.profile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

import jdk.jfr.Recording;

import io.waterdrop.benchmarks.BenchmarkOptions;
import io.waterdrop.benchmarks.clients.ClientKind;
import io.waterdrop.benchmarks.clients.ProducerFleet;
import io.waterdrop.benchmarks.report.ReportBlock;
import io.waterdrop.benchmarks.support.ClientSettings;
import io.waterdrop.benchmarks.support.Payloads;
import io.waterdrop.benchmarks.support.Progress;
import io.waterdrop.benchmarks.throughput.Measurement;
import io.waterdrop.benchmarks.throughput.ThroughputTrial;
import io.waterdrop.benchmarks.throughput.TrialLimit;

/**
 * Scenario "profile": fd-mode producers sending as in the throughput trial, first unrecorded until the JIT
 * has compiled the hot path, then under a JFR recording of CPU samples and allocation samples. Writes the
 * recording (for {@code jfr view} and JDK Mission Control) and a block {@code profile-<label>} with the top
 * frames and allocation sites of the Poller, Kafka's network threads and the caller threads.
 */
public final class ProfileScenario {

	/** Rows per table: enough to cover most of each thread's samples, few enough to read. */
	private static final int TOP = 10;

	/**
	 * One CPU-time sample per 2 ms of CPU a thread uses: about 20,000 samples over 20 s on two busy cores.
	 * (Where only execution samples exist: one attempt per thread in Java code every 2 ms.)
	 */
	private static final Duration SAMPLE_PERIOD = Duration.ofMillis(2);

	/** Allocation samples per second; JFR's "profile" preset takes 300, more narrows the shares. */
	private static final String ALLOCATION_THROTTLE = "1000/s";

	private final BenchmarkOptions options;

	private final ClientSettings settings;

	private final Path recordingFile;

	public ProfileScenario(BenchmarkOptions options, ClientSettings settings) {
		this.options = options;
		this.settings = settings;
		this.recordingFile = options.profile().recording();
	}

	/** The block's key, {@code profile-<label>}. */
	public String key() {
		return "profile-" + this.options.profile().label();
	}

	public ReportBlock run() {
		BenchmarkOptions.ProfileSettings profile = this.options.profile();
		String topic = "profile-fd-" + profile.producers();
		this.settings.createTopics(List.of(topic));
		byte[] payload = Payloads.random();
		String cpuEvent = JfrProfile.cpuEvent();
		Measurement measured;
		try (ProducerFleet fleet = ClientKind.WATERDROP_FD.open(this.settings, profile.producers(), topic, null)) {
			fleet.prime(payload);
			if (!profile.warmup().isZero()) {
				Progress.log(key(), "warming up for " + profile.warmup().toMillis() + " ms");
				trial(profile.warmup(), payload).measure(fleet, 0);
			}
			Progress.log(key(), "recording for " + profile.duration().toMillis() + " ms");
			try (Recording recording = new Recording()) {
				recording.setName("waterdrop-profile");
				if (cpuEvent.equals(JfrProfile.CPU_TIME_SAMPLE)) {
					recording.enable(cpuEvent).with("throttle", SAMPLE_PERIOD.toMillis() + "ms").withStackTrace();
				}
				// Execution samples too, even beside CPU-time samples: `jfr view hot-methods` reads them.
				recording.enable(JfrProfile.EXECUTION_SAMPLE).withPeriod(SAMPLE_PERIOD).withStackTrace();
				recording.enable(JfrProfile.ALLOCATION_SAMPLE).with("throttle", ALLOCATION_THROTTLE).withStackTrace();
				recording.start();
				measured = trial(profile.duration(), payload).measure(fleet, 0);
				recording.stop();
				Files.createDirectories(this.recordingFile.toAbsolutePath().getParent());
				recording.dump(this.recordingFile);
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not write the recording " + this.recordingFile, ex);
		}
		Progress.log(key(), "wrote " + this.recordingFile.toAbsolutePath());
		JfrProfile recorded = JfrProfile.read(this.recordingFile, cpuEvent);
		return new ReportBlock(key(), describe(recorded, cpuEvent, measured));
	}

	private ThroughputTrial trial(Duration duration, byte[] payload) {
		return new ThroughputTrial(this.settings, new TrialLimit(duration, 0), this.options.window(), payload);
	}

	private String describe(JfrProfile profile, String cpuEvent, Measurement measured) {
		StringBuilder markdown = new StringBuilder(String.format(Locale.ROOT,
				"WaterDrop fd mode, %d producers on the global Poller, sending as in the throughput trial (at most "
						+ "%,d messages in flight each) for %d ms unrecorded, then %d ms under JFR: "
						+ "CPU from `%s` (one sample per %d ms %s), `%s` throttled to %s. The recorded run delivered %,d messages "
						+ "(%s msg/s, %,.0f B and %.2f µs CPU per message, all threads). *share*: of that thread "
						+ "role's CPU samples or sampled bytes; *≈ B / msg*: the sampled bytes (JFR's weight) per "
						+ "message delivered. Frames are `package initials.Class.method[:line]`. Recording: `%s`.%n",
				this.options.profile().producers(), this.options.window(), this.options.profile().warmup().toMillis(),
				this.options.profile().duration().toMillis(), cpuEvent, SAMPLE_PERIOD.toMillis(),
				cpuEvent.equals(JfrProfile.CPU_TIME_SAMPLE) ? "of CPU time per thread, Java and native code"
						: "per thread in Java code",
				JfrProfile.ALLOCATION_SAMPLE, ALLOCATION_THROTTLE, measured.messages(),
				io.waterdrop.benchmarks.report.Format.rate(measured.messagesPerSecond()),
				measured.allocatedPerMessage(), measured.cpuMicrosPerMessage(), this.recordingFile.getFileName()));
		for (ThreadRole role : List.of(ThreadRole.POLLER, ThreadRole.NETWORK, ThreadRole.CALLERS)) {
			markdown.append(String.format(Locale.ROOT, "%n**%s** (%s): %,d CPU samples, ≈ %,.0f B allocated per message.%n%n",
					capitalized(role.label()), role.description(), profile.cpuSamples(role),
					(double) profile.allocatedBytes(role) / measured.messages()));
			markdown.append("CPU, top frames:\n\n").append(profile.cpuTable(role, TOP)).append('\n');
			markdown.append("Allocation sites:\n\n").append(profile.allocationTable(role, TOP, measured.messages()));
		}
		return markdown.toString();
	}

	private static String capitalized(String text) {
		return Character.toUpperCase(text.charAt(0)) + text.substring(1);
	}

}
