package g2m.maps;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

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
 */
public enum MapMethod {
    LAYERCAM("layercam"),
    SGL_G1("sgl-g1"),
    SGL_G2("sgl-g2"),
    DGL("dgl"),
    GRADCAM("gradcam"),
    GRADCAM_PP("gradcam++"),
    XGRADCAM("xgradcam"),
    HIRESCAM("hirescam");

    /** The name used on the command line and in file names. */
    public final String id;

    MapMethod(String id) {
        this.id = id;
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

    /** Whether the map needs g2 (and so the second backward right-hand side). */
    public boolean needsG2() {
        return this == SGL_G2 || this == DGL;
    }

    @Override
    public String toString() {
        return id;
    }
}
