package g2m.maps;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

import static g2m.maps.Slot.S_11;
import static g2m.maps.Slot.S_12;
import static g2m.maps.Slot.S_1A;
import static g2m.maps.Slot.S_22;
import static g2m.maps.Slot.S_2A;
import static g2m.maps.Slot.S_AA;
import static g2m.maps.Slot.S_RELU1_A;
import static g2m.maps.Slot.S_WGC;
import static g2m.maps.Slot.S_WPP;
import static g2m.maps.Slot.S_WX;

/**
 * The localization maps, each a function of the tap activation A (C×H×W, one image) and the
 * two gradients at the tap: g1 = ∂z_c/∂A and g2 = Jᵀ(softmax(z) − 10·e_c) (see the spec).
 *
 * <p>unit(T) = T / ‖T‖₂ over all C·H·W elements of one image, and unit(T) = 0 when ‖T‖₂ = 0
 * (a dead tap), so no map is ever NaN: e.g. SGL-G1 of a dead g1 is 0 everywhere. Σ_c sums over
 * channels, ⊙ is the element-wise product.
 *
 * <pre>
 * LayerCAM   ReLU( Σ_c ReLU(g1) ⊙ A )
 * SGL-G1     Σ_c (unit(A) + unit(g1)) ⊙ unit(g1)
 * SGL-G2     Σ_c −unit(g2) ⊙ (unit(A) − unit(g2))
 * DGL        Σ_c unit(g1) ⊙ (unit(A) − unit(g2))
 * Grad-CAM   ReLU( Σ_c w_c A_c ),  w_c = mean_hw g1                         (Selvaraju et al. 2017)
 * Grad-CAM++ ReLU( Σ_c w_c A_c ),  w_c = Σ_hw α ⊙ ReLU(g1),                  (Chattopadhay et al. 2018)
 *            α = g1² / (2·g1² + (Σ_hw A_c)·g1³), α = 0 where that denominator is 0
 * XGrad-CAM  ReLU( Σ_c w_c A_c ),  w_c = Σ_hw (g1 ⊙ A_c) / Σ_hw A_c,        (Fu et al. 2020)
 *            w_c = 0 where Σ_hw A_c = 0
 * HiResCAM   ReLU( Σ_c g1 ⊙ A )                                             (Draelos &amp; Carin 2020)
 * </pre>
 *
 * <p>How they are computed: every map is a function of a few per-pixel channel sums
 * ({@link Slot}) and the image's inverse norms invA = 1/‖A‖, inv1 = 1/‖g1‖, inv2 = 1/‖g2‖ (0 for
 * a zero norm). With unit(T) = T·inv_T the formulas above expand to
 * <pre>
 * SGL-G1 = Σ_c (uA + u1)·u1  = invA·inv1·Σ g1A + inv1²·Σ g1²
 * SGL-G2 = Σ_c −u2·(uA − u2) = −inv2·invA·Σ g2A + inv2²·Σ g2²
 * DGL    = Σ_c u1·(uA − u2)  = inv1·invA·Σ g1A − inv1·inv2·Σ g1g2
 * </pre>
 * Each entry below is one line: its value from the sums, then the sums it reads (norms
 * included); whether it needs g2 or channel weights follows from those. The CUDA maps kernel
 * has the same table, line for line, in {@code map_value} (kernels/src/main/cuda/g2m_math.cuh),
 * with the entries' ordinals as method codes.
 */
public enum MapMethod {
    LAYERCAM("layercam", (s, invA, inv1, inv2) -> relu(s.get(S_RELU1_A)), S_RELU1_A),
    SGL_G1("sgl-g1", (s, invA, inv1, inv2) -> invA * inv1 * s.get(S_1A) + inv1 * inv1 * s.get(S_11), S_1A, S_11, S_AA),
    SGL_G2("sgl-g2", (s, invA, inv1, inv2) -> -(inv2 * invA) * s.get(S_2A) + inv2 * inv2 * s.get(S_22), S_2A, S_22, S_AA),
    DGL("dgl", (s, invA, inv1, inv2) -> inv1 * invA * s.get(S_1A) - inv1 * inv2 * s.get(S_12), S_1A, S_12, S_AA, S_11, S_22),
    GRADCAM("gradcam", (s, invA, inv1, inv2) -> relu(s.get(S_WGC)), S_WGC),
    GRADCAM_PP("gradcam++", (s, invA, inv1, inv2) -> relu(s.get(S_WPP)), S_WPP),
    XGRADCAM("xgradcam", (s, invA, inv1, inv2) -> relu(s.get(S_WX)), S_WX),
    HIRESCAM("hirescam", (s, invA, inv1, inv2) -> relu(s.get(S_1A)), S_1A);

    /** One pixel's channel sums. */
    interface PixelSums {
        double get(Slot slot);
    }

    /** A map's value at one pixel from that pixel's sums and the image's inverse norms. */
    interface Formula {
        double value(PixelSums s, double invA, double inv1, double inv2);
    }

    /** The name used on the command line and in file names. */
    public final String id;
    private final Formula formula;
    /** The sums {@link #formula} reads, the norms' sums included. */
    final Set<Slot> slots;

    MapMethod(String id, Formula formula, Slot first, Slot... more) {
        this.id = id;
        this.formula = formula;
        this.slots = Collections.unmodifiableSet(EnumSet.of(first, more));
    }

    /** The G2M four, the default. */
    public static final List<MapMethod> G2M = List.of(LAYERCAM, SGL_G1, SGL_G2, DGL);

    public static MapMethod parse(String s) {
        String k = s.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (MapMethod m : values()) {
            if (m.id.equals(k)) return m;
        }
        if (k.equals("gradcampp") || k.equals("gradcam-pp") || k.equals("grad-cam++")) return GRADCAM_PP;
        if (k.equals("grad-cam")) return GRADCAM;
        throw new IllegalArgumentException("unknown method '" + s + "' (valid: " + validNames() + ")");
    }

    /** Parses "layercam,sgl-g1,…" keeping order, without duplicates. */
    public static List<MapMethod> parseList(String csv) {
        List<MapMethod> out = new ArrayList<>();
        for (String p : csv.split(",")) {
            if (p.isBlank()) continue;
            MapMethod m = parse(p);
            if (!out.contains(m)) out.add(m);
        }
        if (out.isEmpty()) throw new IllegalArgumentException("no methods given (valid: " + validNames() + ")");
        return out;
    }

    public static String validNames() {
        return Arrays.stream(values()).map(m -> m.id).collect(Collectors.joining(", "));
    }

    /** Whether the map needs g2 (and so the second backward right-hand side): it reads a sum of g2. */
    public boolean needsG2() {
        return slots.stream().anyMatch(s -> s.readsG2);
    }

    /** Whether the map needs the Grad-CAM family's channel weights: it reads a weighted sum. */
    boolean needsChannelWeights() {
        return slots.stream().anyMatch(s -> s.weight != null);
    }

    /** The map's value at one pixel. */
    double value(PixelSums s, double invA, double inv1, double inv2) {
        return formula.value(s, invA, inv1, inv2);
    }

    /** Every sum that some of the methods read. */
    static Set<Slot> slotsOf(Collection<MapMethod> methods) {
        Set<Slot> all = EnumSet.noneOf(Slot.class);
        for (MapMethod m : methods) all.addAll(m.slots);
        return all;
    }

    /** ReLU as the CUDA twin's: anything not > 0 (NaN included) is 0. */
    private static double relu(double v) {
        return v > 0 ? v : 0;
    }

    @Override
    public String toString() {
        return id;
    }
}
