package g2m.image;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The files written by tools/reference/image_reference.py (test resources under /images/). */
public final class Goldens {
    private Goldens() {}

    /**
     * engine/src/test/resources/images/NAME: from the classpath when the build copies it there,
     * else from the module directory (engine/pom.xml's testResources list only the converter's
     * fixtures today; surefire runs in the module directory and sets {@code basedir}).
     */
    public static Path path(String name) {
        URL u = Goldens.class.getResource("/images/" + name);
        if (u != null && "file".equals(u.getProtocol())) {
            try {
                return Path.of(u.toURI());
            } catch (URISyntaxException e) {
                throw new AssertionError(e);
            }
        }
        Path p = Path.of(System.getProperty("basedir", "."), "src", "test", "resources", "images", name);
        if (!Files.isRegularFile(p)) throw new AssertionError("missing test resource " + p + " (run tools/reference/image_reference.py)");
        return p;
    }

    /** A .npy array: its shape, dtype descr and raw little-endian data. */
    public record Npy(int[] shape, String descr, ByteBuffer data) {
        public byte[] uint8() {
            if (!descr.equals("|u1")) throw new AssertionError("not uint8: " + descr);
            byte[] b = new byte[data.remaining()];
            data.duplicate().get(b);
            return b;
        }

        public float[] float32() {
            if (!descr.equals("<f4")) throw new AssertionError("not float32: " + descr);
            float[] f = new float[data.remaining() / 4];
            data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
            return f;
        }
    }

    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([^']+)'");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

    public static Npy npy(String name) {
        try {
            byte[] all = Files.readAllBytes(path(name));
            ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
            if ((all[0] & 0xFF) != 0x93 || all[6] != 1) throw new AssertionError(name + ": not an npy v1 file");
            int hlen = b.getShort(8) & 0xFFFF;
            String header = new String(all, 10, hlen, StandardCharsets.US_ASCII);
            if (header.contains("'fortran_order': True")) throw new AssertionError(name + ": Fortran order");
            Matcher d = DESCR.matcher(header);
            Matcher s = SHAPE.matcher(header);
            if (!d.find() || !s.find()) throw new AssertionError(name + ": bad header " + header);
            String[] parts = s.group(1).split(",");
            int k = 0;
            int[] shape = new int[parts.length];
            for (String p : parts) if (!p.isBlank()) shape[k++] = Integer.parseInt(p.strip());
            int[] sh = java.util.Arrays.copyOf(shape, k);
            return new Npy(sh, d.group(1), ByteBuffer.wrap(all, 10 + hlen, all.length - 10 - hlen).slice());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Mean and max absolute difference of two equal-length byte arrays (as unsigned). */
    public static double[] diff(byte[] a, byte[] b) {
        if (a.length != b.length) throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        long sum = 0;
        int max = 0;
        for (int i = 0; i < a.length; i++) {
            int d = Math.abs((a[i] & 0xFF) - (b[i] & 0xFF));
            sum += d;
            max = Math.max(max, d);
        }
        return new double[] {a.length == 0 ? 0 : (double) sum / a.length, max};
    }
}
