package g2m.eval;

import com.fasterxml.jackson.databind.JsonNode;
import g2m.image.LoadedImage;
import g2m.weights.Preprocessing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static g2m.eval.EvalGoldens.box;
import static g2m.eval.EvalGoldens.floats;
import static g2m.eval.EvalGoldens.ints;
import static g2m.testing.Parity.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each step of the layercam_loc protocol against tools/reference/eval_reference.py (PIL, torch,
 * OpenCV-Python 4.6; the engine runs OpenCV 4.13 through JavaCPP). Tolerances are stated per test.
 */
class ProtocolGoldenTest {
    static final int W = 300, H = 200;

    @Test
    void tenCropPositionsAreTorchvisions() {
        float[] ref = floats("tencrop.safetensors", "crops");
        for (int i = 0; i < 10; i++) {
            TenCrop.Position p = TenCrop.POSITIONS.get(i);
            assertEquals(ref[3 * i], p.x(), "crop " + i + " x");
            assertEquals(ref[3 * i + 1], p.y(), "crop " + i + " y");
            assertEquals(ref[3 * i + 2] != 0, p.flipped(), "crop " + i + " flip");
        }
    }

    /** Ten-crop network input (PIL resize bit-exact, crops, flips): every 8th pixel within 5e-7 of torchvision + Normalize, each crop/channel sum within 1e-6. */
    @Test
    void tenCropInputMatchesTorchvision() {
        LoadedImage pic = EvalGoldens.image("picture.png");
        float[] x = new float[10 * 3 * 224 * 224];
        TenCrop.input(TenCrop.resize(pic), Preprocessing.PYTORCH, x, 0);
        float[] sub = floats("tencrop.safetensors", "input_sub");
        float[] mine = new float[sub.length];
        int k = 0;
        for (int c = 0; c < 30; c++) {
            for (int y = 0; y < 224; y += 8) {
                for (int xx = 0; xx < 224; xx += 8) mine[k++] = x[c * 224 * 224 + y * 224 + xx];
            }
        }
        assertEquals(sub.length, k);
        // torch rounds after /255, after -mean and after /std, with mean and std as float32 constants;
        // the engine computes in double and rounds once: up to ~2e-7 apart (one pixel level is 0.017)
        for (int i = 0; i < sub.length; i++) assertEquals(sub[i], mine[i], 5e-7, "input_sub[" + i + "]");
        float[] sums = floats("tencrop.safetensors", "input_sum");
        for (int c = 0; c < 30; c++) {
            double s = 0;
            for (int i = 0; i < 224 * 224; i++) s += x[c * 224 * 224 + i];
            assertEquals(sums[c], s, 1e-6 * Math.max(1, Math.abs(sums[c])), "sum of crop " + c / 3 + " channel " + c % 3);
        }
    }

    /** Align-corners upsampling, non-square and not 224: relative error ≤ 1e-6 (float32 either side). */
    @Test
    void alignCornersUpsamplingMatchesTorch() {
        float[] src = floats("maps.safetensors", "up_src");
        float[] ref = floats("maps.safetensors", "up");
        float[] out = new float[2 * 33 * 50];
        for (int i = 0; i < 2; i++) {
            float[] u = Canvas.upsampleAlignCorners(src, i * 35, 5, 7, 33, 50);
            System.arraycopy(u, 0, out, i * 33 * 50, u.length);
        }
        double rel = assertClose(ref, out, 1e-6, "upsample 5x7 -> 33x50");
        System.out.printf("upsample 5x7 -> 33x50: rel err %.2e, max abs %.2e%n", rel, EvalGoldens.maxAbs(out, ref));
    }

    /**
     * Canvas assembly (placements, flips, sum): relative error ≤ 1e-6 against layercam_loc's torch
     * code. The weights and indices are torch's bit for bit; the float32 products and sums round
     * differently from the compiled torch kernel (measured ~1e-7 relative).
     */
    @ParameterizedTest
    @ValueSource(ints = {14, 28, 56})
    void canvasMatchesLayercamLoc(int n) {
        float[] maps = floats("maps.safetensors", "map." + n);
        float[] ref = floats("maps.safetensors", "canvas." + n);
        float[] out = Canvas.assemble(maps, 0, n, n);
        double rel = assertClose(ref, out, 1e-6, "canvas " + n);
        System.out.printf("canvas %d: rel err %.2e, max abs %.2e%n", n, rel, EvalGoldens.maxAbs(out, ref));
    }

    /** A wrong flip or placement would move the canvas: crop 5's map must land mirrored at x ≥ 32. */
    @Test
    void flippedCropLandsMirrored() {
        float[] maps = new float[10 * 2 * 2];
        maps[5 * 4] = 1f;                     // crop 5 (top-left of the flipped picture), its top-left value only
        float[] c = Canvas.assemble(maps, 0, 2, 2);
        assertEquals(1f, c[255]);             // row 0, column 255: the flipped picture's column 0
        assertEquals(0f, c[32]);
        assertEquals(0f, c[0]);
    }

    /**
     * Heat (clamp, normalise, uint8, bicubic to 300x200): byte-exact from the reference's canvas;
     * from our own canvas (≈1e-7 away, so a value on a uint8 boundary may truncate the other way)
     * at most 1 level off on at most 0.1 % of the pixels.
     */
    @ParameterizedTest
    @ValueSource(ints = {14, 28, 56})
    void heatMatchesNumpyAndOpenCv(int n) {
        byte[] ref = EvalGoldens.gray("heat." + n + ".png");
        assertArrayEquals(ref, Heat.of(floats("maps.safetensors", "canvas." + n), 256, W, H));
        byte[] ours = Heat.of(Canvas.assemble(floats("maps.safetensors", "map." + n), 0, n, n), 256, W, H);
        int off = 0, max = 0;
        for (int i = 0; i < ref.length; i++) {
            int d = Math.abs((ref[i] & 0xFF) - (ours[i] & 0xFF));
            if (d != 0) off++;
            max = Math.max(max, d);
        }
        System.out.printf("heat %d from our canvas: %d pixels off, max %d%n", n, off, max);
        assertTrue(max <= 1 && off <= ref.length / 1000, off + " pixels off, max " + max);
    }

    /** Clamping: a canvas that is ≤ 0 everywhere gives an all-zero heat (no NaN, no division by zero). */
    @Test
    void deadCanvasGivesZeroHeat() {
        float[] c = new float[256 * 256];
        java.util.Arrays.fill(c, -3f);
        assertArrayEquals(new byte[W * H], Heat.of(c, 256, W, H));
        assertEquals(Box.NONE, BoxExtractor.box(new byte[W * H], W, H));
    }

    /** GrabCut (one iteration, RNG reset): exact mask; boxes from it exact. */
    @ParameterizedTest
    @ValueSource(ints = {28, 56})
    void grabCutMatchesOpenCvPython(int n) {
        byte[] heat = EvalGoldens.gray("heat." + n + ".png");
        byte[] ref = EvalGoldens.gray("grabcut." + n + ".png");
        byte[] ours = GrabCutRefine.refine(EvalGoldens.image("picture.png"), heat);
        int diff = 0;
        for (int i = 0; i < ref.length; i++) if (ref[i] != ours[i]) diff++;
        System.out.printf("grabcut %d: %d of %d pixels differ%n", n, diff, ref.length);
        assertEquals(0, diff);
    }

    @Test
    void grabCutWithoutForegroundFallsBackToTheThreshold() {
        LoadedImage pic = EvalGoldens.image("picture.png");
        assertArrayEquals(new byte[W * H], GrabCutRefine.refine(pic, new byte[W * H]));
        byte[] all = new byte[W * H];
        java.util.Arrays.fill(all, (byte) 200);
        byte[] out = GrabCutRefine.refine(pic, all);
        for (byte b : out) assertEquals((byte) 255, b);
    }

    /** Contours and the largest box, on the heats, the GrabCut masks and hand-made patterns: exact rects in OpenCV's order. */
    @Test
    void boxesMatchLayercamLoc() {
        JsonNode doc = EvalGoldens.boxes();
        for (String k : List.of("heat.14", "heat.28", "heat.56", "grabcut.28", "grabcut.56")) {
            byte[] m = EvalGoldens.gray(k + ".png");
            JsonNode ref = doc.get("boxes").get(k);
            assertRects(ref.get("rects"), BoxExtractor.contourRects(BoxExtractor.binarize(m), W, H), k);
            assertEquals(box(ref.get("box")), BoxExtractor.box(m, W, H), k);
        }
        doc.get("patterns").fields().forEachRemaining(e -> {
            JsonNode p = e.getValue();
            int w = p.get("w").intValue(), h = p.get("h").intValue();
            int[] d = ints(p.get("data"));
            byte[] m = new byte[d.length];
            for (int i = 0; i < d.length; i++) m[i] = (byte) d[i];
            assertRects(p.get("rects"), BoxExtractor.contourRects(BoxExtractor.binarize(m), w, h), e.getKey());
            assertEquals(box(p.get("box")), BoxExtractor.box(m, w, h), e.getKey());
        });
    }

    private static void assertRects(JsonNode ref, List<int[]> ours, String what) {
        List<String> a = new ArrayList<>(), b = new ArrayList<>();
        for (JsonNode r : ref) a.add(java.util.Arrays.toString(ints(r)));
        for (int[] r : ours) b.add(java.util.Arrays.toString(r));
        assertEquals(a, b, what + ": contour rectangles");
    }

    /** IoU, both conventions, 205 cases incl. touching, identical, one-pixel and disjoint boxes: equal to 1e-15. */
    @Test
    void iouMatchesBothReferences() {
        for (JsonNode c : EvalGoldens.boxes().get("iou")) {
            Box gt = box(c.get("gt")), est = box(c.get("est"));
            double[] lc = Iou.layercam(gt, est);
            assertEquals(c.get("layercam").doubleValue(), lc[0], 1e-15, c.toString());
            assertEquals(c.get("recall").doubleValue(), lc[1], 1e-15, c.toString());
            assertEquals(c.get("voc").doubleValue(), Iou.voc(gt, est), 1e-15, c.toString());
        }
    }

    /** Step 7–8 over 37 synthetic images: Top-1/Top-5 from summed logits, best IoU over several GT boxes, all five percentages exactly. */
    @Test
    void outcomesAndPercentagesMatch() {
        JsonNode doc = EvalGoldens.boxes().get("outcomes");
        int classes = doc.get("classes").intValue();
        float[] logits = floats("outcomes.safetensors", "logits");
        LocStats s = new LocStats();
        double iouSum = 0;
        int i = 0;
        long[][] noHits = new long[3][2];
        for (JsonNode im : doc.get("images")) {
            float[] sum = Localizer.sumLogits(logits, i * 10 * classes, 10, classes);
            int[] top5 = Localizer.top(sum, 5);
            assertArrayEquals(ints(im.get("top5")), top5, "image " + i);
            assertEquals(im.get("top1").intValue(), top5[0]);
            List<Box> gts = new ArrayList<>();
            for (JsonNode g : im.get("gt")) gts.add(box(g));
            double[] best = Iou.bestLayercam(gts, box(im.get("est")));
            assertEquals(im.get("iou").doubleValue(), best[0], 1e-15);
            assertEquals(im.get("recall").doubleValue(), best[1], 1e-15);
            int label = im.get("label").intValue();
            boolean t5 = false;
            for (int c : top5) t5 |= c == label;
            s.add(top5[0] == label, t5, best[0], noHits);
            iouSum += best[0];
            i++;
        }
        JsonNode cnt = doc.get("counts"), pct = doc.get("percent");
        assertEquals(cnt.get("cls1").longValue(), s.top1Cls());
        assertEquals(cnt.get("cls5").longValue(), s.top5Cls());
        assertEquals(cnt.get("gt").longValue(), s.gtKnown());
        assertEquals(cnt.get("loc1").longValue(), s.top1Loc());
        assertEquals(cnt.get("loc5").longValue(), s.top5Loc());
        assertEquals(pct.get("loc1").asText(), LocStats.percent(s.top1Loc(), s.images()));
        assertEquals(pct.get("loc5").asText(), LocStats.percent(s.top5Loc(), s.images()));
        assertEquals(pct.get("gt").asText(), LocStats.percent(s.gtKnown(), s.images()));
        assertEquals(pct.get("cls1").asText(), LocStats.percent(s.top1Cls(), s.images()));
        assertEquals(doc.get("mean_iou").doubleValue(), s.meanIou(), 1e-15);
        for (JsonNode c : EvalGoldens.boxes().get("percent_cases")) {
            assertEquals(c.get(2).asText(), LocStats.percent(c.get(0).longValue(), c.get(1).longValue()), c.toString());
        }
    }

    /** MaxBoxAccV2: boxes at τ = 0.5, best IoU per threshold (1e-15), hits per IoU level and the final numbers exactly. */
    @Test
    void maxBoxAccV2MatchesWsolevaluation() {
        JsonNode doc = EvalGoldens.boxes().get("maxbox");
        var t = EvalGoldens.tensors("maxbox.safetensors").tensors();
        MaxBoxAccV2.Accumulator acc = new MaxBoxAccV2.Accumulator();
        int i = 0;
        for (JsonNode im : doc.get("images")) {
            var tensor = t.get("scoremap." + i);
            int h = (int) tensor.shape()[0], w = (int) tensor.shape()[1];
            float[] sm = tensor.toFloats();
            List<Box> gts = new ArrayList<>();
            for (JsonNode g : im.get("gt")) gts.add(box(g));
            byte[] scaled = MaxBoxAccV2.scaled(sm);
            int max = 0;
            for (byte b : scaled) max = Math.max(max, b & 0xFF);
            List<Box> at50 = MaxBoxAccV2.boxes(scaled, max, 50, w, h);
            List<Box> ref50 = new ArrayList<>();
            for (JsonNode b : im.get("boxes_at_50")) ref50.add(box(b));
            assertEquals(ref50, at50, "image " + i + " boxes at 0.5");
            double[] best = MaxBoxAccV2.bestIous(sm, w, h, gts);
            for (int k = 0; k < 100; k++) assertEquals(im.get("best_iou").get(k).doubleValue(), best[k], 1e-15, "image " + i + " threshold " + k);
            long[][] hits = MaxBoxAccV2.hits(best);
            for (int l = 0; l < 3; l++) {
                List<Integer> on = new ArrayList<>();
                for (int k = 0; k < 100; k++) if ((hits[l][k >> 6] >>> (k & 63) & 1) != 0) on.add(k);
                List<Integer> ref = new ArrayList<>();
                for (JsonNode v : im.get("hits").get(String.valueOf(MaxBoxAccV2.IOU_LEVELS[l]))) ref.add(v.intValue());
                assertEquals(ref, on, "image " + i + " level " + MaxBoxAccV2.IOU_LEVELS[l]);
            }
            acc.add(hits);
            i++;
        }
        for (int l = 0; l < 3; l++) {
            long[] ref = new long[100];
            JsonNode r = doc.get("num_correct").get(String.valueOf(MaxBoxAccV2.IOU_LEVELS[l]));
            for (int k = 0; k < 100; k++) ref[k] = r.get(k).longValue();
            assertArrayEquals(ref, acc.correct(l));
            assertEquals(doc.get("max_box_acc").get(l).doubleValue(), acc.maxBoxAcc()[l], 0.0);
        }
        assertEquals(doc.get("value").doubleValue(), acc.value(), 0.0);
    }

    /** The score map of a protocol canvas (float bicubic 256 -> 150x100, min-max): relative error ≤ 1e-6 against OpenCV-Python. */
    @Test
    void scoreMapOfACanvasMatches() {
        float[] canvas = floats("maps.safetensors", "canvas.14");
        float[] ref = EvalGoldens.tensors("maxbox.safetensors").tensors().get("scoremap.6").toFloats();
        float[] ours = MaxBoxAccV2.scoreMap(canvas, 256, 150, 100);
        double rel = assertClose(ref, ours, 1e-6, "score map 256 -> 150x100");
        System.out.printf("score map 256 -> 150x100: rel err %.2e, max abs %.2e%n", rel, EvalGoldens.maxAbs(ours, ref));
    }
}
