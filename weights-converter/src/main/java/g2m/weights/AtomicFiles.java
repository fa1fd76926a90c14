package g2m.weights;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** Writes a file whole or not at all: a temporary sibling, fsync, then a rename over the target. */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Writes the content of one file through a channel. */
    @FunctionalInterface
    public interface Body {
        void write(FileChannel out) throws IOException;
    }

    /**
     * Writes {@code target} atomically. Refuses an existing target unless {@code overwrite};
     * on any failure the temporary file is removed and the target is untouched.
     */
    public static void write(Path target, boolean overwrite, Body body) {
        Path abs = target.toAbsolutePath();
        if (Files.isDirectory(abs)) throw new WeightsException(target + " is a directory");
        if (!overwrite && Files.exists(abs)) {
            throw new WeightsException(target + " already exists (use --force to overwrite it)");
        }
        Path dir = abs.getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".part");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                body.write(ch);
                ch.force(true);
            }
            if (!overwrite && Files.exists(abs)) {
                throw new WeightsException(target + " appeared while writing; not overwritten (use --force)");
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new WeightsException("cannot write " + target + ": " + describe(e), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort: the half-written file is hidden (dot name) and marked .part
                }
            }
        }
    }

    /** An IOException as one short line (its class says what kind of failure it was). */
    public static String describe(IOException e) {
        String m = e.getMessage();
        String kind = e.getClass().getSimpleName().replace("Exception", "");
        return m == null ? kind : kind.isEmpty() || kind.equals("IO") ? m : kind + ": " + m;
    }
}
