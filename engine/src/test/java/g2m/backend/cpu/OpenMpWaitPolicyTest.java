package g2m.backend.cpu;

import g2m.backend.BackendUnavailableException;
import g2m.backend.Precision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * An fp32 CPU backend makes libgomp wait passively, a bf16 one leaves its spinning default, and a
 * user's own choice wins: child JVMs with libgomp's OMP_DISPLAY_ENV=verbose (it prints the
 * settings it read when it loaded) open a backend and show what libgomp saw. Its spin count is
 * the telling line: 0 for PASSIVE, 300000 by default (its OMP_WAIT_POLICY line reads PASSIVE in
 * both cases).
 */
class OpenMpWaitPolicyTest {
    @TempDir
    Path dir;

    @Test
    void onlyWhereTheUserChoseNoPolicy() {
        assertTrue(OpenMpWaitPolicy.wanted(Map.of("PATH", "/bin")));
        assertFalse(OpenMpWaitPolicy.wanted(Map.of("OMP_WAIT_POLICY", "ACTIVE")));
        assertFalse(OpenMpWaitPolicy.wanted(Map.of("GOMP_SPINCOUNT", "0")));
    }

    @Test
    void fp32MakesLibgompSleep() throws Exception {
        assumeTrue(OpenMpWaitPolicy.unavailable() == null, "the foreign-function API is not usable here: " + OpenMpWaitPolicy.unavailable());
        String out = child("fp32", Map.of());
        assertTrue(out.contains("outcome=set"), out);
        assertTrue(out.contains("native=PASSIVE"), out);
        assertTrue(out.contains("GOMP_SPINCOUNT = '0'"), "libgomp read PASSIVE: " + out);
    }

    @Test
    void bf16KeepsTheSpinningDefault() throws Exception {
        String out = child("bf16", Map.of());
        if (OpenMpWaitPolicy.unavailable() == null) assertTrue(out.contains("native=null"), "nothing set: " + out);
        assertTrue(out.contains("GOMP_SPINCOUNT = '300000'"), "libgomp kept its default: " + out);
    }

    @Test
    void theUsersPolicyIsKept() throws Exception {
        String out = child("fp32", Map.of("OMP_WAIT_POLICY", "ACTIVE"));
        assertTrue(out.contains("outcome=the user's setting kept"), out);
        assertTrue(out.contains("OMP_WAIT_POLICY = 'ACTIVE'"), "libgomp read the user's ACTIVE: " + out);
    }

    private String child(String precision, Map<String, String> env) throws Exception {
        String out = ProbeJvm.run(Probe.class, "-Xmx256m", e -> {
            e.remove("OMP_WAIT_POLICY");
            e.remove("GOMP_SPINCOUNT");
            e.put("OMP_DISPLAY_ENV", "verbose");
            e.putAll(env);
        }, dir.resolve("probe.txt"), precision);
        assumeTrue(out.contains("opened=true"), "no " + precision + " CPU backend with oneDNN here: " + out);
        return out;
    }

    /** Opens a CPU backend of the given precision, then prints what was decided and what the native environment holds. */
    static final class Probe {
        public static void main(String[] args) throws Throwable {
            Precision p = Precision.parse(args[0]);
            try (CpuBackend b = new CpuBackend(0, p, ConvPath.AUTO, null)) {
                System.out.println("opened=" + Dnnl.load());
            } catch (BackendUnavailableException e) {
                System.out.println("opened=false: " + e.getMessage());
            }
            if (p == Precision.FP32) System.out.println("outcome=" + OpenMpWaitPolicy.apply()); // the backend's own, recorded
            if (OpenMpWaitPolicy.unavailable() == null) System.out.println("native=" + OpenMpWaitPolicy.nativeValue("OMP_WAIT_POLICY"));
            System.out.flush();
        }
    }
}
