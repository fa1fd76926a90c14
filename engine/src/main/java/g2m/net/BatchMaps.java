package g2m.net;

import g2m.maps.MapMethod;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * What one {@link Vgg16Net#run} returns: logits, target classes and, per tap and method, the
 * maps of all images of the batch ([n, h, w] at the tap's resolution, exactly as the spec
 * defines them: no resize, no normalisation).
 */
public record BatchMaps(int n, int inputHeight, int inputWidth, float[] logits, int numClasses, int[] targetClasses,
                        List<MapMethod> methods, Map<Tap, Map<MapMethod, float[]>> maps) {

    /** One map: row-major {@code height × width} values. */
    public record Map2D(int height, int width, float[] values) {
        public float at(int y, int x) {
            return values[y * width + x];
        }
    }

    public Map2D map(int image, Tap tap, MapMethod method) {
        Map<MapMethod, float[]> byMethod = maps.get(tap);
        if (byMethod == null || !byMethod.containsKey(method)) {
            throw new IllegalArgumentException("no " + method + " map at " + tap + " in this result");
        }
        int[] s = Vgg16Net.tapSize(tap, inputHeight, inputWidth);
        int hw = s[0] * s[1];
        return new Map2D(s[0], s[1], Arrays.copyOfRange(byMethod.get(method), image * hw, (image + 1) * hw));
    }

    /** The logits of one image. */
    public float[] logits(int image) {
        return Arrays.copyOfRange(logits, image * numClasses, (image + 1) * numClasses);
    }
}
