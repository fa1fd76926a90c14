package g2m.maps;

import java.util.List;

/**
 * What the CUDA maps kernels (g2m_channel_weights, g2m_map_sums, g2m_map_finish in
 * kernels/src/main/cuda/g2m_kernels.cu) are told about a method list, derived from the sums the
 * methods read the same way {@link CpuMaps} decides what to compute. The constants are
 * g2m_math.cuh's (KernelSignatureTest checks them against the header).
 */
public final class MapsKernelArgs {
    private MapsKernelArgs() {}

    /** Flag: g2 is read (some method reads a sum of g2). */
    public static final int F_G2 = 1;
    /** Flag: channel weights are computed and read (some method reads a weighted sum). */
    public static final int F_WEIGHTS = 2;
    /** Sums per pixel (g2m::NSLOTS) and channel weights per channel (g2m::CW_COUNT): the sizes of the kernels' scratch. */
    public static final int SLOTS = Slot.values().length, CHANNEL_WEIGHTS = ChannelWeight.COUNT;
    /** Methods one call can take: 4-bit codes in a 32-bit int (g2m::MAX_METHODS). */
    public static final int MAX_METHODS = 8;

    /** The kernels' flags for these methods. */
    public static int flags(List<MapMethod> methods) {
        int flags = 0;
        for (MapMethod m : methods) {
            if (m.needsG2()) flags |= F_G2;
            if (m.needsChannelWeights()) flags |= F_WEIGHTS;
        }
        return flags;
    }

    /** The method list as g2m_map_finish reads it: 4-bit MapMethod ordinals, slot i in bits 4i..4i+3. */
    public static int packMethods(List<MapMethod> methods) {
        if (methods.size() > MAX_METHODS) {
            throw new IllegalArgumentException("at most " + MAX_METHODS + " methods per call, got " + methods.size());
        }
        int packed = 0;
        for (int i = 0; i < methods.size(); i++) packed |= methods.get(i).ordinal() << (4 * i);
        return packed;
    }
}
