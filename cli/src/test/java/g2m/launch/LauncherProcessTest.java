package g2m.launch;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The launcher's hand-over as a user meets it: the launcher runs on a Java older than 21 (17 on
 * our machines) and starts the engine on this test's JDK. Killing the launcher — SIGTERM as a
 * scheduler or {@code timeout} does, or SIGKILL, which no Java code sees — must not leave the
 * engine running; and JVM options given to the launcher must reach the engine.
 */
class LauncherProcessTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(180)
    void killingTheLauncherStopsTheEngineAndJvmOptionsReachIt() throws Exception {
        String oldJava = javaOlderThan21();
        Assumptions.assumeTrue(oldJava != null, "no Java older than 21 on this machine to run the launcher on");
        for (boolean kill : new boolean[] {false, true}) {
            Process launcher = startLauncher(oldJava, kill ? "kill" : "term");
            ProcessHandle engine = null;
            try {
                engine = awaitChild(launcher);
                List<String> args = arguments(engine);
                assertTrue(args.contains("-Xmx321m"), "-Xmx reaches the engine's JVM: " + args);
                assertTrue(args.contains("-Dg2m.test.forwarded=yes"), "-D reaches the engine's JVM: " + args);
                assertFalse(args.stream().anyMatch(a -> a.startsWith("-javaagent")), args.toString());
                Thread.sleep(1500); // the engine is past start-up and computing
                assertTrue(engine.isAlive(), "the engine runs until the launcher is stopped: " + output(kill));
                if (kill) launcher.destroyForcibly(); // SIGKILL
                else launcher.destroy();              // SIGTERM
                assertTrue(launcher.waitFor(30, TimeUnit.SECONDS), "the launcher stops");
                long t0 = System.nanoTime();
                while (engine.isAlive() && System.nanoTime() - t0 < 15_000_000_000L) Thread.sleep(50);
                assertFalse(engine.isAlive(), (kill ? "SIGKILL" : "SIGTERM") + " to the launcher: the engine (process " + engine.pid()
                        + ") is still running " + (System.nanoTime() - t0) / 1_000_000 + " ms later");
                if (!kill) assertEquals(143, launcher.exitValue(), "SIGTERM's exit status, after the engine stopped");
            } finally { // never leave an engine behind, whatever failed
                if (engine != null) engine.destroyForcibly();
                ProcessHandle.of(launcher.pid()).ifPresent(h -> h.descendants().forEach(ProcessHandle::destroyForcibly));
                launcher.destroyForcibly();
            }
        }
    }

    @Test
    void theLaunchersJvmOptionsAreForwardedButNotAgents() {
        List<String> in = List.of("-Xmx8g", "-Xms1g", "-Xss4m", "-XX:+HeapDumpOnOutOfMemoryError", "-Dfoo=bar", "-ea",
                "-javaagent:/x/jacoco.jar", "-agentlib:jdwp=transport=dt_socket,address=5005", "-Djava.awt.headless=true",
                "-D" + Launcher.PARENT_PROPERTY + "=12", "-Xbootclasspath/a:/x", "-verbose:gc");
        assertEquals(List.of("-Xmx8g", "-Xms1g", "-Xss4m", "-XX:+HeapDumpOnOutOfMemoryError", "-Dfoo=bar", "-ea", "-Djava.awt.headless=true"),
                Launcher.forwardedOptions(in));
    }

    @Test
    void theWatchKnowsItsParent() {
        long parent = ProcessHandle.current().parent().orElseThrow().pid();
        assertTrue(ParentWatch.launcherAlive(parent));
        assertFalse(ParentWatch.launcherAlive(ProcessHandle.current().pid()), "not my parent");
    }

    /** The launcher on {@code java}, with a long CPU bench (one thread, tiny network) as the engine's work. */
    private Process startLauncher(String java, String tag) throws IOException {
        String cp = System.getProperty("java.class.path");
        String tiny = new File(getClass().getResource("/fixtures/tiny_vgg16_zip.pth").getPath()).getPath();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx321m", "-Dg2m.test.forwarded=yes", "-cp", cp, Launcher.class.getName(),
                "bench", "--device", "cpu", "--threads", "1", "--weights", tiny, "--layer", "pool5", "--batch", "1", "--size", "32",
                "--warmup", "0", "--seconds", "300", "--min-runs", "1000000"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(dir.resolve(tag + ".out").toFile())
                .redirectError(dir.resolve(tag + ".err").toFile());
        pb.environment().put("G2M_JAVA_HOME", System.getProperty("java.home"));
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        return pb.start();
    }

    private String output(boolean kill) throws IOException {
        String tag = kill ? "kill" : "term";
        return Files.readString(dir.resolve(tag + ".out")) + Files.readString(dir.resolve(tag + ".err"));
    }

    private static ProcessHandle awaitChild(Process launcher) throws InterruptedException {
        long t0 = System.nanoTime();
        while (System.nanoTime() - t0 < 60_000_000_000L) {
            Optional<ProcessHandle> c = ProcessHandle.of(launcher.pid()).flatMap(h -> h.children().findFirst());
            // the JDK starts a child through jspawnhelper, which then execs java: the child is the
            // engine's JVM once its command line holds the option the launcher always passes first
            if (c.isPresent() && arguments(c.get()).contains("--enable-native-access=ALL-UNNAMED")) return c.get();
            assertTrue(launcher.isAlive(), "the launcher ended before starting the engine, exit " + (launcher.isAlive() ? "" : launcher.exitValue()));
            Thread.sleep(50);
        }
        throw new AssertionError("the launcher started no engine JVM within 60 s");
    }

    /** The process's command line after the program (Linux: /proc/PID/cmdline). */
    private static List<String> arguments(ProcessHandle p) {
        return p.info().arguments().map(List::of).orElse(List.of());
    }

    /** A java of major version 8–20 (the default one on PATH, or one in /usr/lib/jvm), or null. */
    static String javaOlderThan21() {
        List<File> homes = new ArrayList<>();
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            File j = new File(d, "java");
            if (j.canExecute()) {
                try {
                    homes.add(j.toPath().toRealPath().getParent().getParent().toFile());
                } catch (IOException ignored) {
                    // a dangling link: not a java
                }
            }
        }
        File[] jvms = new File("/usr/lib/jvm").listFiles();
        if (jvms != null) homes.addAll(List.of(jvms));
        for (File home : homes) {
            int f = Launcher.releaseFeature(new File(home, "release"));
            File java = new File(home, "bin/java");
            if (f >= 8 && f < Launcher.MIN_FEATURE && java.canExecute()) return java.getPath();
        }
        return null;
    }
}
