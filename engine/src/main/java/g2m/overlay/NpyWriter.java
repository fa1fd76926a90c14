package g2m.overlay;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Writes a map as a NumPy {@code .npy} file (format version 1.0): float32 little-endian
 * ({@code '<f4'}), C order, shape {@code (height, width)}, header padded with spaces and a newline
 * to a multiple of 64 bytes as numpy itself writes it; whole or not at all, refusing an existing
 * file unless {@code overwrite}. {@code numpy.load} reads it back.
 */
public final class NpyWriter {
    private NpyWriter() {}

    public static void writeFloat32(Path target, float[] data, int offset, int height, int width, boolean overwrite) {
        Overlay.writeBytes(target, encode(data, offset, height, width), overwrite);
    }

    /** The file's bytes. */
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
        String text = dict + " ".repeat(total - unpadded) + "\n";
        byte[] t = text.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(10 + t.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        b.putShort((short) t.length);
        b.put(t);
        return b.array();
    }
}
