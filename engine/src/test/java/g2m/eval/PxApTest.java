package g2m.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PxAP against tools/reference/pxap_reference.py (pxap.json; a missing golden fails): the
 * histograms of hand-made score maps (values on, just below and just above the thresholds, 0 and
 * 1, ignored pixels) exactly, PxAP per picture and over the set equal to the reference's float64
 * value (tolerance 1e-12 relative; the engine sums in numpy's pairwise order, so they agree to the
 * bit in practice); and the mask set's ground truth (1-bit object PNGs, RGB ignore PNGs, a mask at
 * twice the picture's size, an ignore region over an object) read to the reference's pixel counts
 * and boxes.
 */
class PxApTest {
    static final Path EVAL = Path.of("src/test/resources/eval");
    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode golden() throws IOException {
        Path f = EVAL.resolve("pxap.json");
        assertTrue(Files.isRegularFile(f), "golden " + f + " is missing: run tools/reference/pxap_reference.py");
        return JSON.readTree(f.toFile());
    }

    @Test
    void histogramsAndAveragePrecisionMatchTheReference() throws IOException {
        JsonNode cases = golden().get("cases");
        long[] total = new long[PxAp.VALUES];
        PxAp.Accumulator acc = new PxAp.Accumulator();
        for (JsonNode c : cases.get("images")) {
            int w = c.get("w").intValue(), h = c.get("h").intValue();
            float[] score = new float[w * h];
            byte[] classes = new byte[w * h];
            for (int i = 0; i < score.length; i++) {
                score[i] = (float) c.get("score").get(i).doubleValue();
                classes[i] = (byte) c.get("classes").get(i).intValue();
            }
            long[] hist = PxAp.histograms(score, new PixelMask(w, h, classes, List.of(new Box(0, 0, 1, 1))));
            long[] want = new long[PxAp.VALUES];
            for (int i = 0; i < want.length; i++) want[i] = c.get("hist").get(i).longValue();
            assertArrayEquals(want, hist);
            double ref = c.get("pxap").doubleValue();
            assertEquals(ref, PxAp.averagePrecision(hist), 1e-12 * ref);
            for (int i = 0; i < total.length; i++) total[i] += hist[i];
            acc.add(hist);
        }
        double ref = cases.get("pxap").doubleValue();
        assertEquals(ref, PxAp.averagePrecision(total), 1e-12 * ref);
        assertEquals(ref, acc.value(), 1e-12 * ref);
        assertEquals(4, acc.images());
    }

    @Test
    void binsFollowTheDoubleEdges() throws IOException {
        JsonNode edges = golden().get("edges");
        assertEquals(PxAp.BINS + 1, edges.size());
        for (int k = 0; k < PxAp.BINS - 2; k++) {           // [e_k, e_k+1) for the 100 thresholds (e_100 = 1)
            double lo = edges.get(k).doubleValue(), hi = edges.get(k + 1).doubleValue();
            float first = (float) lo;                         // the smallest float32 at or above e_k
            if ((double) first < lo) first = Math.nextUp(first);
            float last = (float) hi;                          // the largest float32 below e_k+1
            if ((double) last >= hi) last = Math.nextDown(last);
            assertEquals(k, PxAp.bin(first), "first value of bin " + k);
            assertEquals(k, PxAp.bin(last), "last value of bin " + k);
            if (k > 0) assertEquals(k - 1, PxAp.bin(Math.nextDown(first)), "just below bin " + k);
        }
        assertEquals(PxAp.BINS - 2, PxAp.bin(1f));
        assertEquals(-1, PxAp.bin(Float.NaN));
        assertEquals(-1, PxAp.bin(-0.5f));
        assertEquals(Double.NaN, PxAp.averagePrecision(new long[PxAp.VALUES]));
    }

    @Test
    void pairwiseSumIsNumpysOrder() {
        // 1e16 + 1 + 1 + ...: a left-to-right sum loses every 1, eight partial sums keep some
        double[] a = new double[17];
        java.util.Arrays.fill(a, 1.0);
        a[0] = 1e16;
        double leftToRight = 0;
        for (double v : a) leftToRight += v;
        assertEquals(1e16, leftToRight);
        // r0 = 1e16 + 1 (lost), r1..r7 = 2 each; ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) then + a[16]
        double r0 = 1e16 + 1.0, r = 2.0;
        double want = (((r0 + r) + (r + r)) + ((r + r) + (r + r))) + 1.0;
        assertEquals(want, PxAp.pairwiseSum(a, 0, a.length));
        assertTrue(want != leftToRight);
    }

    @Test
    void maskSetGroundTruthMatchesTheReference() throws IOException {
        JsonNode e2e = golden().get("e2e");
        Path set = EVAL.resolve("maskset");
        Dataset d = WsolMetadata.read(set.resolve("metadata/test"), set, null);
        assertEquals("wsol-masks", d.kind());
        assertEquals(e2e.get("images").size(), d.samples().size());
        for (int i = 0; i < d.samples().size(); i++) {
            JsonNode want = e2e.get("images").get(i);
            Sample s = d.samples().get(i);
            assertEquals(want.get("name").asText(), s.name());
            assertEquals(want.get("label").intValue(), s.label());
            g2m.image.LoadedImage pic = g2m.image.ImageLoader.load(s.image());
            PixelMask m = PixelMask.read(s.masks(), pic.width(), pic.height());
            long[] count = new long[3];
            for (byte c : m.classes()) count[c]++;
            for (int v = 0; v < 3; v++) assertEquals(want.get("classes_count").get(v).longValue(), count[v], s.name() + " class " + v);
            List<Box> boxes = new ArrayList<>();
            for (JsonNode b : want.get("gt_boxes")) boxes.add(new Box(b.get(0).intValue(), b.get(1).intValue(), b.get(2).intValue(), b.get(3).intValue()));
            assertEquals(boxes, m.boxes(), s.name());
        }
    }

    @Test
    void unusableMasks(@TempDir Path dir) throws IOException {
        Path empty = dir.resolve("empty.png");
        g2m.eval.Localizer.writeGrayPng(empty, new byte[20 * 10], 20, 10);
        EvalException e = assertThrows(EvalException.class, () -> PixelMask.read(new ObjectMasks(List.of(empty), null), 20, 10));
        assertTrue(e.getMessage().contains("object masks are all empty"), e.getMessage());
        Path text = Files.writeString(dir.resolve("m.png"), "not a png");
        assertThrows(g2m.image.ImageException.class, () -> PixelMask.read(new ObjectMasks(List.of(text), null), 20, 10));
    }
}
