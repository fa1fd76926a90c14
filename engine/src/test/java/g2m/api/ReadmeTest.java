package g2m.api;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.FileVisitResult;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a newcomer reads in a fresh clone holds. The README's embedding example is a complete
 * program: the java block under "## Embedding" is taken out of README.md, compiled against the
 * engine's classes and run on the tiny test network and a test picture, so it cannot rot. And no
 * document points outside the repository (the method's specification lives next to it on our
 * machines, not in a clone).
 */
class ReadmeTest {
    @TempDir
    Path dir;

    static Path root() {
        return Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent();
    }

    static String example() throws Exception {
        String text = Files.readString(root().resolve("README.md"));
        Matcher m = Pattern.compile("(?s)\\n## Embedding\\n.*?```java\\n(.*?)```").matcher(text);
        assertTrue(m.find(), "README.md has a java block under '## Embedding'");
        return m.group(1);
    }

    @Test
    void theReadmesEmbeddingExampleCompilesAndRuns() throws Exception {
        String source = example();
        Matcher cls = Pattern.compile("public class (\\w+)").matcher(source);
        assertTrue(cls.find(), "the example is a public class:\n" + source);
        String name = cls.group(1);
        Path src = Files.writeString(dir.resolve(name + ".java"), source);
        Path classes = Files.createDirectories(dir.resolve("classes"));

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "tests run on a JDK (javac in it)");
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        try (StandardJavaFileManager fm = javac.getStandardFileManager(diagnostics, null, StandardCharsets.UTF_8)) {
            List<String> options = List.of("-classpath", System.getProperty("java.class.path"), "-d", classes.toString(), "-Xlint:all", "-Werror");
            boolean ok = javac.getTask(null, fm, diagnostics, options, null, fm.getJavaFileObjects(src.toFile())).call();
            assertTrue(ok, "README's example does not compile: " + diagnostics.getDiagnostics() + "\n" + source);
        }

        String weights = Path.of(getClass().getResource("/fixtures/tiny_vgg16_expected.safetensors").toURI()).toString();
        String picture = Path.of(getClass().getResource("/golden/image_224x256.png").toURI()).toString();
        Path overlay = dir.resolve("dgl.png");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()}, getClass().getClassLoader())) {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            loader.loadClass(name).getMethod("main", String[].class).invoke(null, (Object) new String[] {weights, picture, overlay.toString()});
        } finally {
            System.setOut(old);
        }
        String printed = out.toString(StandardCharsets.UTF_8).strip();
        // five classes with probabilities, then conv5_1's map size for a 224x256 picture (stride 16)
        assertTrue(printed.matches("\\[.*probability.*] 14x16"), printed);
        // and the overlay: a PNG of the picture's size
        byte[] png = Files.readAllBytes(overlay);
        assertTrue(png.length > 100 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', "a PNG file");
        assertTrue(java.nio.ByteBuffer.wrap(png, 16, 8).getInt() == 256 && java.nio.ByteBuffer.wrap(png, 20, 4).getInt() == 224, "256x224");
    }

    @Test
    void noFileInTheRepositoryPointsIntoTheSharedFolderBesideIt() throws Exception {
        List<String> needles = List.of(".." + "/shared/", "/work/" + "shared");
        Set<String> skip = Set.of("target", ".git", ".devrt", "g2m-out", "gpu-out", "node_modules");
        List<String> hits = new ArrayList<>();
        int[] files = {0};
        Files.walkFileTree(root(), new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) {
                return skip.contains(d.getFileName().toString()) ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws java.io.IOException {
                String n = f.getFileName().toString();
                if (a.size() > 2_000_000 || !n.matches(".*\\.(md|java|py|sh|xml|txt|properties|cu|cuh|cpp|json|yml)|run")) {
                    return FileVisitResult.CONTINUE;
                }
                files[0]++;
                String text = new String(Files.readAllBytes(f), StandardCharsets.UTF_8);
                for (String needle : needles) if (text.contains(needle)) hits.add(root().relativize(f) + " mentions " + needle);
                return FileVisitResult.CONTINUE;
            }
        });
        assertTrue(files[0] > 100, "walked the repository: " + files[0] + " files");
        assertTrue(hits.isEmpty(), String.join("\n", hits));
    }
}
