package g2m.backend.cpu;

import g2m.backend.BackendUnavailableException;
import g2m.backend.Backends;
import g2m.backend.Precision;

/**
 * Run by {@link IsaCapPathTest} in a child JVM whose oneDNN is capped ({@code ONEDNN_MAX_CPU_ISA}):
 * prints what the CPU backend chose, one {@code key=value} a line.
 */
public final class IsaCapProbe {
    private IsaCapProbe() {}

    public static void main(String[] args) {
        System.out.println("loaded=" + Dnnl.load());
        System.out.println("avx2=" + Dnnl.hasAvx2());
        System.out.println("avx512=" + Dnnl.hasAvx512());
        System.out.println("bf16=" + Dnnl.hasBf16());
        try (CpuBackend be = new CpuBackend(1)) {
            System.out.println("auto=" + be.convImplementation(1, 64, 64, 224, 224, false));
            System.out.println("auto-3-channels=" + be.convImplementation(8, 3, 64, 224, 224, false));
            System.out.println("auto-backward-3-channels=" + be.convImplementation(2, 3, 64, 16, 16, true));
            System.out.println("auto-wide=" + be.convImplementation(1, 128, 128, 112, 112, false));
            System.out.println("auto-14x14=" + be.convImplementation(1, 512, 512, 14, 14, false));
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
