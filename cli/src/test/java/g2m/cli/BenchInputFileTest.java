package g2m.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import g2m.npy.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code bench --input-file}: the .npy reader ({@link Npy}: round trip, strict header checks) and the option end to end. */
class BenchInputFileTest {
    @TempDir
    Path dir;

    static final String F4 = "'descr': '<f4', 'fortran_order': False, ";

    /** A .npy file as numpy writes it: magic, version, header length, dict padded to 64 with spaces, '\n', data. */
    static byte[] npy(int major, String dict, byte[] data) {
        int prefix = major == 1 ? 10 : 12;
        int unpadded = prefix + dict.length() + 1;
        int total = (unpadded + 63) / 64 * 64;
        byte[] text = (dict + " ".repeat(total - unpadded) + "\n").getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(prefix + text.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) major).put((byte) 0);
        if (major == 1) b.putShort((short) text.length);
        else b.putInt(text.length);
        return b.put(text).put(data).array();
    }

    static byte[] floats(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    static float[] ramp(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (i % 97) * 0.25f - 12f + (i == 5 ? Float.MIN_VALUE : 0);
        return v;
    }

    Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    static String engineWeights() {
        try {
            return Path.of(BenchInputFileTest.class.getResource("/fixtures/tiny_vgg16_expected.safetensors").toURI()).toString();
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void roundTripVersion1And2() throws IOException {
        float[] v = ramp(2 * 3 * 32 * 40);
        for (int major : new int[] {1, 2}) {
            Path p = write("x" + major + ".npy", npy(major, "{" + F4 + "'shape': (2, 3, 32, 40), }", floats(v)));
            Npy.Float32Array in = Npy.readFloat32(p);
            assertArrayEquals(new long[] {2, 3, 32, 40}, in.shape());
            assertArrayEquals(v, in.data());
        }
        // key order, double quotes, no trailing comma, no padding: still what numpy accepts
        Path p = write("y.npy", npy(1, "{\"shape\": (1,3,33,34), \"fortran_order\": False, \"descr\": \"<f4\"}", floats(ramp(3 * 33 * 34))));
        assertArrayEquals(ramp(3 * 33 * 34), Npy.readFloat32(p).data());
    }

    @Test
    void benchTakesBatchAndSizeFromTheFile() throws IOException {
        Path p = write("x.npy", npy(1, "{" + F4 + "'shape': (2, 3, 32, 40), }", floats(ramp(2 * 3 * 32 * 40))));
        CliTest.Result r = CliTest.run("bench", "--weights", engineWeights(), "--input-file", p.toString(),
                "--seconds", "0", "--min-runs", "1", "--warmup", "0");
        assertEquals(0, r.code(), r.err());
        var j = new ObjectMapper().readTree(r.out());
        assertEquals(2, j.get("batch").asInt(), r.out());
        assertEquals("32x40", j.get("input").asText(), r.out());
        assertEquals(p.toString(), j.get("input_file").asText(), r.out());
        // explicit options that agree are fine
        assertEquals(0, CliTest.run("bench", "--weights", engineWeights(), "--input-file", p.toString(), "--batch", "2",
                "--seconds", "0", "--min-runs", "1", "--warmup", "0").code());
    }

    @Test
    void mismatchedOptionsAreOneLineErrors() throws IOException {
        Path p = write("x.npy", npy(1, "{" + F4 + "'shape': (2, 3, 32, 32), }", floats(ramp(2 * 3 * 32 * 32))));
        assertError("holds 2 images but --batch is 8", "--input-file", p.toString(), "--batch", "8");
        assertError("holds 32x32 inputs but --size is 64", "--input-file", p.toString(), "--size", "64");
        Path small = write("s.npy", npy(1, "{" + F4 + "'shape': (1, 3, 16, 32), }", floats(ramp(3 * 16 * 32))));
        assertError("at least 32", "--input-file", small.toString());
        assertError("no such file", "--input-file", dir.resolve("missing.npy").toString());
    }

    @Test
    void badFilesAreOneLineErrors() throws IOException {
        byte[] d12 = floats(ramp(3 * 32 * 32));
        String shape = "'shape': (1, 3, 32, 32), }";
        badFile("not a .npy file", "hello, this is not numpy at all".getBytes(StandardCharsets.US_ASCII));
        badFile("truncated", new byte[] {(byte) 0x93, 'N', 'U'});
        byte[] v9 = npy(1, "{" + F4 + shape, d12);
        v9[6] = 9;
        badFile("unsupported .npy format version 9.0", v9);
        badFile("dtype is '<f8'", npy(1, "{'descr': '<f8', 'fortran_order': False, " + shape, d12));
        badFile("dtype is '>f4'", npy(1, "{'descr': '>f4', 'fortran_order': False, " + shape, d12));
        badFile("Fortran order", npy(1, "{'descr': '<f4', 'fortran_order': True, " + shape, d12));
        badFile("expected [N, 3, H, W]", npy(1, "{" + F4 + "'shape': (3, 32, 32), }", d12));
        badFile("expected [N, 3, H, W]", npy(1, "{" + F4 + "'shape': (1, 1, 3, 32, 32), }", d12));
        badFile("expected [N, 3, H, W]", npy(1, "{" + F4 + "'shape': (1, 4, 32, 24), }", d12));
        badFile("is empty", npy(1, "{" + F4 + "'shape': (0, 3, 32, 32), }", new byte[0]));
        badFile("needs 12288", npy(1, "{" + F4 + shape, Arrays.copyOf(d12, d12.length - 4)));
        badFile("needs 12288", npy(1, "{" + F4 + shape, Arrays.copyOf(d12, d12.length + 4)));
        badFile("too large", npy(1, "{" + F4 + "'shape': (100000, 3, 100000, 100000), }", d12));
        badFile("expected a dimension", npy(1, "{" + F4 + "'shape': (1, 3, -32, 32), }", d12));
        badFile("repeats 'descr'", npy(1, "{" + F4 + "'descr': '<f4', " + shape, d12));
        badFile("unexpected header key 'dtype'", npy(1, "{" + F4 + "'dtype': 1, " + shape, d12));
        badFile("lacks 'shape'", npy(1, "{" + F4 + "}", d12));
        badFile("expected the end of the header", npy(1, "{" + F4 + shape + " junk", d12));
        badFile("expected True or False", npy(1, "{'descr': '<f4', 'fortran_order': 0, " + shape, d12));
        byte[] noNewline = npy(1, "{" + F4 + shape, d12);
        noNewline[10 + (noNewline[8] & 0xff) - 1] = ' '; // the header text's last byte (its length is < 256 here)
        badFile("does not end with a newline", noNewline);
        byte[] longHeader = npy(1, "{" + F4 + shape, d12);
        longHeader[8] = (byte) 0xff;
        longHeader[9] = (byte) 0xff;
        badFile("past the end of the file", longHeader);
        // what the overlay writer makes (a 2-D map) is a valid .npy, but not a network input
        badFile("shape is [32, 96], expected [N, 3, H, W]", Npy.encode(ramp(32 * 96), 0, 32, 96));
    }

    private void badFile(String expected, byte[] bytes) throws IOException {
        Path p = write("bad.npy", bytes);
        String err = assertError(expected, "--input-file", p.toString());
        assertTrue(err.contains(p.toString()), err);
    }

    private String assertError(String expected, String... args) {
        String[] common = {"bench", "--weights", engineWeights(), "--seconds", "0", "--min-runs", "1", "--warmup", "0"};
        String[] all = Arrays.copyOf(common, common.length + args.length);
        System.arraycopy(args, 0, all, common.length, args.length);
        CliTest.Result r = CliTest.run(all);
        assertEquals(2, r.code(), r.out() + r.err());
        String err = r.oneLineError();
        assertEquals(1, err.strip().lines().count(), err);
        assertTrue(err.contains(expected), "expected '" + expected + "' in: " + err);
        return err;
    }
}
