package g2m.net;

import java.util.Locale;

/**
 * Where the gradients g1 and g2 that a tap's maps use come from.
 *
 * <ul>
 *   <li>{@link #TAP}: the gradient at the tap itself, as the spec defines the maps (the default).
 *   <li>{@link #LAYERCAM_LOC}: as layercam_loc's {@code scripts/test.py} takes them, which is how
 *       the seed's LayerCAM rows (and, from the same harness, its G2M rows) were measured: at the
 *       five taps right before a max-pool (conv1_2, conv2_2, conv3_3, conv4_3, conv5_3) it hooks
 *       the ReLU output and the pool after it and uses the gradient that arrives first, the
 *       pool's, upsampled bilinearly with align-corners to the tap's size (7×7 → 14×14 at conv5_3
 *       of a 224×224 input). That gradient is dense where the tap's own is mostly zeros (the pool
 *       routes each window's gradient to one element). Every method uses it at those taps; every
 *       other tap keeps its own gradient.
 * </ul>
 */
public enum GradientSource {
    TAP("tap"),
    LAYERCAM_LOC("layercam_loc");

    /** The name on the command line and in results files. */
    public final String id;

    GradientSource(String id) {
        this.id = id;
    }

    /** Whether maps at {@code tap} use the following max-pool's gradient, upsampled, instead of the tap's own. */
    public boolean fromNextPool(Tap tap) {
        if (this != LAYERCAM_LOC || tap.isPool()) return false;
        Tap[] all = Tap.values();
        return all[tap.ordinal() + 1].isPool(); // a conv tap is never last
    }

    public static GradientSource parse(String s) {
        String k = s.strip().toLowerCase(Locale.ROOT).replace('-', '_');
        for (GradientSource g : values()) if (g.id.equals(k)) return g;
        throw new IllegalArgumentException("unknown gradient source '" + s + "' (valid: tap, layercam_loc)");
    }

    @Override
    public String toString() {
        return id;
    }
}
