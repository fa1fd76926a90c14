package g2m.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProcessMemoryTest {
    @Test
    void readsTheResidentSetOnLinuxAndSaysMinusOneElsewhere() {
        if (!Files.isReadable(Path.of("/proc/self/status"))) {
            assertEquals(-1, ProcessMemory.peakRssKib());
            assertEquals(-1, ProcessMemory.rssKib());
            return;
        }
        long now = ProcessMemory.rssKib();
        long peak = ProcessMemory.peakRssKib(); // read second: the peak never falls below an earlier resident size
        assertTrue(now > 1024, "a JVM holds more than 1 MiB resident, got " + now + " KiB");
        assertTrue(peak >= now, "peak " + peak + " KiB < now " + now + " KiB");
    }
}
