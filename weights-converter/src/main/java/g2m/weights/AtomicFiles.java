package g2m.weights;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes a file whole or not at all: a temporary sibling (see {@link TempFiles}: created with
 * default permissions so the umask applies, deleted on SIGINT/SIGTERM), fsync, then a rename
 * over the target.
 */
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
    /** {@link #write(Path, boolean, Body)} of bytes already in memory. */
    public static void write(Path target, boolean overwrite, byte[] content) {
        write(target, overwrite, ch -> {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(content);
            while (b.hasRemaining()) ch.write(b);
        });
    }

    public static void write(Path target, boolean overwrite, Body body) {
        Path abs = target.toAbsolutePath();
        if (Files.isDirectory(abs)) throw new WeightsException(target + " is a directory");
        if (!overwrite && Files.exists(abs)) {
            throw new WeightsException(target + " already exists (use --force to overwrite it)");
        }
        Path dir = abs.getParent();
        Path tmp = null;
        try {
            createFolder(dir, target);
            tmp = TempFiles.create(abs);
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
            TempFiles.done(tmp);
            tmp = null;
        } catch (IOException e) {
            throw new WeightsException("cannot write " + target + ": " + describe(e), e);
        } finally {
            if (tmp != null) TempFiles.delete(tmp);
        }
    }

    /** Creates {@code dir} (and its parents) for writing {@code target}; one clear line if a part of it is a file. */
    public static void createFolder(Path dir, Path target) throws IOException {
        try {
            Files.createDirectories(dir);
        } catch (FileSystemException e) {
            for (Path p = dir; p != null; p = p.getParent()) {
                if (Files.exists(p) && !Files.isDirectory(p)) {
                    throw new WeightsException("cannot write " + target + ": " + p + " is a file, not a folder", e);
                }
            }
            throw e;
        }
    }

    /**
     * An IOException as one short line in plain words ({@code "x.txt: no such file"}), never the
     * name of its Java class.
     */
    public static String describe(IOException e) {
        if (e instanceof FileSystemException f) {
            String file = f.getFile() == null ? "" : f.getFile() + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile());
            String why;
            if (e instanceof NoSuchFileException) why = "no such file";
            else if (e instanceof FileAlreadyExistsException) return (file.isEmpty() ? "the file" : file) + " already exists";
            else if (e instanceof AccessDeniedException) why = "permission denied";
            else if (e instanceof NotDirectoryException) why = "not a folder";
            else if (e instanceof DirectoryNotEmptyException) why = "folder not empty";
            else if (e instanceof FileSystemLoopException) why = "symbolic links form a loop";
            else why = f.getReason() != null && !f.getReason().isBlank() ? f.getReason() : "file system error";
            return file.isEmpty() ? why : file + ": " + why;
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? "input/output error" : m;
    }
}
