package g2m.backend.cpu;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU backend on lesser CPUs than the one it runs on, by a child JVM with oneDNN capped
 * ({@code ONEDNN_MAX_CPU_ISA}, oneDNN's own switch): at AVX2 the default routes per shape (im2col
 * for 3-channel inputs, Winograd for wide layers with enough tiles, oneDNN for the rest), and
 * refuses bf16 in one line that says why; below AVX2 (SSE4.1) it falls back
 * to im2col + OpenBLAS and refuses forced oneDNN convolutions too. A cap above what the CPU has
 * changes nothing, so on an AVX2-only machine the AVX2 case runs uncapped in effect.
 */
class IsaCapPathTest {
    @org.junit.jupiter.api.io.TempDir
    Path dir;

    private Map<String, String> probe(String isa) throws IOException, InterruptedException {
        String out = ProbeJvm.run(IsaCapProbe.class, "-Xmx512m", env -> env.put("ONEDNN_MAX_CPU_ISA", isa), dir.resolve("probe-" + isa + ".txt"));
        Map<String, String> v = new HashMap<>();
        for (String line : out.lines().toList()) {
            int eq = line.indexOf('=');
            if (eq > 0) v.put(line.substring(0, eq), line.substring(eq + 1));
        }
        v.put("(output)", out);
        assertEquals("true", v.get("loaded"), out);
        for (String k : List.of("BF16/AUTO", "open-bf16")) {
            assertTrue(v.get(k).startsWith("refused ") && v.get(k).contains("no AVX-512 bf16"), k + ": " + out);
        }
        for (var e : v.entrySet()) {
            if (!e.getKey().equals("(output)")) {
                assertTrue(!e.getValue().contains("Exception") && !e.getValue().contains("Error"), "no Java class names: " + e.getValue());
            }
        }
        return v;
    }

    @Test
    void atAvx2TheDefaultRoutesPerShapeAndBf16IsRefusedInWords() throws IOException, InterruptedException {
        Map<String, String> v = probe("AVX2");
        String out = v.get("(output)");
        assertEquals("true", v.get("avx2"), out);
        assertEquals("false", v.get("avx512"), "the cap took effect: " + out);
        assertTrue(v.get("auto").startsWith("oneDNN "), out);
        assertEquals("im2col+sgemm", v.get("auto-3-channels"), out);
        assertEquals("im2col+sgemm", v.get("auto-backward-3-channels"), out);
        assertTrue(v.get("auto-wide").startsWith("winograd"), out);
        assertTrue(v.get("auto-14x14").startsWith("oneDNN "), out);
        assertTrue(v.get("FP32/ONEDNN").startsWith("opened ") && v.get("FP32/ONEDNN").contains("oneDNN convolutions"), out);
    }

    @Test
    void belowAvx2TheDefaultIsIm2colAndTheOneDnnModesAreRefusedInWords() throws IOException, InterruptedException {
        Map<String, String> v = probe("SSE41");
        String out = v.get("(output)");
        assertEquals("false", v.get("avx2"), "the cap took effect: " + out);
        assertEquals("im2col+sgemm", v.get("auto"), out);
        assertEquals("im2col+sgemm", v.get("auto-3-channels"), out);
        assertTrue(v.get("FP32/ONEDNN").startsWith("refused ") && v.get("FP32/ONEDNN").contains("no AVX2"), out);
    }
}
