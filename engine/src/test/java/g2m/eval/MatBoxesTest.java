package g2m.eval;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import us.hebi.matlab.mat.format.Mat5;
import us.hebi.matlab.mat.types.Cell;
import us.hebi.matlab.mat.types.MatFile;
import us.hebi.matlab.mat.types.Matrix;
import us.hebi.matlab.mat.types.Struct;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * layercam_loc's val_box.mat: the files tools/reference/annotation_files_reference.py made from the
 * tiny set's XML boxes (checked there with scipy.io.loadmat the way layercam_loc indexes them) give
 * back exactly those boxes, uncompressed and compressed; hostile and wrongly shaped files are one
 * line each (made here with MFL's writer, or by editing bytes).
 */
class MatBoxesTest {
    static final Path SET = Path.of("src/test/resources/eval/tinyset");

    static List<List<Box>> xmlBoxes() throws IOException {
        List<List<Box>> out = new ArrayList<>();
        for (String line : Files.readAllLines(SET.resolve("val.txt"))) {
            if (line.isBlank()) continue;
            String name = line.split("\\s+")[0];
            out.add(VocXml.read(SET.resolve("boxes").resolve(name.substring(0, name.lastIndexOf('.')) + ".xml")));
        }
        return out;
    }

    @Test
    void readsTheReferenceFilesAsTheXmlBoxes() throws IOException {
        List<List<Box>> want = xmlBoxes();
        assertEquals(6, want.size());
        assertEquals(want, MatBoxes.read(SET.resolve("val_box.mat")));
        assertEquals(want, MatBoxes.read(SET.resolve("val_box_v7.mat")));
        // and as a dataset: entry i is picture i of the labels file
        Dataset d = Dataset.ilsvrc(SET.resolve("val.txt"), SET.resolve("images"), SET.resolve("val_box.mat"));
        for (int i = 0; i < want.size(); i++) assertEquals(want.get(i), d.samples().get(i).groundTruth());
    }

    /**
     * MFL touches sun.misc.Unsafe; on JDK 24+ that prints a warning on the process's own stderr the
     * first time, which a CLI capture cannot see: a fresh JVM must print nothing there.
     */
    @Test
    @org.junit.jupiter.api.Timeout(120)
    void aFreshJvmPrintsNothingOnStderr() throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), MatBoxesProbe.class.getName(),
                SET.resolve("val_box_v7.mat").toString()).start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        String err = new String(p.getErrorStream().readAllBytes());
        assertEquals(0, p.waitFor(), err);
        assertEquals("6", out);
        assertEquals("", err);
    }

    @Test
    void anEntryCountOtherThanTheListIsRefused(@TempDir Path dir) throws IOException {
        Path labels = dir.resolve("val.txt");
        List<String> lines = Files.readAllLines(SET.resolve("val.txt"));
        Files.write(labels, lines.subList(0, 5));
        EvalException e = assertThrows(EvalException.class, () -> Dataset.ilsvrc(labels, SET.resolve("images"), SET.resolve("val_box.mat")));
        assertTrue(e.getMessage().contains("has 6 entries but") && e.getMessage().contains("lists 5 pictures"), e.getMessage());
    }

    /** A struct rec built with MFL: boxes[i] for entry i (null: an empty objects field). */
    static Path write(Path f, MatFile mat) throws IOException {
        Mat5.writeToFile(mat, f.toFile());
        return f;
    }

    static Struct rec(double[][][] boxes) {
        Struct rec = Mat5.newStruct(1, boxes.length);
        for (int i = 0; i < boxes.length; i++) {
            if (boxes[i] == null) {
                rec.set("objects", i, Mat5.newMatrix(0, 0));
                continue;
            }
            Struct objs = Mat5.newStruct(1, boxes[i].length);
            for (int j = 0; j < boxes[i].length; j++) {
                Matrix b = Mat5.newMatrix(1, boxes[i][j].length);
                for (int k = 0; k < boxes[i][j].length; k++) b.setDouble(k, boxes[i][j][k]);
                objs.set("label", j, Mat5.newScalar(3));
                objs.set("bbox", j, b);
            }
            rec.set("objects", i, objs);
        }
        return rec;
    }

    @Test
    void mflWrittenFilesAndTheirMistakes(@TempDir Path dir) throws IOException {
        // a good one, with an entry without objects and a decimal coordinate (truncated, as the XML reader does)
        Path ok = write(dir.resolve("ok.mat"), Mat5.newMatFile().addArray("rec", rec(new double[][][] {{{1, 2, 30.7, 40}}, null, {{0, 0, 5, 5}, {3, 3, 9, 9}}})));
        assertEquals(List.of(List.of(new Box(1, 2, 30, 40)), List.of(), List.of(new Box(0, 0, 5, 5), new Box(3, 3, 9, 9))), MatBoxes.read(ok));

        assertError(write(dir.resolve("norec.mat"), Mat5.newMatFile().addArray("boxes", rec(new double[][][] {{{1, 2, 3, 4}}}))), "has no variable 'rec'");
        assertError(write(dir.resolve("double.mat"), Mat5.newMatFile().addArray("rec", Mat5.newMatrix(2, 2))), "'rec' is not a struct array");
        assertError(write(dir.resolve("three.mat"), Mat5.newMatFile().addArray("rec", rec(new double[][][] {{{1, 2, 3}}}))), "is not 4 numbers");
        assertError(write(dir.resolve("neg.mat"), Mat5.newMatFile().addArray("rec", rec(new double[][][] {{{1, -2, 3, 4}}}))), "not a non-negative number");
        assertError(write(dir.resolve("nan.mat"), Mat5.newMatFile().addArray("rec", rec(new double[][][] {{{1, Double.NaN, 3, 4}}}))), "not a non-negative number");
        assertError(write(dir.resolve("order.mat"), Mat5.newMatFile().addArray("rec", rec(new double[][][] {{{10, 2, 3, 4}}}))), "xmax < xmin");
        Struct oneField = Mat5.newStruct(1, 1);
        Struct objs = Mat5.newStruct(1, 1);
        objs.set("bbox", Mat5.newMatrix(1, 4));
        oneField.set("objects", objs);
        assertError(write(dir.resolve("onefield.mat"), Mat5.newMatFile().addArray("rec", oneField)), "box as their second field");
        // other MATLAB classes (here a box's double array relabelled sparse): refused before MFL looks at them
        byte[] b = Files.readAllBytes(SET.resolve("val_box.mat"));
        int flags = indexOf(b, new byte[] {6, 0, 0, 0, 8, 0, 0, 0, 6, 0, 0, 0});       // miUINT32, 8 bytes, class double
        assertTrue(flags > 0, "a double array's flags");
        b[flags + 8] = 5;
        assertError(Files.write(dir.resolve("sparse.mat"), b), "MATLAB sparse array");
        // cells nested 40 deep: a bounded check, no stack overflow
        Cell c = Mat5.newCell(1, 1);
        Cell top = c;
        for (int k = 0; k < 40; k++) {
            Cell inner = Mat5.newCell(1, 1);
            c.set(0, inner);
            c = inner;
        }
        assertError(write(dir.resolve("deep.mat"), Mat5.newMatFile().addArray("rec", top)), "more than 16 levels deep");
    }

    @Test
    void hostileBytes(@TempDir Path dir) throws IOException {
        assertError(Files.writeString(dir.resolve("text.mat"), "ILSVRC2012_val_00000001.JPEG 65\n"), "not a MATLAB MAT-file");
        byte[] h5 = new byte[1024];
        System.arraycopy("MATLAB 7.3 MAT-file".getBytes(), 0, h5, 0, 19);
        h5[512] = (byte) 0x89;
        h5[513] = 'H';
        h5[514] = 'D';
        h5[515] = 'F';
        assertError(Files.write(dir.resolve("v73.mat"), h5), "MATLAB v7.3 (HDF5) file");
        // a struct declaring 2^31-1 elements in a few bytes (MFL would allocate the array up front)
        byte[] good = Files.readAllBytes(SET.resolve("val_box.mat"));
        byte[] huge = good.clone();
        int dims = indexOf(huge, new byte[] {5, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 6, 0, 0, 0});   // miINT32, 8 bytes, [1 6]
        assertTrue(dims > 0, "the dims of rec");
        huge[dims + 12] = (byte) 0xFF;
        huge[dims + 13] = (byte) 0xFF;
        huge[dims + 14] = (byte) 0xFF;
        huge[dims + 15] = (byte) 0x7F;
        assertError(Files.write(dir.resolve("huge.mat"), huge), "array elements in");
        // a compressed element cut short, and a damaged one
        byte[] v7 = Files.readAllBytes(SET.resolve("val_box_v7.mat"));
        assertError(Files.write(dir.resolve("cut.mat"), java.util.Arrays.copyOf(v7, v7.length - 40)), "is not a usable MAT-file");
        byte[] dam = v7.clone();
        for (int i = 140; i < 150; i++) dam[i] ^= 0x5A;
        assertError(Files.write(dir.resolve("dam.mat"), dam), "is not a usable MAT-file");
        assertError(dir, "is a folder");
        assertError(dir.resolve("none.mat"), "no such file");
    }

    static int indexOf(byte[] a, byte[] pat) {
        outer:
        for (int i = 0; i + pat.length <= a.length; i++) {
            for (int k = 0; k < pat.length; k++) if (a[i + k] != pat[k]) continue outer;
            return i;
        }
        return -1;
    }

    static void assertError(Path f, String part) {
        EvalException e = assertThrows(EvalException.class, () -> MatBoxes.read(f));
        assertTrue(e.getMessage().contains(part), e.getMessage());
        assertTrue(!e.getMessage().contains("\n") && !e.getMessage().contains("java.") && !e.getMessage().contains("us.hebi"), e.getMessage());
    }
}
