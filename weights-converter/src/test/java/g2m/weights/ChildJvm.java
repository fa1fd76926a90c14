package g2m.weights;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A second JVM for tests that need one: signals, the umask. {@link #main} runs a mode: {@code write
 * TARGET} writes a small file through {@link AtomicFiles} and exits; {@code hang TARGET} starts
 * writing one, says "writing" on stdout and waits to be killed.
 */
public final class ChildJvm {
    private ChildJvm() {}

    public static void main(String[] args) throws Exception {
        Path target = Path.of(args[1]);
        switch (args[0]) {
            case "write" -> AtomicFiles.write(target, false, ch -> ch.write(ByteBuffer.wrap("done\n".getBytes(StandardCharsets.UTF_8))));
            case "hang" -> AtomicFiles.write(target, false, ch -> {
                ch.write(ByteBuffer.wrap(new byte[4096]));
                System.out.println("writing");
                System.out.flush();
                try {
                    Thread.sleep(120_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    /** The command that runs {@code mainClass} with this JVM's classpath, under {@code umask} when given. */
    public static List<String> command(String umask, Class<?> mainClass, String... args) {
        List<String> jvm = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), mainClass.getName()));
        jvm.addAll(List.of(args));
        if (umask == null) return jvm;
        List<String> sh = new ArrayList<>(List.of("sh", "-c", "umask " + umask + " && exec \"$@\"", "sh"));
        sh.addAll(jvm);
        return sh;
    }

    /** Runs to the end; fails unless it exits 0. */
    public static void run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child did not finish: " + out);
        assertTrue(p.exitValue() == 0, "child failed (" + p.exitValue() + "): " + out);
    }

    /** Starts it and waits until it prints {@code line} on stdout. */
    public static Process startUntil(List<String> command, String line) throws IOException {
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        for (String l; (l = r.readLine()) != null; ) {
            if (l.equals(line)) return p;
        }
        throw new AssertionError("child ended without printing '" + line + "' (exit " + p.exitValue() + ")");
    }

    /** Sends a signal by name (TERM, INT) and waits for the process to end; returns its exit code. */
    public static int signal(Process p, String signal) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -" + signal + " failed");
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "child did not end after SIG" + signal);
        return p.exitValue();
    }
}
