package g2m.npy;

import g2m.weights.AtomicFiles;
import g2m.weights.WeightsException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * NumPy {@code .npy} files of float32 ({@code '<f4'}, C order), the one format the engine reads
 * tensors from ({@code bench --input-file}) and writes raw maps to ({@code --raw}).
 *
 * <p>Reading accepts format 1.0, 2.0 and 3.0 with the header numpy writes (any key order, either
 * quote, trailing commas, padding) and nothing after the data; every problem is an
 * {@link NpyException} naming the file. Writing produces format 1.0 with the header padded to a
 * multiple of 64 bytes as numpy does, so {@code numpy.load} reads it back byte for byte.
 */
public final class Npy {
    private Npy() {}

    /** Longest header read (numpy's own headers are a few hundred bytes). */
    static final int MAX_HEADER = 1 << 16;

    /** A float32 array and its shape. */
    public record Float32Array(long[] shape, float[] data) {}

    /** Reads a float32 C-order array of any rank (at most 2^31 − 17 values). */
    public static Float32Array readFloat32(Path file) {
        try (FileChannel ch = FileChannel.open(file)) {
            long fileSize = ch.size();
            ByteBuffer pre = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, pre, file);
            pre.flip();
            byte[] magic = new byte[6];
            pre.get(magic);
            if (magic[0] != (byte) 0x93 || !"NUMPY".equals(new String(magic, 1, 5, StandardCharsets.ISO_8859_1))) {
                throw bad(file, "not a .npy file (no \\x93NUMPY magic)");
            }
            int major = pre.get() & 0xff, minor = pre.get() & 0xff;
            long headerLen;
            int prefix;
            if (major == 1 && minor == 0) {
                headerLen = pre.getShort() & 0xffff;
                prefix = 10;
            } else if ((major == 2 || major == 3) && minor == 0) {
                headerLen = pre.getInt() & 0xffffffffL;
                prefix = 12;
            } else {
                throw bad(file, "unsupported .npy format version " + major + "." + minor + " (1.0, 2.0 or 3.0)");
            }
            if (headerLen > MAX_HEADER || prefix + headerLen > fileSize) {
                throw bad(file, "header length " + headerLen + " is past the end of the file or too long");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            ch.position(prefix);
            readFully(ch, hb, file);
            String header = new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            long[] shape = parseHeader(file, header);
            long count = 1;
            for (long d : shape) {
                if (d > Integer.MAX_VALUE || (count = count * d) > Integer.MAX_VALUE - 16) {
                    throw bad(file, "shape " + Arrays.toString(shape) + " is too large (more than 2^31 values)");
                }
            }
            long dataBytes = fileSize - prefix - headerLen;
            if (dataBytes != count * 4) {
                throw bad(file, "holds " + dataBytes + " data bytes, shape " + Arrays.toString(shape) + " needs " + count * 4);
            }
            ByteBuffer db = ByteBuffer.allocate((int) dataBytes).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, db, file);
            db.flip();
            float[] v = new float[(int) count];
            db.asFloatBuffer().get(v);
            return new Float32Array(shape, v);
        } catch (NoSuchFileException e) {
            throw new NpyException("no such file: " + file);
        } catch (IOException e) {
            throw new NpyException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Writes {@code height × width} values from {@code data[offset…]}, whole or not at all; an existing file only with {@code overwrite}. */
    public static void writeFloat32(Path target, float[] data, int offset, int height, int width, boolean overwrite) {
        byte[] content = encode(data, offset, height, width);
        try {
            AtomicFiles.write(target, overwrite, content);
        } catch (WeightsException e) {
            throw new NpyException(e.getMessage(), e);
        }
    }

    /** The bytes of a {@code (height, width)} file. */
    public static byte[] encode(float[] data, int offset, int height, int width) {
        if (height < 0 || width < 0) throw new IllegalArgumentException("shape must be non-negative, got (" + height + ", " + width + ")");
        int n = Math.multiplyExact(height, width);
        Objects.checkFromIndexSize(offset, n, data.length);
        byte[] header = header(height, width);
        ByteBuffer b = ByteBuffer.allocate(Math.addExact(header.length, Math.multiplyExact(4, n))).order(ByteOrder.LITTLE_ENDIAN);
        b.put(header);
        for (int i = 0; i < n; i++) b.putFloat(data[offset + i]);
        return b.array();
    }

    /** Magic, version 1.0, header length, and the dict, padded so that the data starts at a multiple of 64. */
    static byte[] header(int height, int width) {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + height + ", " + width + "), }";
        int unpadded = 10 + dict.length() + 1;               // magic(6) + version(2) + length(2) + dict + '\n'
        int total = (unpadded + 63) / 64 * 64;
        byte[] t = (dict + " ".repeat(total - unpadded) + "\n").getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(10 + t.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        b.putShort((short) t.length);
        b.put(t);
        return b.array();
    }

    private static void readFully(FileChannel ch, ByteBuffer b, Path file) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) throw bad(file, "truncated");
        }
    }

    /** Header text fit for a one-line message: whitespace collapsed, at most 120 characters. */
    static String clip(String t) {
        String v = t.strip().replaceAll("\\s+", " ");
        return v.length() <= 120 ? v : v.substring(0, 117) + "...";
    }

    static NpyException bad(Path file, String why) {
        return new NpyException(file + ": " + why);
    }

    /**
     * The header dict, as numpy writes it: {'descr': '<f4', 'fortran_order': False, 'shape': (N, 3, H, W), }
     * (any key order, either quote, trailing commas, padding spaces, one final newline).
     */
    static long[] parseHeader(Path file, String header) {
        if (!header.endsWith("\n")) throw bad(file, "header does not end with a newline");
        HeaderParser p = new HeaderParser(file, header.substring(0, header.length() - 1));
        String descr = null;
        Boolean fortran = null;
        long[] shape = null;
        p.expect('{');
        while (!p.peek('}')) {
            String key = p.string();
            p.expect(':');
            switch (key) {
                case "descr" -> {
                    if (descr != null) throw bad(file, "header repeats 'descr'");
                    descr = p.string();
                }
                case "fortran_order" -> {
                    if (fortran != null) throw bad(file, "header repeats 'fortran_order'");
                    fortran = p.bool();
                }
                case "shape" -> {
                    if (shape != null) throw bad(file, "header repeats 'shape'");
                    shape = p.tuple();
                }
                default -> throw bad(file, "unexpected header key '" + clip(key) + "' (expected descr, fortran_order, shape)");
            }
            if (!p.peek('}')) p.expect(',');
        }
        p.expect('}');
        p.end();
        if (descr == null || fortran == null || shape == null) {
            throw bad(file, "header lacks " + (descr == null ? "'descr'" : fortran == null ? "'fortran_order'" : "'shape'"));
        }
        if (!descr.equals("<f4")) {
            throw bad(file, "dtype is '" + clip(descr) + "', expected float32 little-endian '<f4' (numpy: x.astype('<f4'))");
        }
        if (fortran) throw bad(file, "array is in Fortran order, expected C order (numpy: np.ascontiguousarray(x))");
        return shape;
    }

    /** A tokenizer for the tiny Python-literal subset .npy headers use. */
    private static final class HeaderParser {
        final Path file;
        final String s;
        int i;

        HeaderParser(Path file, String s) {
            this.file = file;
            this.s = s;
        }

        void skip() {
            while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) i++;
        }

        boolean peek(char c) {
            skip();
            return i < s.length() && s.charAt(i) == c;
        }

        void expect(char c) {
            if (!peek(c)) throw error("'" + c + "'");
            i++;
        }

        void end() {
            skip();
            if (i != s.length()) throw error("the end of the header");
        }

        String string() {
            skip();
            char q = i < s.length() ? s.charAt(i) : 0;
            if (q != '\'' && q != '"') throw error("a quoted string");
            int close = s.indexOf(q, i + 1);
            if (close < 0) throw error("a closing quote");
            String v = s.substring(i + 1, close);
            i = close + 1;
            return v;
        }

        boolean bool() {
            skip();
            if (s.startsWith("True", i)) {
                i += 4;
                return true;
            }
            if (s.startsWith("False", i)) {
                i += 5;
                return false;
            }
            throw error("True or False");
        }

        long[] tuple() {
            expect('(');
            List<Long> v = new ArrayList<>();
            while (!peek(')')) {
                int start = i;
                while (i < s.length() && Character.isDigit(s.charAt(i)) && i - start < 12) i++;
                if (i == start || (i < s.length() && Character.isDigit(s.charAt(i)))) throw error("a dimension (0 .. 10^12)");
                v.add(Long.parseLong(s.substring(start, i)));
                if (!peek(')')) expect(',');
            }
            expect(')');
            return v.stream().mapToLong(Long::longValue).toArray();
        }

        NpyException error(String expected) {
            return bad(file, "bad .npy header at character " + i + ": expected " + expected + " in " + clip(s));
        }
    }
}
