package g2m.launch;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.reflect.InvocationTargetException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * The jar's entry point, compiled for Java 8 so that {@code java -jar g2m-engine.jar} works
 * even where the default {@code java} is older than the engine's baseline (Java 17 on our
 * machines). On Java 21+ it calls the CLI directly; otherwise it looks for a JDK 21+
 * ($G2M_JAVA_HOME, $JAVA_HOME, then the usual install folders) and runs the CLI there, or
 * explains in one line what to install.
 *
 * <p>The handed-over JVM acts as this one would: it gets the JVM options given to the launcher
 * ({@code -Xmx}, {@code -D…}; see {@link #forwardedOptions}), a SIGTERM or SIGINT to the
 * launcher is passed on to it (and the launcher waits for it to finish cleaning up), and if the
 * launcher is killed outright (SIGKILL, which no Java code can see) the child notices within a
 * fraction of a second and exits too ({@link ParentWatch}).
 *
 * <p>The class it hands over to is the manifest's {@code G2M-Main-Class} (the benchmarks jar names
 * JMH's main there), else the CLI.
 */
public final class Launcher {
    static final int MIN_FEATURE = 21;
    static final String CLI = "g2m.cli.Main";
    static final String MAIN_ATTRIBUTE = "G2M-Main-Class";
    /** Set on the child: the launcher's process id, which the child watches. */
    static final String PARENT_PROPERTY = "g2m.launch.parent";
    /** How long the launcher, itself stopping, gives the child to finish (delete temp files) after SIGTERM. */
    static final long CHILD_GRACE_SECONDS = 10;

    private Launcher() {}

    public static void main(String[] args) throws Exception {
        int running = feature(System.getProperty("java.specification.version"));
        File jar = new File(Launcher.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        String target = mainClass(jar);
        if (running >= MIN_FEATURE) {
            String parent = System.getProperty(PARENT_PROPERTY);
            // by name: ParentWatch is compiled for Java 21 (it uses ProcessHandle)
            if (parent != null) Class.forName("g2m.launch.ParentWatch").getMethod("start", String.class).invoke(null, parent);
            try {
                Class.forName(target).getMethod("main", String[].class).invoke(null, (Object) args);
            } catch (InvocationTargetException e) {
                Throwable t = e.getCause();
                System.err.println("g2m-engine: internal error: " + (t.getMessage() == null ? "the program failed to start" : t.getMessage()));
                System.exit(1);
            }
            return;
        }
        String java = findJava();
        if (java == null) {
            System.err.println("g2m-engine: needs Java " + MIN_FEATURE + " or newer, but this is Java " + running + " ("
                    + System.getProperty("java.home") + "); install a JDK " + MIN_FEATURE
                    + "+ or set G2M_JAVA_HOME to one");
            System.exit(2);
        }
        List<String> cmd = new ArrayList<String>();
        cmd.add(java);
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(forwardedOptions(ManagementFactory.getRuntimeMXBean().getInputArguments()));
        String pid = ownPid();
        if (pid != null) cmd.add("-D" + PARENT_PROPERTY + "=" + pid);
        cmd.add("-cp");
        // from a jar: that jar; from classes folders (tests, an IDE): this JVM's whole class path
        cmd.add(jar.isFile() ? jar.getPath() : System.getProperty("java.class.path"));
        cmd.add(pid != null ? Launcher.class.getName() : target); // the child's Launcher starts the watch, then the target
        cmd.addAll(Arrays.asList(args));
        final Process p = new ProcessBuilder(cmd).inheritIO().start();
        // SIGTERM / SIGINT / System.exit here: stop the child too, and let it clean up first
        Runtime.getRuntime().addShutdownHook(new Thread(new Runnable() {
            @Override
            public void run() {
                stop(p);
            }
        }, "g2m-launcher-stop-child"));
        System.exit(p.waitFor());
    }

    /** Asks the child to stop (SIGTERM: its shutdown hooks run), then kills it if it has not within the grace time. */
    static void stop(Process p) {
        if (!p.isAlive()) return;
        p.destroy();
        try {
            if (!p.waitFor(CHILD_GRACE_SECONDS, TimeUnit.SECONDS)) p.destroyForcibly();
        } catch (InterruptedException e) {
            p.destroyForcibly();
        }
    }

    /**
     * The launcher's JVM options that the child should get too: heap and stack sizes ({@code
     * -Xmx}, {@code -Xms}, {@code -Xss}), {@code -XX:} options, system properties ({@code -D}) and
     * assertion switches. Not agents ({@code -javaagent}, {@code -agentlib}: a debugger or
     * profiler would try to attach twice, to the same port), nor the class path, nor anything
     * else a Java 8–17 JVM accepts but a newer one may not.
     */
    static List<String> forwardedOptions(List<String> inputArguments) {
        List<String> out = new ArrayList<String>();
        for (String a : inputArguments) {
            if (a.startsWith("-Xmx") || a.startsWith("-Xms") || a.startsWith("-Xss") || a.startsWith("-XX:")
                    || (a.startsWith("-D") && !a.startsWith("-D" + PARENT_PROPERTY + "="))
                    || a.equals("-ea") || a.equals("-da") || a.startsWith("-ea:") || a.startsWith("-da:")
                    || a.equals("-esa") || a.equals("-dsa")
                    || a.startsWith("-enableassertions") || a.startsWith("-disableassertions")) {
                out.add(a);
            }
        }
        return out;
    }

    /** This JVM's process id ("1234@host" from the runtime bean on Java 8), or null if it cannot be told. */
    static String ownPid() {
        String name = ManagementFactory.getRuntimeMXBean().getName();
        int at = name.indexOf('@');
        String pid = at > 0 ? name.substring(0, at) : "";
        for (int i = 0; i < pid.length(); i++) if (!Character.isDigit(pid.charAt(i))) return null;
        return pid.isEmpty() ? null : pid;
    }

    /** The manifest's G2M-Main-Class of the jar we run from, else the CLI (also when not run from a jar). */
    static String mainClass(File jar) {
        if (!jar.isFile()) return CLI;
        try (JarFile jf = new JarFile(jar)) {
            Manifest m = jf.getManifest();
            String v = m == null ? null : m.getMainAttributes().getValue(MAIN_ATTRIBUTE);
            return v == null || v.trim().isEmpty() ? CLI : v.trim();
        } catch (IOException e) {
            return CLI;
        }
    }

    /** "1.8" -> 8, "17" -> 17, "25" -> 25; unparsable -> 0. */
    static int feature(String spec) {
        if (spec == null) return 0;
        String s = spec.startsWith("1.") ? spec.substring(2) : spec;
        int end = 0;
        while (end < s.length() && Character.isDigit(s.charAt(end))) end++;
        try {
            return Integer.parseInt(s.substring(0, end));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** The newest JDK/JRE >= 21 found, as the path of its bin/java, or null. */
    static String findJava() {
        List<File> homes = new ArrayList<File>();
        for (String env : new String[] {"G2M_JAVA_HOME", "JAVA_HOME"}) {
            String v = System.getenv(env);
            if (v != null && !v.isEmpty()) homes.add(new File(v));
        }
        String userHome = System.getProperty("user.home", "");
        String[] roots = {"/usr/lib/jvm", "/usr/java", "/opt/java", "/opt",
                userHome + "/.sdkman/candidates/java", userHome + "/.jdks"};
        for (String r : roots) {
            File[] kids = new File(r).listFiles();
            if (kids == null) continue;
            Arrays.sort(kids);
            homes.addAll(Arrays.asList(kids));
        }
        String best = null;
        int bestFeature = 0;
        for (File home : homes) {
            File java = new File(home, "bin/java");
            if (!java.canExecute()) continue;
            int f = releaseFeature(new File(home, "release"));
            if (f >= MIN_FEATURE && f > bestFeature) {
                best = java.getPath();
                bestFeature = f;
            }
        }
        return best;
    }

    /** JAVA_VERSION from a JDK's "release" file. */
    static int releaseFeature(File release) {
        try {
            for (String line : Files.readAllLines(release.toPath(), StandardCharsets.UTF_8)) {
                if (line.startsWith("JAVA_VERSION=")) return feature(line.substring(13).replace("\"", ""));
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }
}
