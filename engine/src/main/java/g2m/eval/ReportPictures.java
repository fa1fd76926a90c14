package g2m.eval;

import g2m.api.ImageMaps;
import g2m.image.ImageException;
import g2m.image.ImageLoader;
import g2m.image.LoadedImage;
import g2m.image.Mats;
import g2m.maps.MapMethod;
import g2m.net.Tap;
import g2m.net.Vgg16Net;
import g2m.overlay.Overlay;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Size;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.bytedeco.opencv.global.opencv_core.addWeighted;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMWRITE_JPEG_QUALITY;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imencode;
import static org.bytedeco.opencv.global.opencv_imgproc.COLORMAP_JET;
import static org.bytedeco.opencv.global.opencv_imgproc.COLOR_RGB2BGR;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_AREA;
import static org.bytedeco.opencv.global.opencv_imgproc.applyColorMap;
import static org.bytedeco.opencv.global.opencv_imgproc.cvtColor;
import static org.bytedeco.opencv.global.opencv_imgproc.resize;

/**
 * The report's pictures evaluated once more, one at a time (ten crops, one pass for every layer
 * and method, as the run did): the heat each box is taken from (step 4, before GrabCut) as a
 * thumbnail over the picture, and the box found again, which must equal the one in the
 * checkpoint (it does wherever the run's records are reproducible: same device and settings).
 * Recomputing a dozen pictures is cheaper and simpler than keeping 50,000 pictures' maps on the
 * chance that they are picked, and it works the same after a resumed run or a merge.
 */
final class ReportPictures {
    private ReportPictures() {}

    /** Thumbnails fit in this many pixels on their longer side (the SVG scales them back to the picture's frame). */
    public static final int THUMB = 192;
    static final int JPEG_QUALITY = 80;

    /** One (layer, method) of a shown picture: the heat over the picture (JPEG) and the box found again. */
    public record Cell(Tap tap, MapMethod method, byte[] jpeg, Box recomputed, ImageRecord.Outcome recorded) {
        public boolean sameBox() {
            return recomputed.equals(recorded.box());
        }
    }

    /**
     * A shown picture: the pick, its ground truth and size, the picture alone (JPEG) and one cell
     * per (layer, method) in the run's order; or, when it cannot be read again, why ({@code error}).
     */
    public record Shown(ReportSample.Pick pick, List<Box> groundTruth, byte[] pictureJpeg, List<Cell> cells, String error) {
        public int width() {
            return pick.record().width();
        }

        public int height() {
            return pick.record().height();
        }
    }

    /** Each pick evaluated again with the run's network and settings. */
    public static List<Shown> compute(Dataset data, EvalRunner.Network net, EvalRunner.Config cfg, List<ReportSample.Pick> picks) {
        List<Shown> out = new ArrayList<>(picks.size());
        for (ReportSample.Pick p : picks) out.add(one(data, net, cfg, p));
        return out;
    }

    private static Shown one(Dataset data, EvalRunner.Network net, EvalRunner.Config cfg, ReportSample.Pick p) {
        ImageRecord rec = p.record();
        Sample s = data.samples().get(rec.index());
        LoadedImage picture;
        List<Box> gts;
        try {
            picture = ImageLoader.load(s.image(), cfg.maxPixels());
            gts = s.masks() == null ? s.groundTruth() : PixelMask.read(s.masks(), picture.width(), picture.height()).boxes();   // as the run took them
        } catch (ImageException | EvalException e) {
            return new Shown(p, List.of(), null, List.of(), "cannot be read again: " + e.getMessage());
        }
        if (picture.width() != rec.width() || picture.height() != rec.height()) {
            return new Shown(p, gts, null, List.of(), "is " + picture.width() + "x" + picture.height() + " now, " + rec.width() + "x" + rec.height()
                    + " when it was evaluated: the file changed");
        }
        float[] x = new float[TenCrop.CROPS * 3 * TenCrop.CROP * TenCrop.CROP];
        TenCrop.input(TenCrop.resize(picture), net.preprocessing(), x, 0);
        int[] classes = new int[TenCrop.CROPS];
        Arrays.fill(classes, s.label());
        List<ImageMaps> r = net.maps(x, TenCrop.CROPS, TenCrop.CROP, TenCrop.CROP, cfg.request(classes));
        List<Cell> cells = new ArrayList<>(cfg.outcomes());
        int k = 0;
        for (Tap tap : cfg.taps()) {
            int[] hw = Vgg16Net.tapSize(tap, TenCrop.CROP, TenCrop.CROP);
            for (MapMethod m : cfg.methods()) {
                float[] canvas = Canvas.assemble(TenCrop.stack(r, tap, m), 0, hw[0], hw[1]);
                byte[] heat = Heat.of(canvas, TenCrop.RESIZE, picture.width(), picture.height());
                byte[] mask = cfg.grabCut().appliesTo(tap) ? GrabCutRefine.refine(picture, heat) : heat;
                Box box = BoxExtractor.box(mask, picture.width(), picture.height());
                cells.add(new Cell(tap, m, thumbnail(picture, heat), box, rec.outcomes().get(k++)));
            }
        }
        return new Shown(p, gts, thumbnail(picture, null), cells, null);
    }

    /**
     * The picture, with {@code heat} blended over it as the overlays are (COLORMAP_JET, 0.3 picture
     * + 0.7 heat) when given, shrunk to fit {@value #THUMB} pixels (area averaging), as a JPEG.
     */
    static byte[] thumbnail(LoadedImage picture, byte[] heat) {
        int w = picture.width(), h = picture.height();
        double scale = Math.min(1.0, (double) THUMB / Math.max(w, h));
        int tw = Math.max(1, (int) Math.round(w * scale)), th = Math.max(1, (int) Math.round(h * scale));
        try (Mat rgb = Mats.uint8(picture.rgb(), w, h, 3); Mat bgr = new Mat(); Mat small = new Mat();
             IntPointer params = new IntPointer(IMWRITE_JPEG_QUALITY, JPEG_QUALITY); BytePointer buf = new BytePointer()) {
            cvtColor(rgb, bgr, COLOR_RGB2BGR);
            if (heat != null) {
                try (Mat gray = Mats.gray(heat, w, h); Mat jet = new Mat(); Mat blend = new Mat()) {
                    applyColorMap(gray, jet, COLORMAP_JET);
                    addWeighted(bgr, Overlay.IMAGE_WEIGHT, jet, Overlay.HEAT_WEIGHT, 0, blend);
                    blend.copyTo(bgr);
                }
            }
            resize(bgr, small, new Size(tw, th), 0, 0, INTER_AREA);
            if (!imencode(".jpg", small, buf, params)) throw new IllegalStateException("OpenCV could not encode a JPEG thumbnail");
            byte[] jpeg = new byte[Math.toIntExact(buf.limit())];
            buf.get(jpeg);
            return jpeg;
        }
    }
}
