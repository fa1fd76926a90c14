package g2m.backend.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GpuValidationTest {
    @Test
    void aGpuIsSeenFromTheDriversProcEntriesOrDeviceNodes(@TempDir Path dir) throws IOException {
        Path proc = Files.createDirectories(dir.resolve("proc/driver/nvidia/gpus"));
        Path dev = Files.createDirectories(dir.resolve("dev"));
        Files.createFile(dev.resolve("nvidiactl")); // the control node alone is no GPU
        assertFalse(GpuValidation.gpuVisible(proc.toFile(), dev.toFile()));
        assertFalse(GpuValidation.gpuVisible(dir.resolve("absent").toFile(), dir.resolve("absent2").toFile()));
        Files.createDirectory(proc.resolve("0000:3b:00.0"));
        assertTrue(GpuValidation.gpuVisible(proc.toFile(), dev.toFile()));
        Files.delete(proc.resolve("0000:3b:00.0"));
        Files.createFile(dev.resolve("nvidia0"));
        assertTrue(GpuValidation.gpuVisible(proc.toFile(), dev.toFile()));
    }

    /** The record is one line naming what the suites passed on, or empty. */
    @Test
    void theRecordIsEmptyOrOneLine() {
        assertEquals(GpuValidation.VALIDATED_ON.strip(), GpuValidation.VALIDATED_ON);
        assertFalse(GpuValidation.VALIDATED_ON.contains("\n"));
        assertEquals(!GpuValidation.VALIDATED_ON.isEmpty(), GpuValidation.validated());
    }
}
