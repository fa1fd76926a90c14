package g2m.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This process's resident memory as Linux reports it in {@code /proc/self/status}: it counts the
 * native (off-heap) weights and workspaces that the JVM's heap figures do not see.
 */
public final class ProcessMemory {
    private ProcessMemory() {}

    /** Peak resident set (VmHWM) in KiB, or -1 where it cannot be read (not Linux). */
    public static long peakRssKib() {
        return statusKib("VmHWM:");
    }

    /** Resident set now (VmRSS) in KiB, or -1 where it cannot be read (not Linux). */
    public static long rssKib() {
        return statusKib("VmRSS:");
    }

    private static long statusKib(String key) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith(key)) return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
