package g2m.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import g2m.weights.AtomicFiles;
import g2m.weights.WeightsException;

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
 * fsynced as images finish, each line with its checksum ({@link CheckpointLine}). A killed run
 * leaves at worst a partial last line, which the next run cuts off before continuing; a line
 * whose checksum does not match (edited, or garbled on disk) and a checkpoint written with other
 * settings are refused. An append that fails (a full disk) is undone, so the file keeps only
 * whole records. The results are always computed by reading this file from the top, so a
 * resumed run and an uninterrupted one add up the same numbers in the same order.
 */
public final class EvalCheckpoint implements AutoCloseable {
    public static final String FILE = "checkpoint.jsonl";
    private static final String FORMAT = "g2m-eval-checkpoint/2";
    private static final String FORMAT_WITHOUT_CHECKSUMS = "g2m-eval-checkpoint/1";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Where the checkpoint's bytes go: the file, or in tests one that fails as a full disk does. */
    @FunctionalInterface
    interface Sink {
        void write(FileChannel ch, ByteBuffer bytes) throws IOException;
    }

    static final Sink FILE_SINK = (ch, b) -> {
        while (b.hasRemaining()) ch.write(b);
    };

    private final Path file;
    private final FileChannel out;
    private final Sink sink;
    private final int done;
    private int appended;
    private long size;

    private EvalCheckpoint(Path file, FileChannel out, Sink sink, int done) throws IOException {
        this.file = file;
        this.out = out;
        this.sink = sink;
        this.done = done;
        this.size = out.position();
    }

    public Path file() {
        return file;
    }

    /** Images already recorded when it was opened (0 for a fresh checkpoint). */
    public int done() {
        return done;
    }

    /** Images recorded now: those found when it was opened and those appended since. */
    public int recorded() {
        return done + appended;
    }

    /**
     * Opens the checkpoint in {@code dir}: a new one when there is none, else the existing one if it
     * was written with the same {@code settings} (its complete lines kept, a partial last line cut off).
     *
     * @param outcomes outcomes per image record (taps × methods), to validate existing lines
     */
    public static EvalCheckpoint open(Path dir, ObjectNode settings, int outcomes) {
        return open(dir, settings, null, outcomes, FILE_SINK);
    }

    /**
     * The same; a new checkpoint's first line also records {@code source}, where the dataset was
     * read from (not a setting: the same pictures elsewhere continue it), for {@code eval merge}.
     */
    public static EvalCheckpoint open(Path dir, ObjectNode settings, String source, int outcomes) {
        return open(dir, settings, source, outcomes, FILE_SINK);
    }

    static EvalCheckpoint open(Path dir, ObjectNode settings, int outcomes, Sink sink) {
        return open(dir, settings, null, outcomes, sink);
    }

    static EvalCheckpoint open(Path dir, ObjectNode settings, String source, int outcomes, Sink sink) {
        Path f = dir.resolve(FILE);
        ObjectNode header = JSON.createObjectNode();
        header.put("format", FORMAT);
        header.set("settings", settings);
        if (source != null) header.put("source", source);
        try {
            if (!Files.exists(f) || Files.size(f) == 0) {       // none, or left empty by an older engine killed at once
                byte[] first = (CheckpointLine.seal(header.toString()) + "\n").getBytes(StandardCharsets.UTF_8);
                try {
                    AtomicFiles.write(f, true, ch -> sink.write(ch, ByteBuffer.wrap(first)));   // whole header or no file
                } catch (WeightsException e) {
                    throw new EvalOutputException(e.getMessage(), e);
                }
                FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE);
                ch.position(ch.size());
                return new EvalCheckpoint(f, ch, sink, 0);
            }
            long keep;
            int done;
            Reader r;
            try {
                r = Reader.open(f, outcomes);
            } catch (EvalException e) {
                throw new EvalException(e.getMessage() + START_OVER);
            }
            try (r) {
                String diff = difference(r.settings(), settings);
                if (diff != null) {
                    throw new EvalException(dir + " holds a checkpoint made with other settings (" + diff + "); use another --output, or --force to start over");
                }
                try {
                    while (r.next() != null) {
                        // counts the whole records; a partial last line ends the loop
                    }
                } catch (EvalException e) {
                    throw new EvalException(e.getMessage() + START_OVER);
                }
                keep = r.end();
                done = r.count();
            }
            FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE);
            try {
                ch.truncate(keep);
                ch.position(keep);
                ch.force(true);
            } catch (IOException e) {
                ch.close();
                throw e;
            }
            return new EvalCheckpoint(f, ch, sink, done);
        } catch (IOException e) {
            throw new EvalOutputException("cannot use checkpoint " + f + ": " + AtomicFiles.describe(e), e);
        }
    }

    private static final String START_OVER = "; use --force to start over";

    private static final String CHANGED = "its checksum does not match: edited after it was written, or garbled on disk";

    /** The line as a JSON object, or null when it is not one. */
    private static JsonNode json(String line) {
        try {
            JsonNode n = JSON.readTree(line);
            return n != null && n.isObject() ? n : null;
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Appends records (in dataset order, continuing the file) and forces them to disk. When that
     * fails the file is cut back to what it held before, so none of these records is half there.
     */
    public void append(List<ImageRecord> records) {
        if (records.isEmpty()) return;
        StringBuilder sb = new StringBuilder();
        for (ImageRecord r : records) sb.append(CheckpointLine.seal(r.toJson())).append('\n');
        try {
            sink.write(out, ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8)));
            out.force(false);
            size = out.position();
            appended += records.size();
        } catch (IOException e) {
            try {
                out.truncate(size);
                out.position(size);
            } catch (IOException ignored) {
                // a partial last line then stays; the next run cuts it off
            }
            throw new EvalOutputException("cannot append to " + file + ": " + AtomicFiles.describe(e), e);
        }
    }

    /**
     * Reads every whole record of a checkpoint file in order (the header checked, a last line cut
     * short by a kill left out, as {@link #open} would cut it off).
     */
    public static void forEach(Path file, int outcomes, Consumer<ImageRecord> each) {
        try (Reader r = Reader.open(file, outcomes)) {
            ImageRecord rec;
            while ((rec = r.next()) != null) each.accept(rec);
        } catch (IOException e) {
            throw new EvalException("cannot read " + file + ": " + AtomicFiles.describe(e), e);
        }
    }

    /**
     * A checkpoint read from the top, one record at a time: its first line checked (format,
     * checksum) and its settings and source at hand; then each whole record, which must carry the
     * dataset position that comes next in its shard. A damaged or out-of-order line is an
     * {@link EvalException} naming the line; a last line cut short (no newline, or not JSON) ends
     * the records, as when a run was killed while appending.
     */
    public static final class Reader implements AutoCloseable {
        private final Path file;
        private final FileChannel ch;
        private final LineReader lines;
        private final JsonNode header;
        private final Shard shard;
        private final int outcomes;
        private int count;
        private long end;
        private boolean finished;

        private Reader(Path file, FileChannel ch, LineReader lines, JsonNode header, int outcomes) {
            this.file = file;
            this.ch = ch;
            this.lines = lines;
            this.header = header;
            this.shard = Shard.of(header.path("settings"));
            this.outcomes = outcomes;
            this.end = lines.offset();
        }

        /** Opens {@code file} and checks its first line; {@code outcomes}: per record (taps × methods). */
        public static Reader open(Path file, int outcomes) throws IOException {
            FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
            try {
                LineReader lines = new LineReader(ch);
                String first = lines.next();
                if (first == null || !lines.complete()) throw new EvalException(file + " is empty or cut short");
                String sealed = CheckpointLine.open(first);
                JsonNode h = json(sealed != null ? sealed : first);
                if (h != null && FORMAT_WITHOUT_CHECKSUMS.equals(h.path("format").asText())) {
                    throw new EvalException(file + " was written by an earlier g2m-engine (checkpoint lines without checksums)");
                }
                if (h == null || !FORMAT.equals(h.path("format").asText())) throw new EvalException(file + " is not a g2m eval checkpoint");
                if (sealed == null) throw new EvalException(file + " line 1 is damaged (" + CHANGED + ")");
                if (!h.path("settings").isObject()) throw new EvalException(file + " line 1 has no settings");
                return new Reader(file, ch, lines, h, outcomes);
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
        }

        /** The settings of its first line. */
        public ObjectNode settings() {
            return (ObjectNode) header.get("settings");
        }

        /** Where its dataset was read from, or null when the first line does not say. */
        public String source() {
            JsonNode s = header.get("source");
            return s != null && s.isTextual() ? s.textValue() : null;
        }

        /** The shard its settings name ({@link Shard#ALL} for none). */
        public Shard shard() {
            return shard;
        }

        /** The next whole record, or null after the last one. */
        public ImageRecord next() throws IOException {
            if (finished) return null;
            String line = lines.next();
            int lineNo = count + 2;
            if (line == null || !lines.complete()) return finish();     // the end, or a partial last line: a run killed mid-write
            String record = CheckpointLine.open(line);
            if (record == null) {
                if (lines.atEnd() && json(line) == null) return finish();    // an unreadable last line: same
                throw new EvalException(file + " line " + lineNo + " is damaged (" + CHANGED + ")");
            }
            ImageRecord rec;
            try {
                rec = ImageRecord.parse(record, outcomes);
            } catch (IllegalArgumentException e) {
                if (lines.atEnd()) return finish();                       // same
                throw new EvalException(file + " line " + lineNo + " is damaged (" + e.getMessage() + ")");
            }
            if (rec.index() != shard.position(count)) {
                throw new EvalException(file + " line " + lineNo + " is out of order (picture " + rec.index() + " where " + shard.position(count)
                        + " comes next" + (shard.isAll() ? "" : " in shard " + shard.id()) + ")");
            }
            count++;
            end = lines.offset();
            return rec;
        }

        private ImageRecord finish() {
            finished = true;
            return null;
        }

        /** Records read so far. */
        public int count() {
            return count;
        }

        /** Bytes up to the end of the last whole record read (the first line's end before any). */
        long end() {
            return end;
        }

        @Override
        public void close() throws IOException {
            ch.close();
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

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new EvalOutputException("cannot close " + file + ": " + AtomicFiles.describe(e), e);
        }
    }

    /** Lines of a file with their byte offsets, telling a newline-terminated line from a cut one. */
    /** Far above any record (every tap and method with PxAP histograms is a few hundred kB), and bounded memory for a garbage file. */
    static final int MAX_LINE = 64 << 20;

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
                if (b.size() >= MAX_LINE) throw new EvalException("a line of over " + (MAX_LINE >> 20) + " MB ends at byte " + offset + ": not a checkpoint record");
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
