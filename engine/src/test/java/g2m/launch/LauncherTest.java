package g2m.launch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

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
    void readsReleaseFiles(@TempDir Path dir) throws IOException {
        Path r = dir.resolve("release");
        Files.writeString(r, "IMPLEMENTOR=\"x\"\nJAVA_VERSION=\"21.0.2\"\n");
        assertEquals(21, Launcher.releaseFeature(r.toFile()));
        Files.writeString(r, "JAVA_VERSION=\"1.8.0_392\"\n");
        assertEquals(8, Launcher.releaseFeature(r.toFile()));
        assertEquals(0, Launcher.releaseFeature(new File(dir.toFile(), "absent")));
    }
}
