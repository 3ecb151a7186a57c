package io.waterdrop;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.springframework.asm.ClassReader;
import org.springframework.asm.ClassVisitor;
import org.springframework.asm.MethodVisitor;
import org.springframework.asm.Opcodes;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * WaterDrop's core (the library every producer runs on) holds a monitor ({@code synchronized}) only in the
 * methods listed here, each read to make no blocking call while holding it: on JDK 21–23 a virtual thread
 * that parks holding a monitor pins its carrier. {@code VirtualThreadTests} records pinning only on JDK 24
 * and later, where {@code synchronized} no longer pins, so a new monitor around a wait would pass it unseen;
 * this check reads the compiled classes (Spring's repackaged ASM, on the test class path) and so catches one
 * on every JDK.
 */
class MonitorUseTests {

	/** Each holds a monitor around a few field updates, calling out to nothing that waits. */
	private static final Set<String> READ_AND_NON_BLOCKING = Set.of(
			"io.waterdrop.instrumentation.ErrorLogger.logPerMessageError",
			"io.waterdrop.instrumentation.Monitor.recomputeWanted");

	@Test
	void onlyMethodsReadToMakeNoBlockingCallHoldAMonitor() throws IOException, URISyntaxException {
		Path classes = Path.of(Producer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
		Set<String> holdingAMonitor = new TreeSet<>();
		List<Path> classFiles;
		try (Stream<Path> files = Files.walk(classes)) {
			classFiles = files.filter((file) -> file.toString().endsWith(".class")).toList();
		}
		for (Path classFile : classFiles) {
			try (InputStream in = Files.newInputStream(classFile)) {
				new ClassReader(in).accept(new MonitorFinder(holdingAMonitor), ClassReader.SKIP_DEBUG);
			}
		}

		assertThat(classFiles).as("the compiled classes were found").hasSizeGreaterThan(50);
		assertThat(holdingAMonitor)
			.as("methods holding a monitor; a new one must make no blocking call under it, then be listed here")
			.containsExactlyInAnyOrderElementsOf(READ_AND_NON_BLOCKING);
	}

	/** Collects the methods that are {@code synchronized} or enter a monitor ({@code synchronized} blocks). */
	private static final class MonitorFinder extends ClassVisitor {

		private final Set<String> found;

		private String className = "";

		MonitorFinder(Set<String> found) {
			super(Opcodes.ASM9);
			this.found = found;
		}

		@Override
		public void visit(int version, int access, String name, String signature, String superName,
				String[] interfaces) {
			this.className = name.replace('/', '.');
		}

		@Override
		public MethodVisitor visitMethod(int access, String name, String descriptor, String signature,
				String[] exceptions) {
			String method = this.className + "." + name;
			if ((access & Opcodes.ACC_SYNCHRONIZED) != 0) {
				this.found.add(method);
			}
			return new MethodVisitor(Opcodes.ASM9) {

				@Override
				public void visitInsn(int opcode) {
					if (opcode == Opcodes.MONITORENTER) {
						MonitorFinder.this.found.add(method);
					}
				}

			};
		}

	}

}
