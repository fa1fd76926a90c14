package g2m.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;

/**
 * The run's checkpoint, {@code checkpoint.jsonl} in the output folder: a first line with the
 * settings that decide the results, then one line per image in dataset order, appended and
 * fsynced as images finish. A killed run leaves at worst a partial last line, which the next run
 * cuts off before continuing; a checkpoint written with other settings is refused. The results
 * are always computed by reading this file from the top, so a resumed run and an uninterrupted one
 * add up the same numbers in the same order.
 */
public final class EvalCheckpoint implements AutoCloseable {
    public static final String FILE = "checkpoint.jsonl";
    private static final String FORMAT = "g2m-eval-checkpoint/1";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final FileChannel out;
    private final int done;

    private EvalCheckpoint(Path file, FileChannel out, int done) {
        this.file = file;
        this.out = out;
        this.done = done;
    }

    public Path file() {
        return file;
    }

    /** Images already recorded (0 for a fresh checkpoint). */
    public int done() {
        return done;
    }

    /**
     * Opens the checkpoint in {@code dir}: a new one when there is none, else the existing one if it
     * was written with the same {@code settings} (its complete lines kept, a partial last line cut off).
     *
     * @param outcomes outcomes per image record (taps × methods), to validate existing lines
     */
    public static EvalCheckpoint open(Path dir, ObjectNode settings, int outcomes) {
        Path f = dir.resolve(FILE);
        ObjectNode header = JSON.createObjectNode();
        header.put("format", FORMAT);
        header.set("settings", settings);
        try {
            if (!Files.exists(f) || Files.size(f) == 0) {       // none, or killed before its header was written
                Files.createDirectories(dir);
                FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
                write(ch, header.toString() + "\n");
                ch.force(true);
                return new EvalCheckpoint(f, ch, 0);
            }
            long keep = 0;
            int done = 0;
            try (FileChannel r = FileChannel.open(f, StandardOpenOption.READ)) {
                LineReader lines = new LineReader(r);
                String first = lines.next();
                if (first == null || !lines.complete()) throw new EvalException(f + " is empty or cut short; delete it or use --force");
                JsonNode h;
                try {
                    h = JSON.readTree(first);
                } catch (IOException e) {
                    throw new EvalException(f + " is not a g2m eval checkpoint; delete it or use --force");
                }
                if (h == null || !FORMAT.equals(h.path("format").asText())) throw new EvalException(f + " is not a g2m eval checkpoint; delete it or use --force");
                String diff = difference(h.path("settings"), settings);
                if (diff != null) {
                    throw new EvalException(dir + " holds a checkpoint made with other settings (" + diff + "); use another --output, or --force to start over");
                }
                keep = lines.offset();
                String line;
                while ((line = lines.next()) != null) {
                    if (!lines.complete()) break;               // a partial last line: a run killed mid-write
                    ImageRecord rec;
                    try {
                        rec = ImageRecord.parse(line, outcomes);
                    } catch (IllegalArgumentException e) {
                        if (lines.atEnd()) break;                  // unreadable last line: same
                        throw new EvalException(f + " line " + (done + 2) + " is damaged (" + e.getMessage() + "); use --force to start over");
                    }
                    if (rec.index() != done) throw new EvalException(f + " line " + (done + 2) + " is out of order; use --force to start over");
                    done++;
                    keep = lines.offset();
                }
            }
            FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE);
            ch.truncate(keep);
            ch.position(keep);
            ch.force(true);
            return new EvalCheckpoint(f, ch, done);
        } catch (IOException e) {
            throw new EvalException("cannot use checkpoint " + f + ": " + e.getMessage(), e);
        }
    }

    /** Appends records (in dataset order, continuing the file) and forces them to disk. */
    public void append(List<ImageRecord> records) {
        if (records.isEmpty()) return;
        StringBuilder sb = new StringBuilder();
        for (ImageRecord r : records) sb.append(r.toJson()).append('\n');
        try {
            write(out, sb.toString());
            out.force(false);
        } catch (IOException e) {
            throw new EvalException("cannot append to " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads every complete record of a checkpoint file in order (the header skipped). */
    public static void forEach(Path file, int outcomes, Consumer<ImageRecord> each) {
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line = r.readLine();
            int n = 0;
            while ((line = r.readLine()) != null) {
                if (line.isEmpty()) continue;
                ImageRecord rec = ImageRecord.parse(line, outcomes);
                if (rec.index() != n) throw new EvalException(file + ": record " + rec.index() + " where " + n + " was expected");
                each.accept(rec);
                n++;
            }
        } catch (IOException e) {
            throw new EvalException("cannot read " + file + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new EvalException(file + " is damaged: " + e.getMessage());
        }
    }

    /** Null when equal, else which setting differs. */
    static String difference(JsonNode had, JsonNode now) {
        if (had.equals(now)) return null;
        List<String> keys = new ArrayList<>();
        Iterator<String> it = now.fieldNames();
        while (it.hasNext()) keys.add(it.next());
        it = had.fieldNames();
        while (it.hasNext()) {
            String k = it.next();
            if (!keys.contains(k)) keys.add(k);
        }
        for (String k : keys) {
            JsonNode a = had.get(k), b = now.get(k);
            if (a == null || !a.equals(b)) return k + ": " + (a == null ? "none" : a.toString()) + " then, " + (b == null ? "none" : b.toString()) + " now";
        }
        return "settings differ";
    }

    private static void write(FileChannel ch, String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) ch.write(b);
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new EvalException("cannot close " + file + ": " + e.getMessage(), e);
        }
    }

    /** Lines of a file with their byte offsets, telling a newline-terminated line from a cut one. */
    private static final class LineReader {
        private final java.io.InputStream in;
        private long offset;
        private boolean complete;
        private boolean atEnd;

        LineReader(FileChannel ch) {
            this.in = new java.io.BufferedInputStream(Channels.newInputStream(ch), 1 << 16);
        }

        /** The next line without its newline, or null at the end of the file. */
        String next() throws IOException {
            java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream(256);
            int c;
            while ((c = in.read()) >= 0) {
                offset++;
                if (c == '\n') {
                    complete = true;
                    in.mark(1);
                    atEnd = in.read() < 0;
                    in.reset();
                    return b.toString(StandardCharsets.UTF_8);
                }
                b.write(c);
            }
            atEnd = true;
            complete = false;
            return b.size() == 0 ? null : b.toString(StandardCharsets.UTF_8);
        }

        boolean complete() {
            return complete;
        }

        boolean atEnd() {
            return atEnd;
        }

        /** Bytes consumed so far: the end of the last line returned. */
        long offset() {
            return offset;
        }
    }
}
