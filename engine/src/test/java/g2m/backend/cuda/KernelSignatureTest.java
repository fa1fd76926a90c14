package g2m.backend.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java launch table ({@link KernelSpec}) against what nvcc compiled: every kernel's PTX
 * entry has the parameter list the launcher fills (count and 32/64-bit widths), and every
 * entry is launched, and the block shapes agree. (The maps kernels' method codes, sums and
 * flags are checked against g2m_math.cuh by g2m.maps.MapsKernelArgsTest.) A mismatch here
 * would be silent garbage on a GPU. Needs no GPU; skipped in builds without nvcc.
 */
class KernelSignatureTest {
    static final Pattern ENTRY = Pattern.compile("\\.visible \\.entry (\\w+)\\(([^)]*)\\)");
    static final Pattern PARAM = Pattern.compile("\\.param \\.(\\w+) ");

    static String ptx() throws IOException {
        try (InputStream in = KernelSpec.class.getResourceAsStream("/g2m/cuda/g2m_kernels.ptx")) {
            Assumptions.assumeTrue(in != null, "built without nvcc: no g2m/cuda/g2m_kernels.ptx on the classpath");
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    @Test
    void everyKernelTakesTheParametersItsLaunchPasses() throws IOException {
        Map<String, List<String>> entries = new LinkedHashMap<>();
        Matcher m = ENTRY.matcher(ptx());
        while (m.find()) {
            List<String> types = new ArrayList<>();
            Matcher p = PARAM.matcher(m.group(2));
            while (p.find()) types.add(p.group(1));
            entries.put(m.group(1), types);
        }
        assertEquals(KernelSpec.values().length, entries.size(), "PTX entries " + entries.keySet());
        for (KernelSpec k : KernelSpec.values()) {
            List<String> ptxTypes = entries.get(k.symbol);
            assertTrue(ptxTypes != null, "no PTX entry " + k.symbol + " (have " + entries.keySet() + ")");
            assertEquals(k.params.stream().map(p -> p.ptx).toList(), ptxTypes, k.symbol + " parameters");
        }
    }

    @Test
    void blockShapesAgreeWithTheKernels() throws IOException {
        String cu = KernelSources.cuda("g2m_kernels.cu");
        assertEquals(KernelSpec.Block.LINEAR.x, KernelSources.constant(cu.replace("#define G2M_BLOCK ", "G2M_BLOCK = "), "G2M_BLOCK"));
        assertEquals(KernelSpec.Block.SUMS.x, KernelSources.constant(cu.replace("#define SUMS_PIXELS ", "SUMS_PIXELS = "), "SUMS_PIXELS"));
        assertEquals(KernelSpec.Block.SUMS.y, KernelSources.constant(cu.replace("#define SUMS_GROUPS ", "SUMS_GROUPS = "), "SUMS_GROUPS"));
    }
}
