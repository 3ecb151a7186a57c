package io.waterdrop.testing.broker;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Uuid;

/**
 * A real single-node Apache Kafka broker (KRaft, broker and controller in one process) running in its
 * own JVM, for benchmarks and fault tests that must not share CPU, heap or threads with the code under
 * test.
 * <p>
 * The broker runs {@code kafka.Kafka} with the classpath that this module's build resolved into the
 * {@code broker.classpath} resource, on the same {@code java} as the current JVM, with a 256-512 MB heap.
 * The first {@link #start()} creates a temporary directory, picks free ports on 127.0.0.1 (or uses the
 * fixed broker port given to the constructor), writes {@code server.properties} and formats the storage.
 * {@link #stop()} sends SIGTERM, so the broker shuts down cleanly, and {@link #start()} (or
 * {@link #restart()}) brings it back on the same ports with the same data: fault tests can stop the
 * broker mid-stream and start it again. {@link #close()} stops the broker and deletes the directory; a
 * JVM shutdown hook does the same if the owner never gets to call it. A SIGKILLed owner JVM runs no hook
 * and leaves the broker running.
 * <p>
 * The broker's output, across restarts, goes to {@link #logFile()}; failures to start quote its tail.
 * <p>
 * Threading: not thread-safe. One owner thread calls {@code start}, {@code stop}, {@code restart} and
 * {@code close}; other threads may only read {@link #bootstrapServers()} once {@code start} has returned
 * (and the start happens-before their reads). The shutdown hook touches only volatile fields and the
 * directory captured when it was registered.
 */
public final class KafkaBrokerProcess implements AutoCloseable {

	private static final String CLASSPATH_RESOURCE = "broker.classpath";

	private static final String HOST = "127.0.0.1";

	private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

	private static final Duration STOP_TIMEOUT = Duration.ofSeconds(15);

	private static final int LOG_TAIL_LINES = 40;

	private final int requestedPort;

	private String classpath;

	private Path directory;

	private int port;

	private int controllerPort;

	private volatile Process process;

	private Thread shutdownHook;

	private volatile boolean jvmShuttingDown;

	private boolean closed;

	/**
	 * A broker on free ports, picked at the first {@link #start()}.
	 */
	public KafkaBrokerProcess() {
		this(0);
	}

	/**
	 * A broker whose PLAINTEXT listener is on the given port of 127.0.0.1.
	 * @param port the broker port, or 0 for a free one picked at the first {@link #start()}; the controller
	 * port is always a free one
	 */
	public KafkaBrokerProcess(int port) {
		if (port < 0 || port > 65535) {
			throw new IllegalArgumentException("Port must be between 0 and 65535, was " + port);
		}
		this.requestedPort = port;
	}

	/**
	 * Starts the broker and waits until it serves requests. The first call prepares and formats a fresh
	 * directory; later calls (after {@link #stop()}) reuse its ports and data.
	 * @throws IllegalStateException if the broker is running or closed, if the fixed port is taken, or if
	 * the broker did not become ready within 60 seconds (the message then quotes its log). A failed first
	 * start closes this instance; a failed later start stops the broker and keeps its data.
	 */
	public void start() {
		if (this.closed) {
			throw new IllegalStateException("Kafka broker process is closed");
		}
		if (isRunning()) {
			throw new IllegalStateException("Kafka broker is already running at " + bootstrapServers());
		}
		long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
		boolean first = this.directory == null;
		try {
			if (first) {
				prepare();
			}
			this.process = launch("kafka.Kafka", serverProperties().toString());
			awaitReady(deadline);
		}
		catch (RuntimeException ex) {
			// A half-prepared directory is no use to a retry; formatted data is.
			if (first) {
				close();
			}
			else {
				stop();
			}
			throw ex;
		}
	}

	/**
	 * Stops the broker if it runs: SIGTERM for a clean shutdown, then SIGKILL if it has not exited within
	 * 15 seconds. Its ports and data are kept for the next {@link #start()}.
	 */
	public void stop() {
		Process running = this.process;
		if (running != null) {
			terminate(running);
			this.process = null;
		}
	}

	/**
	 * Stops the broker if it runs, then starts it again on the same ports with the same data.
	 */
	public void restart() {
		stop();
		start();
	}

	/**
	 * Whether the broker process is alive (it may still be starting or stopping).
	 * @return whether the broker process is alive
	 */
	public boolean isRunning() {
		Process running = this.process;
		return running != null && running.isAlive();
	}

	/**
	 * The broker's operating-system process id, for reading what it costs (its CPU time in {@code /proc}).
	 * @return the id of the running broker process
	 * @throws IllegalStateException if the broker is not running
	 */
	public long pid() {
		Process running = this.process;
		if (running == null) {
			throw new IllegalStateException("Kafka broker is not running");
		}
		return running.pid();
	}

	/**
	 * The address for {@code bootstrap.servers}; stable across {@link #stop()} and {@link #start()}.
	 * @return {@code 127.0.0.1:port}
	 * @throws IllegalStateException if the broker was never started
	 */
	public String bootstrapServers() {
		if (this.port == 0) {
			throw new IllegalStateException("Kafka broker was never started");
		}
		return HOST + ":" + this.port;
	}

	/**
	 * The file that receives the broker's output across restarts; deleted by {@link #close()}.
	 * @return the log file
	 * @throws IllegalStateException if the broker was never started
	 */
	public Path logFile() {
		if (this.directory == null) {
			throw new IllegalStateException("Kafka broker was never started");
		}
		return this.directory.resolve("broker.log");
	}

	/**
	 * Stops the broker and deletes its directory. Idempotent; the instance cannot be started again.
	 */
	@Override
	public void close() {
		if (this.closed) {
			return;
		}
		this.closed = true;
		stop();
		if (this.shutdownHook != null) {
			try {
				Runtime.getRuntime().removeShutdownHook(this.shutdownHook);
			}
			catch (IllegalStateException ex) {
				// The JVM is shutting down: the hook does the same work.
			}
		}
		deleteRecursively(this.directory);
	}

	private void prepare() {
		this.classpath = readClasspath();
		try {
			this.port = (this.requestedPort != 0) ? requireFree(this.requestedPort) : freePort(0);
			this.controllerPort = freePort(this.port);
			this.directory = Files.createTempDirectory("kafka-broker-");
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		// Registered before anything is written, so that no exit leaves a directory or a broker behind.
		Path dir = this.directory;
		this.shutdownHook = new Thread(() -> {
			this.jvmShuttingDown = true;
			Process running = this.process;
			if (running != null) {
				terminate(running);
			}
			deleteRecursively(dir);
		}, "kafka-broker-process-shutdown");
		Runtime.getRuntime().addShutdownHook(this.shutdownHook);
		writeConfiguration();
		format();
	}

	private void writeConfiguration() {
		String plaintext = "PLAINTEXT://" + HOST + ":" + this.port;
		String controller = "CONTROLLER://" + HOST + ":" + this.controllerPort;
		List<String> server = List.of("process.roles=broker,controller", "node.id=1",
				"controller.quorum.bootstrap.servers=" + HOST + ":" + this.controllerPort,
				"listeners=" + plaintext + "," + controller, "advertised.listeners=" + plaintext + "," + controller,
				"controller.listener.names=CONTROLLER", "inter.broker.listener.name=PLAINTEXT",
				"listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
				"log.dirs=" + this.directory.resolve("data").toString().replace("\\", "\\\\"), "num.partitions=1",
				"offsets.topic.replication.factor=1", "transaction.state.log.replication.factor=1",
				"transaction.state.log.min.isr=1", "share.coordinator.state.topic.replication.factor=1",
				"share.coordinator.state.topic.min.isr=1", "group.initial.rebalance.delay.ms=0",
				"auto.create.topics.enable=true");
		// The gist of Kafka's config/log4j2.yaml: INFO to stdout, which start() sends to broker.log. Log4j's
		// own shutdown hook would silence the broker halfway through its shutdown; stdout needs no flushing.
		List<String> log4j = List.of("shutdownHook=disable", "appender.stdout.type=Console", "appender.stdout.name=STDOUT",
				"appender.stdout.layout.type=PatternLayout", "appender.stdout.layout.pattern=[%d] %p %m (%c)%n",
				"rootLogger.level=INFO", "rootLogger.appenderRef.stdout.ref=STDOUT");
		try {
			Files.write(serverProperties(), server);
			Files.write(log4jProperties(), log4j);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	private void format() {
		// Uuid.randomUuid() is what "StorageTool random-uuid" prints; calling it here saves a JVM start.
		Process formatter = launch("kafka.tools.StorageTool", "format", "-t", Uuid.randomUuid().toString(), "-c",
				serverProperties().toString(), "--standalone");
		try {
			if (!formatter.waitFor(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
				formatter.destroyForcibly();
				throw failure("Formatting the Kafka storage timed out");
			}
		}
		catch (InterruptedException ex) {
			formatter.destroyForcibly();
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted while formatting the Kafka storage", ex);
		}
		if (formatter.exitValue() != 0) {
			throw failure("Formatting the Kafka storage failed with exit code " + formatter.exitValue());
		}
	}

	private Process launch(String mainClass, String... args) {
		Path java = Path.of(System.getProperty("java.home"), "bin", "java");
		List<String> command = new ArrayList<>(List.of(java.toString(), "-Xms256m", "-Xmx512m",
				"-Djava.awt.headless=true", "-Dlog4j2.configurationFile=" + log4jProperties(), "-cp", this.classpath,
				mainClass));
		command.addAll(Arrays.asList(args));
		try {
			return new ProcessBuilder(command).directory(this.directory.toFile())
				.redirectErrorStream(true)
				.redirectOutput(Redirect.appendTo(logFile().toFile()))
				.start();
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not launch " + mainClass, ex);
		}
	}

	private void awaitReady(long deadline) {
		// The port opens before the broker has caught up with the metadata log: only a describeCluster
		// answer that lists the node proves it serves requests.
		Map<String, Object> config = Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
				AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000, AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
				5000);
		Admin admin = null;
		try {
			while (true) {
				if (!this.process.isAlive()) {
					throw failure("Kafka broker exited with code " + this.process.exitValue() + " while starting");
				}
				long remaining = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
				if (remaining <= 0) {
					throw failure("Kafka broker did not become ready at " + bootstrapServers() + " within "
							+ START_TIMEOUT.toSeconds() + " s");
				}
				if (admin == null && acceptsConnections()) {
					admin = Admin.create(config);
				}
				if (admin != null && hasNodes(admin, Math.min(remaining, 5000))) {
					return;
				}
				Thread.sleep(100);
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted while waiting for the Kafka broker", ex);
		}
		finally {
			if (admin != null) {
				admin.close(Duration.ZERO);
			}
		}
	}

	private boolean acceptsConnections() {
		try (Socket socket = new Socket()) {
			socket.connect(new InetSocketAddress(HOST, this.port), 1000);
			return true;
		}
		catch (IOException ex) {
			return false;
		}
	}

	private static boolean hasNodes(Admin admin, long timeoutMillis) throws InterruptedException {
		try {
			return !admin.describeCluster(new DescribeClusterOptions().timeoutMs((int) timeoutMillis))
				.nodes()
				.get(timeoutMillis, TimeUnit.MILLISECONDS)
				.isEmpty();
		}
		catch (ExecutionException | TimeoutException ex) {
			return false;
		}
	}

	private IllegalStateException failure(String message) {
		return new IllegalStateException(message + "; last lines of " + logFile() + ":\n" + logTail());
	}

	private String logTail() {
		// Only the end of the file: after a long benchmark the log can be large.
		try (RandomAccessFile file = new RandomAccessFile(logFile().toFile(), "r")) {
			long start = Math.max(0, file.length() - 16 * 1024);
			byte[] bytes = new byte[(int) (file.length() - start)];
			file.seek(start);
			file.readFully(bytes);
			List<String> lines = new String(bytes, StandardCharsets.UTF_8).lines().toList();
			return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
		}
		catch (IOException ex) {
			return "(unreadable: " + ex + ")";
		}
	}

	private Path serverProperties() {
		return this.directory.resolve("server.properties");
	}

	private Path log4jProperties() {
		return this.directory.resolve("log4j2.properties");
	}

	private static String readClasspath() {
		String classpath;
		try (InputStream in = KafkaBrokerProcess.class.getResourceAsStream(CLASSPATH_RESOURCE)) {
			if (in == null) {
				throw new IllegalStateException("No " + CLASSPATH_RESOURCE + " resource next to "
						+ KafkaBrokerProcess.class.getName() + ": build the kafka-broker-process module with Maven");
			}
			classpath = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		// The paths point into the local repository of the build that wrote them; say so rather than
		// letting the broker die of a NoClassDefFoundError.
		for (String entry : classpath.split(File.pathSeparator)) {
			if (!Files.exists(Path.of(entry))) {
				throw new IllegalStateException("Broker classpath entry " + entry
						+ " does not exist: rebuild the kafka-broker-process module on this machine");
			}
		}
		return classpath;
	}

	private static int requireFree(int port) {
		try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getByName(HOST))) {
			return socket.getLocalPort();
		}
		catch (IOException ex) {
			throw new IllegalStateException("Port " + HOST + ":" + port + " is not free", ex);
		}
	}

	private static int freePort(int excluded) throws IOException {
		// Bind-and-release leaves a small window in which another process could take the port; the
		// broker would then fail to start with "Address already in use" in the quoted log.
		while (true) {
			try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
				if (socket.getLocalPort() != excluded) {
					return socket.getLocalPort();
				}
			}
		}
	}

	private static void terminate(Process process) {
		process.destroy();
		try {
			if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
				process.destroyForcibly().waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
			}
		}
		catch (InterruptedException ex) {
			process.destroyForcibly();
			Thread.currentThread().interrupt();
		}
	}

	private static void deleteRecursively(Path directory) {
		if (directory == null || !Files.exists(directory)) {
			return;
		}
		try (Stream<Path> paths = Files.walk(directory)) {
			paths.sorted(Comparator.reverseOrder()).forEach((path) -> path.toFile().delete());
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	/**
	 * Runs a broker until this JVM is terminated (its shutdown hook then stops the broker and deletes its
	 * directory) or the broker exits (this JVM then exits with status 1). Used by
	 * {@code scripts/kafka-broker.sh}.
	 * @param args optionally the broker port; a free one by default
	 * @throws InterruptedException if interrupted while waiting for the broker to exit
	 */
	public static void main(String[] args) throws InterruptedException {
		KafkaBrokerProcess broker = new KafkaBrokerProcess((args.length > 0) ? Integer.parseInt(args[0]) : 0);
		broker.start();
		System.out.println("Kafka broker ready: bootstrap.servers=" + broker.bootstrapServers());
		System.out.println("Kafka broker log: " + broker.logFile());
		int exitCode = broker.process.waitFor();
		if (broker.jvmShuttingDown) {
			return;
		}
		System.err.println("Kafka broker exited with code " + exitCode + "; last lines of its log:\n" + broker.logTail());
		System.exit(1);
	}

}
