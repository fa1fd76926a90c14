package g2m.weights.safetensors;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import g2m.weights.AtomicFiles;
import g2m.weights.Checkpoint;
import g2m.weights.DType;
import g2m.weights.InputFiles;
import g2m.weights.Tensor;
import g2m.weights.WeightsException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The engine's tensor format: safetensors (https://huggingface.co/docs/safetensors), i.e. an
 * 8-byte little-endian header length N, N bytes of JSON, then the raw little-endian data.
 * See docs/FORMAT.md for the metadata keys the engine writes.
 */
public final class Safetensors {
    private Safetensors() {}

    /** Same limit as the reference implementation: a larger header is refused unread. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;
    static final String METADATA = "__metadata__";

    // Field names are not canonicalized: Jackson's symbol table refuses names whose hashes collide
    // (easy to make), and a header's names are read once anyway.
    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(16).build())
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build());

    /** True if the bytes start like a safetensors file (plausible header length, then '{'). */
    public static boolean looksLike(byte[] head, long fileSize) {
        if (head.length < 9) return false;
        long n = ByteBuffer.wrap(head, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return n >= 2 && n <= MAX_HEADER_BYTES && n <= fileSize - 8 && head[8] == '{';
    }

    /**
     * Reads a file by memory-mapping it; the header is validated before any tensor is trusted:
     * size limit, JSON shape, dtypes, shape x element size == byte length, offsets in bounds,
     * contiguous and not overlapping.
     */
    public static Checkpoint read(Path file) {
        InputFiles.requireRegularFile(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(ch, file.toString());
        } catch (NoSuchFileException e) {
            throw new WeightsException(file + ": no such file");
        } catch (IOException e) {
            throw new WeightsException("cannot read " + file + ": " + AtomicFiles.describe(e), e);
        }
    }

    static Checkpoint read(FileChannel ch, String what) throws IOException {
        long size = ch.size();
        if (size < 8) throw bad(what, "file is " + size + " bytes, too short for a header");
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long headerLen = lenBuf.flip().getLong();
        if (headerLen < 2 || headerLen > MAX_HEADER_BYTES) {
            throw bad(what, "header length " + Long.toUnsignedString(headerLen) + " is outside 2.." + MAX_HEADER_BYTES);
        }
        if (headerLen > size - 8) throw bad(what, "header length " + headerLen + " exceeds the file (" + size + " bytes)");
        ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
        readFully(ch, hb, 8);
        String header = new String(hb.array(), StandardCharsets.UTF_8);
        long dataStart = 8 + headerLen;
        long dataLen = size - dataStart;

        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (JsonProcessingException e) {
            // Jackson's limits name their Java methods ("from `StreamReadConstraints...`"): not for users
            throw bad(what, "header is not valid JSON (" + e.getOriginalMessage().replaceAll(", from `[^`]*`", "") + ")");
        }
        if (root == null || !root.isObject()) throw bad(what, "header is not a JSON object");

        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (f.getKey().equals(METADATA)) {
                if (!f.getValue().isObject()) throw bad(what, METADATA + " is not an object");
                for (Iterator<Map.Entry<String, JsonNode>> m = f.getValue().fields(); m.hasNext(); ) {
                    Map.Entry<String, JsonNode> kv = m.next();
                    if (!kv.getValue().isTextual()) throw bad(what, METADATA + "." + kv.getKey() + " is not a string");
                    metadata.put(kv.getKey(), kv.getValue().textValue());
                }
                continue;
            }
            entries.add(parseEntry(what, f.getKey(), f.getValue()));
        }

        // Offsets must tile the data section exactly, as the reference reader requires.
        List<Entry> byOffset = new ArrayList<>(entries);
        byOffset.sort(Comparator.comparingLong(e -> e.begin));
        long expect = 0;
        for (Entry e : byOffset) {
            if (e.begin != expect) {
                throw bad(what, "tensor '" + e.name + "' starts at " + e.begin + " but the previous one ends at " + expect
                        + (e.begin < expect ? " (overlap)" : " (gap)"));
            }
            expect = e.end;
        }
        if (expect != dataLen) {
            throw bad(what, "tensors cover " + expect + " data bytes but the file has " + dataLen
                    + (expect > dataLen ? " (truncated file?)" : " (trailing bytes)"));
        }

        // Tensors are slices of a few large mappings, never one mapping each: the kernel allows a
        // process about 65,530 mappings, and a file may hold far more (tiny) tensors than that.
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        ByteBuffer window = null;
        long windowStart = 0;
        for (Entry e : byOffset) {
            long len = e.end - e.begin;
            if (len > Integer.MAX_VALUE) {
                throw bad(what, "tensor '" + e.name + "' is " + len + " bytes; tensors over 2 GiB are not supported");
            }
            if (window == null || e.end - windowStart > window.capacity()) {
                windowStart = e.begin;
                long windowLen = Math.min(dataLen - windowStart, Integer.MAX_VALUE);
                window = ch.map(FileChannel.MapMode.READ_ONLY, dataStart + windowStart, windowLen);
            }
            e.data = window.slice((int) (e.begin - windowStart), (int) len);
        }
        for (Entry e : entries) tensors.put(e.name, new Tensor(e.name, e.dtype, e.shape, e.data));
        return new Checkpoint(tensors, metadata);
    }

    private static final class Entry {
        final String name;
        final DType dtype;
        final long[] shape;
        final long begin;
        final long end;
        ByteBuffer data;

        Entry(String name, DType dtype, long[] shape, long begin, long end) {
            this.name = name;
            this.dtype = dtype;
            this.shape = shape;
            this.begin = begin;
            this.end = end;
        }
    }

    private static Entry parseEntry(String what, String name, JsonNode n) {
        if (!n.isObject()) throw bad(what, "entry '" + name + "' is not an object");
        JsonNode dt = n.get("dtype");
        JsonNode sh = n.get("shape");
        JsonNode off = n.get("data_offsets");
        if (dt == null || !dt.isTextual()) throw bad(what, "tensor '" + name + "' has no dtype");
        if (sh == null || !sh.isArray()) throw bad(what, "tensor '" + name + "' has no shape");
        if (off == null || !off.isArray() || off.size() != 2) throw bad(what, "tensor '" + name + "' needs data_offsets [begin, end]");
        DType dtype;
        try {
            dtype = DType.parse(dt.textValue());
        } catch (WeightsException e) {
            throw bad(what, "tensor '" + name + "': " + e.getMessage());
        }
        if (sh.size() > 8) throw bad(what, "tensor '" + name + "' has " + sh.size() + " dimensions");
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) shape[i] = nonNegativeLong(what, name, "shape", sh.get(i));
        long begin = nonNegativeLong(what, name, "data_offsets", off.get(0));
        long end = nonNegativeLong(what, name, "data_offsets", off.get(1));
        if (end < begin) throw bad(what, "tensor '" + name + "' ends (" + end + ") before it begins (" + begin + ")");
        long bytes;
        try {
            bytes = Math.multiplyExact(Tensor.numel(shape), (long) dtype.size);
        } catch (ArithmeticException | WeightsException e) {
            throw bad(what, "tensor '" + name + "' has an impossible shape");
        }
        if (bytes != end - begin) {
            throw bad(what, "tensor '" + name + "': shape needs " + bytes + " bytes but data_offsets span " + (end - begin));
        }
        if (bytes / dtype.size > Integer.MAX_VALUE) throw bad(what, "tensor '" + name + "' has more than 2^31 elements");
        return new Entry(name, dtype, shape, begin, end);
    }

    private static long nonNegativeLong(String what, String name, String field, JsonNode v) {
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
            throw bad(what, "tensor '" + name + "': " + field + " must hold non-negative integers");
        }
        return v.longValue();
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            int n = ch.read(b, pos);
            if (n < 0) throw new IOException("unexpected end of file");
            pos += n;
        }
    }

    private static WeightsException bad(String what, String why) {
        return new WeightsException(what + ": not a valid safetensors file: " + why);
    }

    /** Writes tensors (in the given order) and metadata atomically; see {@link AtomicFiles}. */
    public static void write(Path out, Checkpoint ckpt, boolean overwrite) {
        ObjectNode header = JSON.createObjectNode();
        ObjectNode meta = header.putObject(METADATA);
        ckpt.metadata().forEach(meta::put);
        long offset = 0;
        for (Tensor t : ckpt.tensors().values()) {
            ObjectNode e = header.putObject(t.name());
            e.put("dtype", t.dtype().name());
            var shape = e.putArray("shape");
            for (long d : t.shape()) shape.add(d);
            long len = t.numel() * t.dtype().size;
            e.putArray("data_offsets").add(offset).add(offset + len);
            offset += len;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw new WeightsException("cannot encode safetensors header: " + e.getOriginalMessage(), e);
        }
        int padded = (json.length + 7) / 8 * 8; // data starts 8-byte aligned, padding is spaces
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();
        AtomicFiles.write(out, overwrite, ch -> {
            writeFully(ch, head);
            for (Tensor t : ckpt.tensors().values()) writeFully(ch, t.data());
        });
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
