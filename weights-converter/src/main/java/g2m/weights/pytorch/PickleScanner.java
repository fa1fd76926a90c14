package g2m.weights.pytorch;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A syntactic pass over a pickle's opcodes, run before the bytes reach Pyrolite. It executes
 * nothing: it only finds where the pickle ends (its STOP opcode) and checks that every opcode
 * is known and every argument fits in the bytes that follow. Pyrolite allocates
 * {@code new byte[n]} from length prefixes before reading them, so after this pass no length
 * can make it allocate more than the pickle's own size. It also bounds the nesting of MARKs
 * (tuples, lists and dicts built from marks), the length of text arguments (numbers parsed
 * from decimal text would otherwise cost quadratic time) and of binary integers (LONG4).
 */
final class PickleScanner {
    private PickleScanner() {}

    /** Deeper nesting of MARK-built containers is refused; a state dict needs about five. */
    static final int MAX_MARK_DEPTH = 1000;
    /** Longest decimal number (INT, LONG, FLOAT, GET, PUT) accepted. */
    static final int MAX_NUMBER_LINE = 64;
    /**
     * Longest LONG4 integer accepted, in bytes. A state dict holds no integer beyond 64 bits, and
     * anything that turns a huge one into decimal text (a message, say) takes quadratic time.
     */
    static final int MAX_LONG4_BYTES = 1024;
    /** Longest module or class name in GLOBAL / INST. */
    static final int MAX_NAME_LINE = 1024;

    /**
     * Scans the pickle that starts at {@code start} in {@code buf} (absolute positions, up to
     * {@code buf.limit()}) and returns the position just after its STOP opcode.
     *
     * @param where how to name the bytes in messages, e.g. "data.pkl"
     * @param base  added to positions in messages (the buffer's offset in that object)
     */
    static int scan(ByteBuffer buf, int start, String where, long base) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int lim = b.limit();
        int p = start;
        int marks = 0;
        while (true) {
            if (p >= lim) {
                throw new PthFormatException("pickle in " + where + " is truncated (it ends without a STOP opcode)");
            }
            int at = p;
            int op = b.get(p++) & 0xff;
            switch (op) {
                case '.': // STOP
                    return p;
                case '(': // MARK
                    if (++marks > MAX_MARK_DEPTH) {
                        throw new PthFormatException("pickle in " + where + " nests deeper than " + MAX_MARK_DEPTH
                                + " levels (at offset " + (base + at) + ")");
                    }
                    break;
                case 't': case 'l': case 'd': case 'e': case 'u': case '1': case 'o':
                case 0x90: case 0x91: // TUPLE LIST DICT APPENDS SETITEMS POP_MARK OBJ ADDITEMS FROZENSET
                    if (--marks < 0) throw unmatched(where, base + at);
                    break;
                case 'i': // INST: module and class lines, then pops to a mark
                    p = line(b, p, lim, MAX_NAME_LINE, where, base, at);
                    p = line(b, p, lim, MAX_NAME_LINE, where, base, at);
                    if (--marks < 0) throw unmatched(where, base + at);
                    break;
                case 'c': // GLOBAL
                    p = line(b, p, lim, MAX_NAME_LINE, where, base, at);
                    p = line(b, p, lim, MAX_NAME_LINE, where, base, at);
                    break;
                case 'I': case 'L': case 'F': case 'g': case 'p': // INT LONG FLOAT GET PUT
                    p = line(b, p, lim, MAX_NUMBER_LINE, where, base, at);
                    break;
                case 'S': case 'V': case 'P': // STRING UNICODE PERSID
                    p = line(b, p, lim, Integer.MAX_VALUE, where, base, at);
                    break;
                // no argument
                case '0': case '2': case 'N': case 'Q': case 'R': case 'a': case 'b': case '}':
                case ']': case 's': case ')': case 0x81: case 0x85: case 0x86: case 0x87:
                case 0x88: case 0x89: case 0x8f: case 0x92: case 0x93: case 0x94: case 0x98:
                    break;
                // fixed-size arguments
                case 0x80: case 'K': case 'q': case 'h': // PROTO BININT1 BINPUT BINGET
                    p = skip(p, 1, lim, where, base, at);
                    break;
                case 'M': // BININT2
                    p = skip(p, 2, lim, where, base, at);
                    break;
                case 'J': case 'j': case 'r': // BININT LONG_BINGET LONG_BINPUT
                    p = skip(p, 4, lim, where, base, at);
                    break;
                case 'G': case 0x95: // BINFLOAT FRAME
                    p = skip(p, 8, lim, where, base, at);
                    break;
                // counted arguments
                case 'U': case 'C': case 0x8c: case 0x8a: { // SHORT_BINSTRING SHORT_BINBYTES SHORT_BINUNICODE LONG1
                    p = skip(p, 1, lim, where, base, at);
                    p = skip(p, b.get(p - 1) & 0xff, lim, where, base, at);
                    break;
                }
                case 'T': { // BINSTRING: signed 4-byte length
                    p = skip(p, 4, lim, where, base, at);
                    p = skip(p, b.getInt(p - 4), lim, where, base, at);
                    break;
                }
                case 0x8b: { // LONG4: signed 4-byte length
                    p = skip(p, 4, lim, where, base, at);
                    int n = b.getInt(p - 4);
                    if (n > MAX_LONG4_BYTES) {
                        throw new PthFormatException("pickle in " + where + " holds a " + n + "-byte integer (LONG4 at offset "
                                + (base + at) + "); PyTorch never writes integers over " + MAX_LONG4_BYTES + " bytes");
                    }
                    p = skip(p, n, lim, where, base, at);
                    break;
                }
                case 'B': case 'X': { // BINBYTES BINUNICODE: unsigned 4-byte length
                    p = skip(p, 4, lim, where, base, at);
                    p = skip(p, b.getInt(p - 4) & 0xffffffffL, lim, where, base, at);
                    break;
                }
                case 0x8d: case 0x8e: case 0x96: { // BINUNICODE8 BINBYTES8 BYTEARRAY8
                    p = skip(p, 8, lim, where, base, at);
                    p = skip(p, b.getLong(p - 8), lim, where, base, at);
                    break;
                }
                case 0x82: case 0x83: case 0x84:
                    throw new PthFormatException("pickle in " + where + " uses the extension registry (EXT opcode at offset "
                            + (base + at) + "), which PyTorch never writes");
                case 0x97:
                    throw new PthFormatException("pickle in " + where + " refers to out-of-band buffers (NEXT_BUFFER at offset "
                            + (base + at) + "), which PyTorch never writes");
                default:
                    throw new PthFormatException(String.format("invalid pickle opcode 0x%02x at offset %d of %s",
                            op, base + at, where));
            }
        }
    }

    private static PthFormatException unmatched(String where, long offset) {
        return new PthFormatException("pickle in " + where + " is corrupt (an opcode at offset " + offset
                + " has no matching MARK)");
    }

    /** Skips {@code n} argument bytes, which must exist. */
    private static int skip(int p, long n, int lim, String where, long base, int at) {
        if (n < 0 || n > lim - p) {
            throw new PthFormatException("pickle in " + where + " is truncated or corrupt: the opcode at offset " + (base + at)
                    + (n < 0 ? " has a negative length (" + n + ")"
                             : " needs " + n + " more byte" + (n == 1 ? "" : "s") + " but only " + (lim - p) + " remain"));
        }
        return p + (int) n;
    }

    /** Skips a newline-terminated argument of at most {@code max} bytes before the newline. */
    private static int line(ByteBuffer b, int p, int lim, int max, String where, long base, int at) {
        int end = (int) Math.min(lim, (long) p + max + 1);
        for (int i = p; i < end; i++) {
            if (b.get(i) == '\n') return i + 1;
        }
        if (end < lim) {
            throw new PthFormatException("pickle in " + where + " is corrupt: the text argument of the opcode at offset "
                    + (base + at) + " is longer than " + max + " bytes");
        }
        throw new PthFormatException("pickle in " + where + " is truncated (a text argument at offset " + (base + at)
                + " has no end)");
    }
}
