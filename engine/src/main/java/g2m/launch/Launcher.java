package g2m.launch;

import java.io.File;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * The jar's entry point, compiled for Java 8 so that {@code java -jar g2m-engine.jar} works
 * even where the default {@code java} is older than the engine's baseline (Java 17 on our
 * machines). On Java 21+ it calls the CLI directly; otherwise it looks for a JDK 21+
 * ($G2M_JAVA_HOME, $JAVA_HOME, then the usual install folders) and runs the CLI there, or
 * explains in one line what to install.
 *
 * <p>The class it hands over to is the manifest's {@code G2M-Main-Class} (the benchmarks jar names
 * JMH's main there), else the CLI.
 */
public final class Launcher {
    static final int MIN_FEATURE = 21;
    static final String CLI = "g2m.cli.Main";
    static final String MAIN_ATTRIBUTE = "G2M-Main-Class";

    private Launcher() {}

    public static void main(String[] args) throws Exception {
        int running = feature(System.getProperty("java.specification.version"));
        File jar = new File(Launcher.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        String target = mainClass(jar);
        if (running >= MIN_FEATURE) {
            try {
                Class.forName(target).getMethod("main", String[].class).invoke(null, (Object) args);
            } catch (InvocationTargetException e) {
                Throwable t = e.getCause();
                System.err.println("g2m-engine: internal error: " + t);
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
        cmd.add("-cp");
        cmd.add(jar.getPath());
        cmd.add(target);
        cmd.addAll(Arrays.asList(args));
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        System.exit(p.waitFor());
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
