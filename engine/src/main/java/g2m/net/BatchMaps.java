package g2m.net;

import g2m.maps.MapMethod;

import java.util.List;
import java.util.Map;

/**
 * What one {@link Vgg16Net#run} returns: logits, target classes and, per tap and method, the
 * maps of all images of the batch ([n, h, w] at the tap's resolution, exactly as the spec
 * defines them: no resize, no normalisation).
 */
public record BatchMaps(int n, int inputHeight, int inputWidth, float[] logits, int numClasses, int[] targetClasses,
                        List<MapMethod> methods, Map<Tap, Map<MapMethod, float[]>> maps) {
}
