package g2m.eval;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Makes a level-5 MAT file (MATLAB v5/v6/v7, what {@code scipy.io.loadmat} reads) safe to hand to
 * the MFL library: MFL allocates what each element's tag declares before reading it and recurses
 * once per nesting level, so a hostile file could make it allocate gigabytes or overflow the
 * stack. This check walks the element tree without interpreting any values: every tag must fit
 * inside its parent, a cell or struct cannot declare more children than its bytes can hold,
 * nesting is limited, and only numeric, character, cell and struct arrays are accepted. Compressed
 * elements (v7) are inflated here, with a cap, so that MFL reads plain bytes. The reading itself is
 * MFL's ({@link MatBoxes}).
 */
final class MatFileCheck {
    private MatFileCheck() {}

    static final int HEADER = 128;
    static final int MAX_DEPTH = 16;
    static final int MAX_FIELDS = 4096;
    private static final int MI_INT8 = 1, MI_INT32 = 5, MI_UINT32 = 6, MI_MATRIX = 14, MI_COMPRESSED = 15;
    private static final int CELL = 1, STRUCT = 2, CHAR = 4, DOUBLE = 6, UINT64 = 15;

    /**
     * The file as MFL should read it: header (subsystem offset cleared) and every top-level
     * element uncompressed, at most {@code maxBytes} in all; an {@link EvalException} naming
     * {@code what} when the file is not such a MAT file or its structure does not add up.
     */
    static byte[] plain(byte[] file, String what, long maxBytes) {
        if (file.length >= 520 && file[512] == (byte) 0x89 && file[513] == 'H' && file[514] == 'D' && file[515] == 'F') {
            throw new EvalException(what + " is a MATLAB v7.3 (HDF5) file; save it again with save(..., '-v7'), the format layercam_loc's scipy.io.loadmat reads");
        }
        if (file.length < HEADER || !new String(file, 0, 6, StandardCharsets.ISO_8859_1).equals("MATLAB")) {
            throw new EvalException(what + " is not a MATLAB MAT-file (no 'MATLAB' header)");
        }
        ByteOrder order;
        if (file[126] == 'I' && file[127] == 'M') order = ByteOrder.LITTLE_ENDIAN;
        else if (file[126] == 'M' && file[127] == 'I') order = ByteOrder.BIG_ENDIAN;
        else throw new EvalException(what + " is not a level-5 MAT-file (no endian indicator)");
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.min(file.length * 2, 1 << 20));
        out.write(file, 0, 116);
        out.writeBytes(new byte[8]);                     // no subsystem (MATLAB objects are refused anyway)
        out.write(file, 124, 4);
        ByteBuffer in = ByteBuffer.wrap(file).order(order);
        int pos = HEADER;
        while (pos < file.length) {
            if (file.length - pos < 8) throw bad(what, "ends inside an element tag");
            int type = in.getInt(pos);
            long size = in.getInt(pos + 4) & 0xFFFF_FFFFL;
            if (size > file.length - pos - 8) throw bad(what, "has an element of " + size + " bytes where " + (file.length - pos - 8) + " remain");
            byte[] element;
            if (type == MI_COMPRESSED) {
                element = inflate(file, pos + 8, (int) size, maxBytes - out.size(), what);
                pos += 8 + (int) size;
            } else if (type == MI_MATRIX) {
                int len = 8 + (int) size;
                element = java.util.Arrays.copyOfRange(file, pos, pos + len);
                pos += padded(len);
                pos = Math.min(pos, file.length);
            } else {
                throw bad(what, "has a top-level element of type " + type + " (expected a matrix)");
            }
            ByteBuffer e = ByteBuffer.wrap(element).order(order);
            int end = matrix(e, 0, element.length, 0, what);
            if (out.size() + (long) padded(end) > maxBytes) throw new EvalException(what + " holds more than " + (maxBytes >> 20) + " MB of data; not a box annotation");
            out.write(element, 0, end);
            out.writeBytes(new byte[padded(end) - end]);
        }
        return out.toByteArray();
    }

    /** zlib data inflated, refused beyond {@code cap} bytes. */
    private static byte[] inflate(byte[] file, int from, int len, long cap, String what) {
        Inflater inf = new Inflater();
        try {
            inf.setInput(file, from, len);
            ByteArrayOutputStream out = new ByteArrayOutputStream(Math.min(len * 4 + 64, 1 << 20));
            byte[] buf = new byte[1 << 16];
            while (!inf.finished()) {
                int n = inf.inflate(buf);
                if (n == 0 && (inf.needsInput() || inf.needsDictionary())) throw bad(what, "has a compressed element that is cut short");
                out.write(buf, 0, n);
                if (out.size() > cap) throw new EvalException(what + " holds more than " + (cap >> 20) + " MB of data; not a box annotation");
            }
            return out.toByteArray();
        } catch (DataFormatException e) {
            throw bad(what, "has a damaged compressed element (" + e.getMessage() + ")");
        } finally {
            inf.end();
        }
    }

    /** Checks the matrix element at {@code pos} (within {@code end}); returns where it ends (unpadded). */
    private static int matrix(ByteBuffer b, int pos, int end, int depth, String what) {
        if (depth > MAX_DEPTH) throw bad(what, "nests arrays more than " + MAX_DEPTH + " levels deep");
        Tag t = tag(b, pos, end, what);
        if (t.type != MI_MATRIX) throw bad(what, "has an element of type " + t.type + " where a matrix belongs");
        int stop = t.dataEnd();
        if (t.size == 0) return stop;                    // an empty array
        int p = t.data;
        Tag flags = expect(b, p, stop, MI_UINT32, "array flags", what);
        if (flags.size != 8) throw bad(what, "has array flags of " + flags.size + " bytes");
        int cls = b.getInt(flags.data) & 0xFF;
        p = flags.next;
        Tag dims = expect(b, p, stop, MI_INT32, "dimensions", what);
        if (dims.size < 8) throw bad(what, "has an array with fewer than 2 dimensions");
        long elements = 1;
        for (int q = dims.data; q < dims.dataEnd(); q += 4) {
            int d = b.getInt(q);
            if (d < 0) throw bad(what, "has a negative dimension");
            elements = Math.min(elements * d, 1L << 40);
        }
        p = dims.next;
        p = expect(b, p, stop, MI_INT8, "array name", what).next;
        if (cls == CELL || cls == STRUCT) {
            long fields = 1;
            if (cls == STRUCT) {
                Tag len = expect(b, p, stop, MI_INT32, "field name length", what);
                if (len.size != 4) throw bad(what, "has a bad field name length");
                int maxLen = b.getInt(len.data);
                Tag names = expect(b, len.next, stop, MI_INT8, "field names", what);
                fields = maxLen <= 0 ? 0 : names.size / maxLen;
                if (fields > MAX_FIELDS) throw bad(what, "has a struct with " + fields + " fields");
                p = names.next;
            }
            long children = elements * fields;
            if (children * 8 > stop - p) throw bad(what, "declares " + children + " array elements in " + (stop - p) + " bytes");
            for (long k = 0; k < children; k++) p = padded(matrix(b, p, stop, depth + 1, what));
        } else if (cls == CHAR || (cls >= DOUBLE && cls <= UINT64)) {
            // data: real (and imaginary) part, or the characters; MFL fills a character array that
            // has no data with blanks, so its size must be what the bytes could hold
            if (cls == CHAR && elements > 4L * (stop - p) + 8) throw bad(what, "declares " + elements + " characters in " + (stop - p) + " bytes");
            int parts = 0;
            while (p < stop) {
                if (++parts > 2) throw bad(what, "has an array with more than two data parts");
                p = tag(b, p, stop, what).next;
            }
        } else {
            throw bad(what, "holds a MATLAB " + className(cls) + " array; only numbers, text, cells and structs are read");
        }
        return stop;
    }

    private record Tag(int type, int size, int data, int next) {
        int dataEnd() {
            return data + size;
        }
    }

    /** The tag at {@code pos}: long form (8 bytes + data, padded to 8) or small form (data in the tag's last 4 bytes). */
    private static Tag tag(ByteBuffer b, int pos, int end, String what) {
        if (end - pos < 8) throw bad(what, "ends inside an element tag");
        int w = b.getInt(pos);
        if ((w >>> 16) != 0) {                           // small data element
            int size = w >>> 16;
            if (size > 4) throw bad(what, "has a small data element of " + size + " bytes");
            return new Tag(w & 0xFFFF, size, pos + 4, pos + 8);
        }
        long size = b.getInt(pos + 4) & 0xFFFF_FFFFL;
        if (size > end - pos - 8) throw bad(what, "has an element of " + size + " bytes where " + (end - pos - 8) + " remain");
        int next = (int) Math.min(end, padded(pos + 8 + size));
        return new Tag(w, (int) size, pos + 8, next);
    }

    private static Tag expect(ByteBuffer b, int pos, int end, int type, String name, String what) {
        Tag t = tag(b, pos, end, what);
        if (t.type != type) throw bad(what, "has an element of type " + t.type + " where the " + name + " belong");
        return t;
    }

    private static int padded(long n) {
        return (int) ((n + 7) & ~7L);
    }

    private static String className(int cls) {
        return switch (cls) {
            case 3 -> "object";
            case 5 -> "sparse";
            case 16 -> "function handle";
            case 17 -> "opaque (class instance)";
            default -> "class-" + cls;
        };
    }

    private static EvalException bad(String what, String why) {
        return new EvalException(what + " is not a usable MAT-file: it " + why);
    }
}
