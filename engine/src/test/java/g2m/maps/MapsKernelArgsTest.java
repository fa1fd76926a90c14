package g2m.maps;

import g2m.backend.cuda.KernelSources;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static g2m.maps.MapMethod.DGL;
import static g2m.maps.MapMethod.GRADCAM;
import static g2m.maps.MapMethod.GRADCAM_PP;
import static g2m.maps.MapMethod.HIRESCAM;
import static g2m.maps.MapMethod.LAYERCAM;
import static g2m.maps.MapMethod.SGL_G1;
import static g2m.maps.MapMethod.SGL_G2;
import static g2m.maps.MapMethod.XGRADCAM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the CUDA maps kernels are told (packed method codes, flags derived from the sums the
 * methods read), and the tables g2m.maps shares with kernels/src/main/cuda/g2m_math.cuh:
 * methods, sums and channel weights with the same names in the same order, and map_value with
 * one case per method in the enum's order. Needs the kernel sources, not nvcc.
 */
class MapsKernelArgsTest {
    @Test
    void methodsArePackedAsFourBitOrdinals() {
        assertEquals(0x3210, MapsKernelArgs.packMethods(MapMethod.G2M));
        assertEquals(0x76543210, MapsKernelArgs.packMethods(List.of(MapMethod.values())));
        assertEquals(0x4, MapsKernelArgs.packMethods(List.of(GRADCAM)));
        List<MapMethod> nine = new ArrayList<>(List.of(MapMethod.values()));
        nine.add(LAYERCAM);
        assertThrows(IllegalArgumentException.class, () -> MapsKernelArgs.packMethods(nine));
        assertTrue(MapMethod.values().length <= 16, "method codes are 4 bits");
    }

    @Test
    void flagsFollowTheSumsTheMethodsRead() {
        // needs g2: the two maps of unit(g2); channel weights: the Grad-CAM family
        for (MapMethod m : List.of(SGL_G2, DGL)) assertTrue(m.needsG2(), m + " needs g2");
        for (MapMethod m : List.of(LAYERCAM, SGL_G1, GRADCAM, GRADCAM_PP, XGRADCAM, HIRESCAM)) assertFalse(m.needsG2(), m + " needs no g2");
        for (MapMethod m : List.of(GRADCAM, GRADCAM_PP, XGRADCAM)) assertTrue(m.needsChannelWeights(), m + " needs channel weights");
        for (MapMethod m : List.of(LAYERCAM, SGL_G1, SGL_G2, DGL, HIRESCAM)) assertFalse(m.needsChannelWeights(), m + " needs none");
        assertEquals(0, MapsKernelArgs.flags(List.of(LAYERCAM, SGL_G1, HIRESCAM)));
        assertEquals(MapsKernelArgs.F_G2, MapsKernelArgs.flags(MapMethod.G2M));
        assertEquals(MapsKernelArgs.F_WEIGHTS, MapsKernelArgs.flags(List.of(LAYERCAM, XGRADCAM)));
        assertEquals(MapsKernelArgs.F_G2 | MapsKernelArgs.F_WEIGHTS, MapsKernelArgs.flags(List.of(GRADCAM_PP, SGL_G2)));
        assertFalse((MapsKernelArgs.flags(List.of(LAYERCAM, HIRESCAM)) & MapsKernelArgs.F_WEIGHTS) != 0);
    }

    /** The names of enum NAME { A = 0, B = 1, … } in the header, checked to be numbered 0, 1, … in order. */
    static List<String> cudaEnum(String header, String name) {
        Matcher body = Pattern.compile("enum " + name + " \\{([^}]*)}").matcher(header);
        assertTrue(body.find(), "enum " + name + " in g2m_math.cuh");
        List<String> names = new ArrayList<>();
        Matcher e = Pattern.compile("(\\w+) = (\\d+)").matcher(body.group(1));
        while (e.find()) {
            if (e.group(1).equals("NSLOTS") || e.group(1).equals("CW_COUNT")) continue;
            assertEquals(names.size(), Integer.parseInt(e.group(2)), name + "::" + e.group(1));
            names.add(e.group(1));
        }
        return names;
    }

    static List<String> names(Enum<?>[] values) {
        return Arrays.stream(values).map(Enum::name).toList();
    }

    @Test
    void tablesAreTheHeadersInTheSameOrder() throws IOException {
        String h = KernelSources.cuda("g2m_math.cuh");
        assertEquals(names(MapMethod.values()), cudaEnum(h, "Method"), "method codes");
        assertEquals(names(Slot.values()), cudaEnum(h, "Slot"), "per-pixel sums");
        assertEquals(names(ChannelWeight.values()), cudaEnum(h, "ChannelWeight"), "channel weights");
        assertEquals(MapsKernelArgs.SLOTS, KernelSources.constant(h, "NSLOTS"));
        assertEquals(MapsKernelArgs.CHANNEL_WEIGHTS, KernelSources.constant(h, "CW_COUNT"));
        assertEquals(MapsKernelArgs.MAX_METHODS, KernelSources.constant(h, "MAX_METHODS"));
        assertEquals(MapsKernelArgs.F_G2, KernelSources.constant(h, "F_G2"));
        assertEquals(MapsKernelArgs.F_WEIGHTS, KernelSources.constant(h, "F_WEIGHTS"));
        // map_value: one case per method, in MapMethod's order
        Matcher fn = Pattern.compile("float map_value\\([^)]*\\) \\{(.*?)\\n}", Pattern.DOTALL).matcher(h);
        assertTrue(fn.find(), "map_value in g2m_math.cuh");
        List<String> cases = new ArrayList<>();
        Matcher c = Pattern.compile("case (\\w+):").matcher(fn.group(1));
        while (c.find()) cases.add(c.group(1));
        assertEquals(names(MapMethod.values()), cases, "map_value's cases");
    }
}
