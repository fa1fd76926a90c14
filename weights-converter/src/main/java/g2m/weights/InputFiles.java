package g2m.weights;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/** Checks on a weights file before it is opened. */
public final class InputFiles {
    private InputFiles() {}

    /**
     * Refuses, in one line, a path that is missing, a folder, or not a regular file: opening a
     * named pipe (FIFO) waits for a writer forever, and a device has no end.
     */
    public static void requireRegularFile(Path file) {
        if (Files.isRegularFile(file)) return;
        if (Files.isDirectory(file)) throw new WeightsException(file + ": a folder, not a weights file");
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS) && !Files.exists(file)) {
            throw new WeightsException(file + ": a symbolic link to nothing");
        }
        if (!Files.exists(file)) throw new WeightsException(file + ": no such file");
        throw new WeightsException(file + ": not a regular file (a pipe, a device or a socket?); weights must be a file");
    }
}
