package g2m.npy;

import g2m.image.Goldens;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The .npy writer against numpy's own bytes, and the reader on what the writer makes (the reader's strict checks: BenchInputFileTest). */
class NpyTest {
    @TempDir
    Path dir;

    @Test
    void npyMatchesNumpyByteForByte() throws IOException {
        float[] a = new float[15];
        for (int i = 0; i < 15; i++) a[i] = i * 0.25f - 1.5f;
        byte[] golden = Files.readAllBytes(Goldens.path("npy_golden.npy"));
        assertArrayEquals(golden, Npy.encode(a, 0, 3, 5));
        Path p = dir.resolve("map.npy");
        float[] padded = new float[20];
        System.arraycopy(a, 0, padded, 2, 15);
        Npy.writeFloat32(p, padded, 2, 3, 5, false);
        assertArrayEquals(golden, Files.readAllBytes(p));
        assertThrows(NpyException.class, () -> Npy.writeFloat32(p, a, 0, 3, 5, false));
        Npy.writeFloat32(p, a, 0, 5, 3, true);
        assertFalse(Arrays.equals(golden, Files.readAllBytes(p)));
        assertArrayEquals(a, Goldens.npy("npy_golden.npy").float32());
    }

    @Test
    void npyHeaderAlignsDataTo64Bytes() {
        for (int[] s : new int[][] {{0, 0}, {1, 1}, {7, 9}, {14, 14}, {224, 298}, {100000, 100000}}) {
            byte[] h = Npy.header(s[0], s[1]);
            assertEquals(0, h.length % 64, Arrays.toString(s));
            assertEquals('\n', h[h.length - 1]);
            assertEquals(h.length - 10, (h[8] & 0xFF) | (h[9] & 0xFF) << 8);
            String text = new String(h, 10, h.length - 10, java.nio.charset.StandardCharsets.US_ASCII);
            assertTrue(text.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (" + s[0] + ", " + s[1] + "), }"), text);
        }
    }

    /**
     * Mutants of a valid file (bytes flipped, truncated, huge lengths planted, spans cut or
     * repeated): each is read or refused with a one-line NpyException, and reading allocates at
     * most a few times the file's size (a planted header length or shape never sizes a buffer).
     */
    @Test
    void mutantsAreReadOrRefusedInOneLineWithBoundedMemory() throws IOException {
        float[] a = new float[2 * 3 * 4 * 5];
        for (int i = 0; i < a.length; i++) a[i] = i - 7.5f;
        Path seedFile = dir.resolve("seed.npy");
        Npy.writeFloat32(seedFile, a, 0, 24, 5, false);
        byte[] seed = Files.readAllBytes(seedFile);
        assertArrayEquals(a, Npy.readFloat32(seedFile).data(), "the seed file is valid");
        int rejected = g2m.weights.FuzzSupport.fuzz(seed, dir, "m.npy", 21, 3000, 16, 1 << 20, NpyException.class, Npy::readFloat32);
        assertTrue(rejected > 1500, "most mutants are not valid .npy files: " + rejected + " of 3000 refused");
    }

    @Test
    void readsBackWhatItWrites() {
        float[] a = new float[15];
        for (int i = 0; i < 15; i++) a[i] = i * 0.5f - 3f;
        Path p = dir.resolve("back.npy");
        Npy.writeFloat32(p, a, 0, 3, 5, false);
        Npy.Float32Array r = Npy.readFloat32(p);
        assertArrayEquals(new long[] {3, 5}, r.shape());
        assertArrayEquals(a, r.data());
        NpyException e = assertThrows(NpyException.class, () -> Npy.readFloat32(dir.resolve("none.npy")));
        assertTrue(e.getMessage().startsWith("no such file: "), e.getMessage());
    }
}
