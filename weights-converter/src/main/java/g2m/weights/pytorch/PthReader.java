package g2m.weights.pytorch;

import g2m.weights.AtomicFiles;
import g2m.weights.DType;
import g2m.weights.InputFiles;
import g2m.weights.Tensor;
import g2m.weights.WeightsException;
import g2m.weights.pytorch.TorchUnpickler.StorageRoot;
import g2m.weights.pytorch.TorchUnpickler.TensorRef;
import net.razorvine.pickle.PickleException;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads the tensors of a PyTorch checkpoint written by {@code torch.save(state_dict)}, in both
 * of its formats:
 * <ul>
 * <li>zip (torch &gt;= 1.6): {@code <archive>/data.pkl} is the pickled object, each storage is
 * the entry {@code <archive>/data/<key>}, and {@code <archive>/byteorder}, when present, must
 * say "little";</li>
 * <li>legacy (before 1.6, e.g. torchvision's vgg16-397923af.pth): a sequence of pickles (magic
 * number, protocol version 1001, sys_info, the object, the list of storage keys) followed by
 * each storage in that order as an 8-byte little-endian element count and the raw data.
 * The file is memory-mapped, and contiguous tensors are views of the mapping.</li>
 * </ul>
 * The pickle is unpickled with an allow-list of globals (see {@link TorchUnpickler}) after a
 * syntactic pre-scan (see {@link PickleScanner}) that bounds every length field by the bytes
 * actually present, so neither code nor hostile lengths can run or allocate beyond the input.
 * Every problem comes out as a {@link WeightsException} whose message starts with the file name.
 */
public final class PthReader {
    private PthReader() {}

    /** PyTorch's legacy magic number, the first pickle of a legacy file. */
    static final BigInteger MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
    static final int LEGACY_PROTOCOL_VERSION = 1001;
    /** Largest pickle read from a legacy file; the object pickle of a state dict is kilobytes. */
    static final int MAX_LEGACY_PICKLE = 1 << 30;
    /** Strided copies may allocate at most this much beyond twice the file size. */
    static final long COPY_ALLOWANCE = 1 << 20;

    /** True if the bytes start like a PyTorch checkpoint: a zip archive, or a pickle (protocol opcode). */
    public static boolean looksLike(byte[] head) {
        if (head.length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return true;
        return head.length >= 2 && (head[0] & 0xff) == 0x80 && head[1] >= 2 && head[1] <= 5;
    }

    /**
     * Every tensor of the checkpoint's state dict, in file order, under the names in the file
     * (less a leading {@code module.}). If the top-level dict has a {@code state_dict} or
     * {@code model} entry that is a dict holding tensors, that dict is the state dict. Entries
     * that are not tensors are skipped.
     */
    public static LinkedHashMap<String, Tensor> read(Path file) {
        String what = file.toString();
        InputFiles.requireRegularFile(file);
        try {
            return readChecked(file);
        } catch (PthFormatException e) {
            throw new WeightsException(what + ": " + e.getMessage(), e);
        } catch (WeightsException e) {
            throw new WeightsException(what + ": " + oneLine(e.getMessage()), e);
        } catch (NoSuchFileException e) {
            throw new WeightsException(what + ": no such file", e);
        } catch (ZipException e) {
            throw new WeightsException(what + ": corrupt zip archive (" + oneLine(e.getMessage()) + ")", e);
        } catch (IOException e) {
            throw new WeightsException(what + ": cannot read: " + oneLine(AtomicFiles.describe(e)), e);
        } catch (PickleException e) {
            throw new WeightsException(what + ": corrupt pickle (" + oneLine(e.getMessage()) + ")", e);
        } catch (RuntimeException e) {
            throw new WeightsException(what + ": corrupt checkpoint (" + (e.getMessage() == null ? "malformed content"
                    : oneLine(e.getMessage())) + ")", e);
        } catch (StackOverflowError e) {
            throw new WeightsException(what + ": corrupt checkpoint (its objects nest too deeply)", e);
        } catch (OutOfMemoryError e) {
            throw new WeightsException(what + ": out of memory while reading the checkpoint", e);
        }
    }

    private static LinkedHashMap<String, Tensor> readChecked(Path file) throws IOException {
        long size;
        byte[] head = new byte[4];
        int got;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            size = ch.size();
            ByteBuffer hb = ByteBuffer.wrap(head);
            while (hb.hasRemaining() && ch.read(hb, hb.position()) > 0) { /* fill */ }
            got = hb.position();
            if (size == 0) throw new PthFormatException("file is empty");
            if (got >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
                // fall through to the zip reader below, after closing the channel
            } else if ((head[0] & 0xff) == 0x80) {
                return readLegacy(ch, size);
            } else {
                throw new PthFormatException("not a PyTorch checkpoint (neither a zip archive nor a pickle)");
            }
        }
        return readZip(file, size);
    }

    // ------------------------------------------------------------------------------------------
    // zip format

    private static LinkedHashMap<String, Tensor> readZip(Path file, long fileSize) throws IOException {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            // One pass over the central directory: entry names must be unique (two entries of one
            // name would let two readers see different data), and the declared sizes set the budget.
            String prefix = null;
            Set<String> names = new HashSet<>();
            long inflated = 0; // bytes that DEFLATED entries declare
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                ZipEntry e = en.nextElement();
                String name = e.getName();
                if (!names.add(name)) throw new PthFormatException("zip archive holds entry '" + printable(name) + "' twice");
                int slash = name.indexOf('/');
                if (prefix == null && slash > 0 && name.substring(slash + 1).equals("data.pkl")) {
                    prefix = name.substring(0, slash + 1);
                }
                if (e.getMethod() == ZipEntry.DEFLATED && e.getSize() > 0) inflated += Math.min(e.getSize(), maxInflated(e));
            }
            if (prefix == null) {
                throw new PthFormatException("zip archive has no <archive>/data.pkl entry (not a PyTorch checkpoint)");
            }
            long[] budget = {2 * (fileSize + Math.min(inflated, MAX_DEFLATE_RATIO * fileSize)) + COPY_ALLOWANCE};

            ZipEntry order = zip.getEntry(prefix + "byteorder");
            if (order != null) {
                if (order.getSize() < 0 || order.getSize() > 16) {
                    throw new PthFormatException("entry '" + printable(order.getName()) + "' is not 'little' or 'big'");
                }
                String bo = new String(readEntry(zip, order, fileSize, budget), java.nio.charset.StandardCharsets.US_ASCII).trim();
                if (bo.equals("big")) {
                    throw new PthFormatException("checkpoint is big-endian (byteorder 'big'), which is not supported");
                }
                if (!bo.equals("little")) {
                    throw new PthFormatException("unknown byte order '" + printable(bo) + "' in '" + printable(order.getName()) + "'");
                }
            }

            ZipEntry pklEntry = zip.getEntry(prefix + "data.pkl");
            byte[] pkl = readEntry(zip, pklEntry, fileSize, budget);
            String where = printable(pklEntry.getName());
            int end = PickleScanner.scan(ByteBuffer.wrap(pkl), 0, where, 0);
            TorchUnpickler u = new TorchUnpickler(false);
            Object top = unpickle(u, pkl, end, where);

            String dataPrefix = prefix + "data/";
            return collect(top, roots -> {
                // Storages are read in one pass over the entries, each right after the iterator
                // returned it: looking entries up by name walks the JDK's hash chain, which names
                // chosen to collide make as long as the archive (quadratic time over all storages).
                Map<String, StorageRoot> wanted = new HashMap<>();
                for (StorageRoot r : roots) wanted.put(r.key, r);
                for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements() && !wanted.isEmpty(); ) {
                    ZipEntry e = en.nextElement();
                    if (e.isDirectory() || !e.getName().startsWith(dataPrefix)) continue;
                    StorageRoot root = wanted.remove(e.getName().substring(dataPrefix.length()));
                    if (root == null) continue;
                    long bytes = storageBytes(root);
                    if (e.getSize() < bytes) {
                        throw new PthFormatException("entry '" + printable(e.getName()) + "' holds " + e.getSize()
                                + " bytes but its storage needs " + bytes + " (" + root.numel + " x " + root.type.name() + ")");
                    }
                    root.data = ByteBuffer.wrap(readEntry(zip, e, fileSize, budget), 0, (int) bytes).slice();
                }
                if (!wanted.isEmpty()) {
                    String key = wanted.keySet().iterator().next();
                    throw new PthFormatException("storage '" + printable(key) + "' is missing (no entry '"
                            + printable(dataPrefix + key) + "')");
                }
            }, budget);
        }
    }

    /** Deflate expands at most about 1032:1, so an entry declaring more than that is lying. */
    static final long MAX_DEFLATE_RATIO = 1032;

    private static long maxInflated(ZipEntry e) {
        long c = Math.max(e.getCompressedSize(), 0);
        return c > Long.MAX_VALUE / MAX_DEFLATE_RATIO ? Long.MAX_VALUE : c * MAX_DEFLATE_RATIO + 64;
    }

    /**
     * An entry's bytes. Its declared size must be possible (a stored entry within the file, a
     * deflated one within deflate's largest ratio of its compressed size), must fit what is left of
     * the read budget, and must be what the entry yields; a deflated entry is inflated into an
     * array of exactly that size.
     */
    private static byte[] readEntry(ZipFile zip, ZipEntry e, long fileSize, long[] budget) {
        long declared = e.getSize();
        String name = printable(e.getName());
        long possible = e.getMethod() == ZipEntry.DEFLATED ? maxInflated(e) : fileSize;
        if (declared < 0 || declared > possible || declared > Integer.MAX_VALUE - 16) {
            throw new PthFormatException("entry '" + name + "' declares " + declared + " bytes, more than "
                    + (e.getMethod() == ZipEntry.DEFLATED ? "its " + e.getCompressedSize() + " compressed bytes can hold"
                       : "the file's " + fileSize) + " (corrupt or not written by PyTorch)");
        }
        if (declared > budget[0]) {
            throw new PthFormatException("entries of the archive hold more data than the file size allows (corrupt)");
        }
        budget[0] -= declared;
        byte[] out = new byte[(int) declared];
        try (InputStream in = zip.getInputStream(e)) {
            int n = in.readNBytes(out, 0, out.length);
            if (n < out.length) {
                throw new PthFormatException("entry '" + name + "' is truncated (" + n + " of " + declared + " bytes)");
            }
            if (in.read() != -1) {
                throw new PthFormatException("entry '" + name + "' is longer than the " + declared + " bytes it declares");
            }
        } catch (ZipException ex) {
            throw new PthFormatException("entry '" + name + "' is corrupt (" + oneLine(ex.getMessage()) + ")");
        } catch (IOException ex) {
            throw new PthFormatException("cannot read entry '" + name + "': " + oneLine(AtomicFiles.describe(ex)));
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------
    // legacy format

    /**
     * The file mapped read-only, as one mapping when it fits in 2 GiB, else as windows of up to
     * 2 GiB that move forward as the reader does. Never one mapping per storage: the kernel
     * allows a process about 65,530 mappings, and a file may hold more storages than that.
     */
    private static final class Mapped {
        final FileChannel ch;
        final long size;
        private ByteBuffer window;
        private long windowStart;

        Mapped(FileChannel ch, long size) {
            this.ch = ch;
            this.size = size;
        }

        /** Bytes [pos, pos + len), len <= Integer.MAX_VALUE, inside the file. */
        ByteBuffer slice(long pos, long len) throws IOException {
            if (window == null || pos < windowStart || pos + len > windowStart + window.capacity()) {
                windowStart = size <= Integer.MAX_VALUE ? 0 : pos;
                window = ch.map(FileChannel.MapMode.READ_ONLY, windowStart, Math.min(size - windowStart, Integer.MAX_VALUE));
            }
            return window.slice((int) (pos - windowStart), (int) len).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    private static LinkedHashMap<String, Tensor> readLegacy(FileChannel ch, long size) throws IOException {
        Mapped file = new Mapped(ch, size);
        long[] pos = {0};

        Object magic = legacyPickle(file, pos, new TorchUnpickler(true), "magic number");
        if (!MAGIC.equals(magic)) {
            throw new PthFormatException("not a PyTorch checkpoint (a pickle, but without PyTorch's magic number)");
        }
        Object version = legacyPickle(file, pos, new TorchUnpickler(true), "protocol version");
        if (!(version instanceof Integer v) || v != LEGACY_PROTOCOL_VERSION) {
            throw new PthFormatException("unsupported legacy checkpoint protocol version "
                    + (version instanceof BigInteger big ? "(a " + big.bitLength() + "-bit number)" // its decimal text costs quadratic time
                       : version instanceof Number ? version.toString() : TorchUnpickler.typeName(version))
                    + " (expected " + LEGACY_PROTOCOL_VERSION + ")");
        }
        Object sysInfo = legacyPickle(file, pos, new TorchUnpickler(true), "sys_info");
        if (!(sysInfo instanceof Map<?, ?> info) || !(info.get("little_endian") instanceof Boolean little)) {
            throw new PthFormatException("corrupt legacy checkpoint (sys_info does not say whether it is little-endian)");
        }
        if (!little) throw new PthFormatException("checkpoint was written on a big-endian machine, which is not supported");

        TorchUnpickler u = new TorchUnpickler(true);
        Object top = legacyPickle(file, pos, u, "object");
        Object keysObj = legacyPickle(file, pos, new TorchUnpickler(true), "storage key list");
        if (!(keysObj instanceof List<?> keys)) {
            throw new PthFormatException("corrupt legacy checkpoint (the storage key list is a " + TorchUnpickler.typeName(keysObj) + ")");
        }

        Set<String> seen = new HashSet<>();
        long p = pos[0];
        for (Object k : keys) {
            if (!(k instanceof String key)) {
                throw new PthFormatException("corrupt legacy checkpoint (a storage key is a " + TorchUnpickler.typeName(k) + ")");
            }
            StorageRoot root = u.roots.get(key);
            if (root == null) {
                throw new PthFormatException("corrupt legacy checkpoint (storage '" + printable(key) + "' is listed but never used)");
            }
            if (!seen.add(key)) {
                throw new PthFormatException("corrupt legacy checkpoint (storage '" + printable(key) + "' is listed twice)");
            }
            if (size - p < 8) {
                throw new PthFormatException("file is truncated (storage '" + printable(key) + "' is missing at offset " + p + ")");
            }
            long count = file.slice(p, 8).getLong(0);
            int es = root.type.elementSize();
            long left = size - p - 8;
            if (count < 0 || count > left / es) {
                throw new PthFormatException("storage '" + printable(key) + "' at offset " + p + " claims "
                        + Long.toUnsignedString(count) + " elements of " + es + " bytes but only " + left
                        + " bytes follow (truncated or corrupt)");
            }
            if (count != root.numel) {
                throw new PthFormatException("storage '" + printable(key) + "' holds " + count + " elements but the pickle declares "
                        + root.numel);
            }
            long bytes = count * es;
            if (bytes > Integer.MAX_VALUE) {
                throw new PthFormatException("storage '" + printable(key) + "' is " + bytes + " bytes; storages over 2 GiB are not supported");
            }
            root.data = file.slice(p + 8, bytes);
            p += 8 + bytes;
        }
        return collect(top, roots -> {
            for (StorageRoot root : roots) {
                if (root.data == null) {
                    throw new PthFormatException("storage '" + printable(root.key) + "' is used by a tensor but missing from the file");
                }
            }
        }, new long[] {2 * size + COPY_ALLOWANCE});
    }

    /** Scans and unpickles the pickle at pos[0], advancing pos[0] past it. */
    private static Object legacyPickle(Mapped file, long[] pos, TorchUnpickler u, String what) throws IOException {
        long start = pos[0];
        if (start >= file.size) {
            throw new PthFormatException("file is truncated (the " + what + " pickle is missing)");
        }
        ByteBuffer window = file.slice(start, Math.min(file.size - start, MAX_LEGACY_PICKLE));
        int end = PickleScanner.scan(window, 0, "the file", start);
        byte[] pkl = new byte[end];
        window.get(0, pkl);
        pos[0] = start + end;
        return unpickle(u, pkl, end, "the " + what + " pickle");
    }

    // ------------------------------------------------------------------------------------------
    // shared

    private static Object unpickle(TorchUnpickler u, byte[] pkl, int end, String where) {
        try {
            return u.loads(end == pkl.length ? pkl : java.util.Arrays.copyOf(pkl, end));
        } catch (PthFormatException e) {
            throw e;
        } catch (IOException | PickleException e) {
            throw new PthFormatException("corrupt pickle in " + where + " (" + oneLine(e.getMessage()) + ")");
        } catch (RuntimeException e) {
            // a cast, an empty stack, a malformed number: Pyrolite does not check its input
            throw new PthFormatException("corrupt pickle in " + where + " (its opcodes do not fit together)");
        } finally {
            u.close();
        }
    }

    /** Sets the data of every given storage (all at once, so a zip is read in one pass). */
    private interface StorageLoader {
        void load(Collection<StorageRoot> roots) throws IOException;
    }

    private static long storageBytes(StorageRoot root) {
        long bytes;
        try {
            bytes = Math.multiplyExact(root.numel, (long) root.type.elementSize());
        } catch (ArithmeticException e) {
            bytes = Long.MAX_VALUE;
        }
        if (bytes > Integer.MAX_VALUE - 16) {
            throw new PthFormatException("storage '" + printable(root.key) + "' is " + root.numel + " x " + root.type.name()
                    + "; storages over 2 GiB are not supported");
        }
        return bytes;
    }

    /** Picks the state dict out of the unpickled object and materializes its tensors. */
    private static LinkedHashMap<String, Tensor> collect(Object top, StorageLoader loader, long[] budget) throws IOException {
        if (!(top instanceof Map<?, ?> dict)) {
            throw new PthFormatException("no tensors found (the checkpoint holds a " + TorchUnpickler.typeName(top)
                    + ", not a dict of tensors)");
        }
        Map<?, ?> sd = dict;
        for (String k : List.of("state_dict", "model")) {
            if (dict.get(k) instanceof Map<?, ?> inner && inner.values().stream().anyMatch(v -> v instanceof TensorRef)) {
                sd = inner;
                break;
            }
        }
        Map<String, TensorRef> refs = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : sd.entrySet()) {
            if (!(e.getKey() instanceof String rawName) || !(e.getValue() instanceof TensorRef t)) continue;
            String name = rawName.startsWith("module.") ? rawName.substring("module.".length()) : rawName;
            if (refs.put(name, t) != null) {
                throw new PthFormatException("tensor '" + printable(name) + "' appears twice");
            }
        }
        if (refs.isEmpty()) throw new PthFormatException("no tensors found");
        // check every view first, then load the storages they use, then build the tensors
        Set<StorageRoot> used = new LinkedHashSet<>();
        for (Map.Entry<String, TensorRef> e : refs.entrySet()) {
            if (check(e.getKey(), e.getValue())) used.add(e.getValue().storage.root());
        }
        for (StorageRoot root : used) storageBytes(root);
        loader.load(used);
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        Map<TensorRef, ByteBuffer> built = new IdentityHashMap<>();
        for (Map.Entry<String, TensorRef> e : refs.entrySet()) {
            out.put(e.getKey(), materialize(e.getKey(), e.getValue(), budget, built));
        }
        return out;
    }

    /**
     * Checks that a tensor's type is supported and that its view (offset, size, stride) lies
     * inside its storage; returns whether it needs the storage's data (it has elements).
     */
    private static boolean check(String name, TensorRef t) {
        StorageRoot root = t.storage.root();
        if (root.type.dtype() == null) {
            throw new PthFormatException("tensor '" + printable(name) + "' is stored as torch." + root.type.name()
                    + ", which is not supported (only FloatStorage, HalfStorage, BFloat16Storage and DoubleStorage)");
        }
        long[] size = t.size;
        long numel = Tensor.numel(size);
        if (numel > Integer.MAX_VALUE) {
            throw new PthFormatException("tensor '" + printable(name) + "' has " + numel + " elements (at most 2^31 - 1 are supported)");
        }
        long limit = t.storage.numel(); // elements the view spans
        long last = t.offset;          // highest element index the tensor touches
        try {
            for (int d = size.length - 1; d >= 0; d--) {
                if (numel > 0) last = Math.addExact(last, Math.multiplyExact(size[d] - 1, t.stride[d]));
            }
        } catch (ArithmeticException e) {
            last = Long.MAX_VALUE;
        }
        if (numel > 0 && last >= limit) {
            throw new PthFormatException("tensor '" + printable(name) + "' (offset " + t.offset + ", size "
                    + java.util.Arrays.toString(size) + ", stride " + java.util.Arrays.toString(t.stride)
                    + ") reaches element " + (last == Long.MAX_VALUE ? "beyond 2^63" : Long.toString(last))
                    + " of a storage that holds " + limit);
        }
        return numel > 0;
    }

    /** A dense row-major tensor from a checked view of a loaded storage. */
    private static Tensor materialize(String name, TensorRef t, long[] budget, Map<TensorRef, ByteBuffer> built) {
        StorageRoot root = t.storage.root();
        DType dtype = root.type.dtype();
        long[] size = t.size;
        long numel = Tensor.numel(size);
        ByteBuffer done = built.get(t);
        if (done != null) return new Tensor(name, dtype, size, done);

        int es = dtype.size;
        ByteBuffer data;
        if (numel == 0) {
            data = ByteBuffer.allocate(0);
        } else {
            boolean contiguous = true;
            long expect = 1; // at most numel, which fits an int
            for (int d = size.length - 1; d >= 0; d--) {
                if (size[d] != 1 && t.stride[d] != expect) contiguous = false;
                expect *= size[d];
            }
            ByteBuffer storage = root.data;
            long first = t.storage.offset() + t.offset; // the view's first element in the root storage
            if (contiguous) {
                data = storage.slice((int) (first * es), (int) (numel * es));
            } else {
                long bytes = numel * es;
                if (bytes > budget[0]) {
                    throw new PthFormatException("tensor '" + printable(name) + "' would need " + bytes
                            + " more bytes of copies than the file size allows (strided views of one storage repeated too often)");
                }
                budget[0] -= bytes;
                data = gather(storage, es, first, size, t.stride, (int) numel);
            }
        }
        built.put(t, data);
        return new Tensor(name, dtype, size, data);
    }

    /** Copies a strided view (all indices already checked to lie inside the storage) row-major. */
    private static ByteBuffer gather(ByteBuffer src, int es, long first, long[] size, long[] stride, int numel) {
        ByteBuffer s = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer out = ByteBuffer.allocate(numel * es).order(ByteOrder.LITTLE_ENDIAN);
        int rank = size.length;
        long inner = rank == 0 ? 1 : size[rank - 1];
        long innerStride = rank == 0 ? 0 : stride[rank - 1];
        long rows = numel / inner;
        long[] idx = new long[Math.max(rank - 1, 0)];
        long rowStart = first;
        int o = 0;
        for (long r = 0; r < rows; r++) {
            long e = rowStart;
            for (long i = 0; i < inner; i++, e += innerStride, o += es) {
                int at = (int) (e * es);
                switch (es) {
                    case 2 -> out.putShort(o, s.getShort(at));
                    case 4 -> out.putInt(o, s.getInt(at));
                    case 8 -> out.putLong(o, s.getLong(at));
                    default -> {
                        for (int b = 0; b < es; b++) out.put(o + b, s.get(at + b));
                    }
                }
            }
            for (int d = rank - 2; d >= 0; d--) {
                idx[d]++;
                rowStart += stride[d];
                if (idx[d] < size[d]) break;
                rowStart -= stride[d] * size[d];
                idx[d] = 0;
            }
        }
        return out;
    }

    private static String printable(String s) {
        return TorchUnpickler.printable(s);
    }

    /** A message from elsewhere, made one line and not too long. */
    private static String oneLine(String s) {
        if (s == null) return "no details";
        String t = s.replaceAll("[\\r\\n\\t\\u2028\\u2029]+", " ").strip();
        return printable(t.length() > 300 ? t.substring(0, 300) + "..." : t);
    }
}
