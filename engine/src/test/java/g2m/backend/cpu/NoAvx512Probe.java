package g2m.backend.cpu;

import g2m.backend.BackendUnavailableException;
import g2m.backend.Backends;
import g2m.backend.Precision;

/**
 * Run by {@link NoAvx512PathTest} in a child JVM whose oneDNN is capped below AVX-512
 * ({@code ONEDNN_MAX_CPU_ISA=AVX2}): prints what the CPU backend chose, one {@code key=value} a line.
 */
public final class NoAvx512Probe {
    private NoAvx512Probe() {}

    public static void main(String[] args) {
        System.out.println("loaded=" + Dnnl.load());
        System.out.println("avx512=" + Dnnl.hasAvx512());
        System.out.println("bf16=" + Dnnl.hasBf16());
        try (CpuBackend be = new CpuBackend(1)) {
            System.out.println("auto=" + be.convImplementation(1, 64, 64, 224, 224, false));
        }
        for (Object[] c : new Object[][] {{Precision.BF16, ConvPath.AUTO}, {Precision.FP32, ConvPath.ONEDNN}}) {
            try (CpuBackend be = new CpuBackend(1, (Precision) c[0], (ConvPath) c[1], null)) {
                System.out.println(((Precision) c[0]).name() + "/" + ((ConvPath) c[1]).name() + "=opened " + be.description());
            } catch (BackendUnavailableException e) {
                System.out.println(((Precision) c[0]).name() + "/" + ((ConvPath) c[1]).name() + "=refused " + e.getMessage());
            }
        }
        try (var be = Backends.open("cpu", 1, Precision.BF16)) {
            System.out.println("open-bf16=opened " + be.description());
        } catch (BackendUnavailableException e) {
            System.out.println("open-bf16=refused " + e.getMessage());
        }
    }
}
