package g2m.api;

import g2m.maps.MapMethod;
import g2m.net.GradientSource;
import g2m.net.Tap;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;

/**
 * What to compute: the taps, the methods at each, where the gradients come from and which class
 * each map explains. Immutable; the {@code with…} methods return a changed copy.
 *
 * <pre>{@code
 * MapRequest r = MapRequest.of(List.of(Tap.CONV5_1), MapMethod.G2M).withTargetClass(281);
 * }</pre>
 */
public final class MapRequest {
    private final List<Tap> taps;
    private final List<MapMethod> methods;
    private final GradientSource gradients;
    private final int[] classes;
    private final boolean oneForAll;

    private MapRequest(List<Tap> taps, List<MapMethod> methods, GradientSource gradients, int[] classes, boolean oneForAll) {
        this.taps = distinct("taps", taps);
        this.methods = distinct("methods", methods);
        if (gradients == null) throw new IllegalArgumentException("no gradient source given");
        this.gradients = gradients;
        this.classes = classes == null ? null : classes.clone();
        if (this.classes != null && this.classes.length == 0) throw new IllegalArgumentException("an empty list of target classes");
        this.oneForAll = oneForAll;
    }

    /** The maps of {@code methods} at each of {@code taps}, from the tap's own gradient, for each image's top-1 class. */
    public static MapRequest of(List<Tap> taps, List<MapMethod> methods) {
        return new MapRequest(taps, methods, GradientSource.TAP, null, false);
    }

    /** The same at one tap. */
    public static MapRequest of(Tap tap, List<MapMethod> methods) {
        return of(List.of(tap), methods);
    }

    /** The gradients from {@code g}: {@link GradientSource#LAYERCAM_LOC} reproduces layercam_loc's (and the seed table's). */
    public MapRequest withGradients(GradientSource g) {
        return new MapRequest(taps, methods, g, classes, oneForAll);
    }

    /** Every image's maps explain class {@code c} (0-based). */
    public MapRequest withTargetClass(int c) {
        return new MapRequest(taps, methods, gradients, new int[] {c}, true);
    }

    /** Image i's maps explain {@code perImage[i]}: exactly as many classes as images are passed. */
    public MapRequest withClasses(int... perImage) {
        if (perImage == null) throw new IllegalArgumentException("no target classes given");
        return new MapRequest(taps, methods, gradients, perImage, false);
    }

    /** Each image's maps explain its own top-1 class (the default). */
    public MapRequest withTopClass() {
        return new MapRequest(taps, methods, gradients, null, false);
    }

    public List<Tap> taps() {
        return taps;
    }

    public List<MapMethod> methods() {
        return methods;
    }

    public GradientSource gradients() {
        return gradients;
    }

    /** The classes given ({@link #withTargetClass}: one for every image; {@link #withClasses}: one per image), or null for each image's top-1. */
    public int[] classes() {
        return classes == null ? null : classes.clone();
    }

    /** The target class of each of {@code n} images, or null for each one's top-1. */
    int[] classesFor(int n) {
        if (classes == null) return null;
        if (oneForAll) {
            int[] c = new int[n];
            Arrays.fill(c, classes[0]);
            return c;
        }
        if (classes.length != n) throw new IllegalArgumentException(classes.length + " target classes for " + n + " images");
        return classes.clone();
    }

    Tap shallowest() {
        return taps.stream().min(Enum::compareTo).orElseThrow();
    }

    private static <E extends Enum<E>> List<E> distinct(String what, List<E> v) {
        if (v == null || v.isEmpty()) throw new IllegalArgumentException("no " + what + " requested");
        for (E e : v) if (e == null) throw new IllegalArgumentException("a null among the " + what + ": " + v);
        List<E> copy = List.copyOf(v);
        if (EnumSet.copyOf(copy).size() != copy.size()) throw new IllegalArgumentException(what + " repeat: " + copy);
        return copy;
    }

    @Override
    public String toString() {
        return "MapRequest" + taps + methods + " gradients " + gradients + (classes == null ? ", top-1" : ", classes " + Arrays.toString(classes));
    }
}
