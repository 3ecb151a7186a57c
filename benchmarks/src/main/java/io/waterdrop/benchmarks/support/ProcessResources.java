package io.waterdrop.benchmarks.support;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What this process holds that the JVM's beans do not show: open file descriptors, and TCP connections to a
 * given port (the broker's), read from {@code /proc}. Linux only; elsewhere every figure is -1.
 */
public final class ProcessResources {

	private static final Path FDS = Path.of("/proc/self/fd");

	private static final List<Path> TCP_TABLES = List.of(Path.of("/proc/self/net/tcp"), Path.of("/proc/self/net/tcp6"));

	private static final String ESTABLISHED = "01";

	private ProcessResources() {
	}

	/** File descriptors this process has open, or -1. */
	public static int openFileDescriptors() {
		try (DirectoryStream<Path> fds = Files.newDirectoryStream(FDS)) {
			int count = 0;
			for (Path ignored : fds) {
				count++;
			}
			return count;
		}
		catch (IOException | RuntimeException ex) {
			return -1;
		}
	}

	/**
	 * Established TCP connections of this process to the given remote port: the table of the network
	 * namespace lists every process's sockets, so only those whose inode is one of this process's file
	 * descriptors count.
	 */
	public static int connectionsTo(int remotePort) {
		Set<String> ownSockets = socketInodes();
		if (ownSockets == null) {
			return -1;
		}
		String port = String.format("%04X", remotePort);
		int count = 0;
		try {
			for (Path table : TCP_TABLES) {
				if (!Files.exists(table)) {
					continue;
				}
				List<String> lines = Files.readAllLines(table);
				for (String line : lines.subList(1, lines.size())) {
					String[] fields = line.trim().split("\\s+");
					// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
					if (fields.length > 9 && fields[2].endsWith(":" + port) && fields[3].equals(ESTABLISHED)
							&& ownSockets.contains(fields[9])) {
						count++;
					}
				}
			}
			return count;
		}
		catch (IOException | RuntimeException ex) {
			return -1;
		}
	}

	private static Set<String> socketInodes() {
		Set<String> inodes = new HashSet<>();
		try (DirectoryStream<Path> fds = Files.newDirectoryStream(FDS)) {
			for (Path fd : fds) {
				try {
					String target = Files.readSymbolicLink(fd).toString();
					if (target.startsWith("socket:[")) {
						inodes.add(target.substring("socket:[".length(), target.length() - 1));
					}
				}
				catch (IOException ex) {
					// closed meanwhile
				}
			}
			return inodes;
		}
		catch (IOException | RuntimeException ex) {
			return null;
		}
	}

}
