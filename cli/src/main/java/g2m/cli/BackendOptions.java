package g2m.cli;

import g2m.api.G2mEngine;
import g2m.backend.Precision;
import picocli.CommandLine.Option;

/**
 * The options of every command that opens a network: which backend, how many CPU threads and
 * which arithmetic. Commands take them as a mixin (eval, bench) or, for the main job's argument
 * group, by extending {@link MapOptions}.
 */
class BackendOptions {
    @Option(names = "--device", paramLabel = "cpu|cuda|auto", defaultValue = "auto", converter = Converters.DeviceValue.class,
            description = "backend: auto = the CPU until the CUDA backend has been validated on a GPU, then CUDA where a usable one is found (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--precision", paramLabel = "fp32|tf32|fp16|bf16", defaultValue = "fp32", converter = Converters.PrecisionValue.class,
            description = "arithmetic of the products: fp32 (default, parity with PyTorch), or the fast modes tf32, fp16, bf16 "
                    + "on CUDA and bf16 on the CPU (AVX-512 bf16; fp32 accumulation, looser tolerance; see the README)")
    Precision precision;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "CPU threads for the network, 0 = all cores, at most " + OptionChecks.MAX_THREADS + " (default: ${DEFAULT-VALUE})")
    int threads;

    /** The checks that span options, made before anything opens. */
    void check() {
        OptionChecks.threads(threads);
        // tf32 and fp16 are CUDA modes: asking for them with --device cpu is a mistake (auto falls back and says so)
        if (device.equals("cpu") && !Precision.onCpu(precision)) {
            throw new Main.UserException("--precision " + precision.id + " needs --device cuda (or auto); the CPU backend computes in fp32 or bf16");
        }
    }

    /** An engine builder with these settings (weights and batch size still to give). */
    G2mEngine.Builder engine() {
        return G2mEngine.builder().device(device).threads(threads).precision(precision);
    }
}
