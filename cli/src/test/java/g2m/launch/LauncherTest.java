package g2m.launch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LauncherTest {
    @Test
    void parsesJavaVersions() {
        assertEquals(8, Launcher.feature("1.8"));
        assertEquals(17, Launcher.feature("17"));
        assertEquals(21, Launcher.feature("21.0.5"));
        assertEquals(25, Launcher.feature("25-ea"));
        assertEquals(0, Launcher.feature("garbage"));
        assertEquals(0, Launcher.feature(null));
    }

    @Test
    void handsOverToTheManifestsMainClass(@TempDir Path dir) throws IOException {
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().putValue("G2M-Main-Class", "org.openjdk.jmh.Main");
        File bench = dir.resolve("bench.jar").toFile();
        try (JarOutputStream out = new JarOutputStream(new FileOutputStream(bench), m)) {
            out.putNextEntry(new JarEntry("x.txt"));
        }
        assertEquals("org.openjdk.jmh.Main", Launcher.mainClass(bench));

        File plain = dir.resolve("plain.jar").toFile();
        try (JarOutputStream out = new JarOutputStream(new FileOutputStream(plain))) {
            out.putNextEntry(new JarEntry("x.txt"));
        }
        assertEquals(Launcher.CLI, Launcher.mainClass(plain));
        assertEquals(Launcher.CLI, Launcher.mainClass(dir.toFile())); // classes folder, as in tests
    }

    @Test
    void readsReleaseFiles(@TempDir Path dir) throws IOException {
        Path r = dir.resolve("release");
        Files.writeString(r, "IMPLEMENTOR=\"x\"\nJAVA_VERSION=\"21.0.2\"\n");
        assertEquals(21, Launcher.releaseFeature(r.toFile()));
        Files.writeString(r, "JAVA_VERSION=\"1.8.0_392\"\n");
        assertEquals(8, Launcher.releaseFeature(r.toFile()));
        assertEquals(0, Launcher.releaseFeature(new File(dir.toFile(), "absent")));
    }
}
