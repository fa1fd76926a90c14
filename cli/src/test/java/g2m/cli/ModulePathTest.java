package g2m.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The library as a named module: the README's embedding example, run from source in a child JVM
 * with the engine, the weights module and their dependencies on the module path (nothing on the
 * class path), maps a picture and writes its overlay. Needs the packed engine jar (the module
 * descriptor goes into the jar only), so it runs in {@code mvn verify} and says why it skips in a
 * {@code mvn test} of the whole build.
 */
class ModulePathTest {
    @TempDir
    Path dir;

    static final List<String> NOT_LIBRARY = List.of("-tests.jar", "junit", "opentest4j", "apiguardian", "g2m-test-support", "picocli", "surefire");

    @Test
    void theEmbeddingExampleRunsOnTheModulePath() throws IOException, InterruptedException {
        List<String> modules = new ArrayList<>();
        boolean engineModule = false;
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!e.endsWith(".jar") || NOT_LIBRARY.stream().anyMatch(e::contains)) continue;
            if (Path.of(e).getFileName().toString().startsWith("g2m-engine-")) engineModule = hasDescriptor(e);
            modules.add(e);
        }
        Assumptions.assumeTrue(engineModule, "the engine's jar with its module descriptor is not built in this run (mvn test); mvn verify builds it");

        String readme = Files.readString(Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent().resolve("README.md"));
        Matcher m = Pattern.compile("(?s)\\n## Embedding\\n.*?```java\\n(.*?)```").matcher(readme);
        assertTrue(m.find(), "README.md has a java block under '## Embedding'");
        Path source = Files.writeString(dir.resolve("MapsOfOnePicture.java"), m.group(1));
        Path overlay = dir.resolve("dgl.png");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = List.of(java.toString(), "--module-path", String.join(File.pathSeparator, modules), "--add-modules", "ALL-MODULE-PATH",
                "--enable-native-access=ALL-UNNAMED", "-Xmx1g", source.toString(),
                CliTest.fixture("tiny_vgg16_expected.safetensors"), golden("image_224x256.png"), overlay.toString());
        Path log = dir.resolve("out.txt");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(180, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly();
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(done, "finished within 180 s: " + out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.lines().anyMatch(l -> l.matches("\\[.*probability.*] 14x16")), out);
        byte[] png = Files.readAllBytes(overlay);
        assertTrue(png.length > 100 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', "a PNG overlay");
    }

    static boolean hasDescriptor(String jar) throws IOException {
        try (ZipFile z = new ZipFile(jar)) {
            return z.getEntry("module-info.class") != null;
        }
    }

    static String golden(String name) {
        try {
            return Path.of(ModulePathTest.class.getResource("/golden/" + name).toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new AssertionError(e);
        }
    }
}
