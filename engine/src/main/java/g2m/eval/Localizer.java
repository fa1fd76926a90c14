package g2m.eval;

import g2m.image.LoadedImage;
import g2m.image.Mats;
import g2m.weights.AtomicFiles;
import g2m.weights.WeightsException;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_core.Mat;

import java.nio.file.Path;
import java.util.List;

import static org.bytedeco.opencv.global.opencv_imgcodecs.imencode;

/** Steps 2–8 of the protocol for one image: classification from the crops' logits, and per map the box and its scores. */
public final class Localizer {
    private Localizer() {}

    /** The ten crops' logits summed class by class (float32, crop order, as {@code logits.sum(dim=0)}). */
    public static float[] sumLogits(float[] logits, int offset, int crops, int classes) {
        float[] s = new float[classes];
        for (int i = 0; i < crops; i++) {
            for (int c = 0; c < classes; c++) s[c] += logits[offset + i * classes + c];
        }
        return s;
    }

    /**
     * The {@code k} best classes, best first (ties: lower index first). Ranked by the summed
     * logits, which is softmax's order wherever softmax does not underflow to equal zeros.
     */
    public static int[] top(float[] scores, int k) {
        int n = Math.min(k, scores.length);
        int[] best = new int[n];
        boolean[] taken = new boolean[scores.length];
        for (int j = 0; j < n; j++) {
            int b = -1;
            for (int c = 0; c < scores.length; c++) {
                if (!taken[c] && (b < 0 || scores[c] > scores[b])) b = c;
            }
            best[j] = b;
            taken[b] = true;
        }
        return best;
    }

    /**
     * Steps 3–8 for one map method at one tap: canvas, heat, optional GrabCut, box, best IoU
     * (layercam_loc's), and the MaxBoxAccV2 hits of the canvas.
     *
     * @param cropMaps the ten crops' maps, {@code [10, h, w]}
     * @param saveMap  where to write the uint8 map the box was taken from (PNG), or null
     */
    public static ImageRecord.Outcome locate(float[] cropMaps, int h, int w, LoadedImage picture, List<Box> gts, boolean grabCut, Path saveMap) {
        return locate(cropMaps, h, w, picture, gts, grabCut, saveMap, MaxBoxAccV2.Frame.PICTURE, null);
    }

    /**
     * The same, with MaxBoxAccV2 computed in {@code frame}; with {@code truth} (a mask dataset's
     * pixels) also the PxAP histograms of the score map at the picture's size.
     */
    public static ImageRecord.Outcome locate(float[] cropMaps, int h, int w, LoadedImage picture, List<Box> gts, boolean grabCut, Path saveMap,
                                             MaxBoxAccV2.Frame frame, PixelMask truth) {
        int side = TenCrop.RESIZE;
        int width = picture.width(), height = picture.height();
        float[] canvas = Canvas.assemble(cropMaps, 0, h, w);
        for (float v : canvas) {
            if (!Float.isFinite(v)) throw new IllegalStateException("a map holds a non-finite value");
        }
        byte[] heat = Heat.of(canvas, side, width, height);
        byte[] mask = grabCut ? GrabCutRefine.refine(picture, heat) : heat;
        Box box = BoxExtractor.box(mask, width, height);
        double iou = Iou.bestLayercam(gts, box)[0];
        long[][] hits = MaxBoxAccV2.canvasHits(canvas, side, width, height, gts, frame);
        long[] pixels = truth == null ? null : PxAp.histograms(MaxBoxAccV2.scoreMap(canvas, side, width, height), truth);
        if (saveMap != null) writeGrayPng(saveMap, mask, width, height);
        return new ImageRecord.Outcome(box, iou, hits, pixels);
    }

    /** An 8-bit gray PNG, written whole or not at all ({@link EvalOutputException} when it cannot be). */
    public static void writeGrayPng(Path target, byte[] gray, int width, int height) {
        byte[] png;
        try (Mat m = Mats.gray(gray, width, height); BytePointer buf = new BytePointer()) {
            if (!imencode(".png", m, buf)) throw new EvalException("cannot encode " + target);
            png = new byte[Math.toIntExact(buf.limit())];
            buf.get(png);
        }
        try {
            AtomicFiles.write(target, true, png);
        } catch (WeightsException e) {          // the output, not the picture: a full disk, something in the way
            throw new EvalOutputException(e.getMessage(), e);
        }
    }
}
