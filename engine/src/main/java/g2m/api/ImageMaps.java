package g2m.api;

import g2m.image.LoadedImage;
import g2m.maps.MapMethod;
import g2m.net.Tap;
import g2m.overlay.Overlay;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The maps of one image: per tap and method a {@link Map2D} at the tap's resolution (the spec's
 * values, no resize or normalisation), the logits and the class the maps explain.
 *
 * @param image       the decoded original picture (null when the caller passed a tensor)
 * @param inputHeight the network input's height (shorter side 224 for pictures)
 */
public record ImageMaps(LoadedImage image, int inputHeight, int inputWidth, float[] logits, int targetClass,
                        Map<Tap, Map<MapMethod, Map2D>> maps) {

    public Map2D map(Tap tap, MapMethod method) {
        Map<MapMethod, Map2D> m = maps.get(tap);
        if (m == null || !m.containsKey(method)) throw new IllegalArgumentException("no " + method + " map at " + tap);
        return m.get(method);
    }

    /**
     * Writes the reference's heat-map overlay of one map on the picture, at the picture's size
     * (.png, .jpg or .jpeg; whole or not at all); an existing file only with {@code overwrite}.
     */
    public void writeOverlay(Tap tap, MapMethod method, Path target, boolean overwrite) {
        if (image == null) throw new IllegalStateException("these maps came from a tensor: there is no picture to draw them on");
        Map2D m = map(tap, method);
        Overlay.writeOverlay(target, m.values(), 0, m.height(), m.width(), image, overwrite);
    }

    /** A class with its logit and softmax probability. */
    public record Scored(int classIndex, float logit, double probability) {}

    /** The k highest-scoring classes, best first. */
    public List<Scored> top(int k) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) max = Math.max(max, v);
        double sum = 0;
        for (float v : logits) sum += Math.exp(v - max);
        final double m = max, s = sum;
        List<Scored> all = new ArrayList<>();
        IntStream.range(0, logits.length)
                .boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -logits[i]).thenComparingInt(i -> i))
                .limit(k)
                .forEach(i -> all.add(new Scored(i, logits[i], Math.exp(logits[i] - m) / s)));
        return all;
    }
}
