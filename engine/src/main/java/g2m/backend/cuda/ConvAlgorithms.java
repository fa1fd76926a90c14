package g2m.backend.cuda;

import g2m.backend.Precision;

import java.util.List;
import java.util.Optional;

/**
 * Choosing a cuDNN convolution algorithm from the candidates cuDNN lists (heuristics or
 * measured, best first), once per shape. Pure Java over the perf records, so the policy is
 * tested without a GPU.
 *
 * <p>Policy: the first candidate that succeeded, fits the workspace limit, is deterministic
 * (same maps for the same input, run after run), and whose math type the precision allows
 * (FP32: FMA or default, never tensor-op; TF32: also tensor-op; FP16/BF16: also tensor-op with
 * down-conversion). If no deterministic one qualifies, the first non-deterministic one. In FP32
 * the descriptor is then set to FMA math whatever the entry says (cuDNN may report "default"
 * math, which on Ampere and later permits TF32): the descriptor's math type is what forbids TF32.
 */
final class ConvAlgorithms {
    private ConvAlgorithms() {}

    // cudnnMathType_t
    static final int DEFAULT_MATH = 0, TENSOR_OP_MATH = 1, TENSOR_OP_MATH_ALLOW_CONVERSION = 2, FMA_MATH = 3;
    static final int STATUS_SUCCESS = 0, DETERMINISTIC = 1;

    // cudnnConvolutionFwdAlgo_t and cudnnConvolutionBwdDataAlgo_t, in value order
    private static final List<String> FWD_ALGOS = List.of("IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT",
            "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED");
    private static final List<String> BWD_DATA_ALGOS = List.of("ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED");
    private static final List<String> MATH_TYPES = List.of("DEFAULT", "TENSOR_OP", "TENSOR_OP_ALLOW_CONVERSION", "FMA");

    /** cuDNN's name of a forward or backward-data algorithm ("algo 9" for one this list does not know). */
    static String algoName(boolean forward, int algo) {
        List<String> names = forward ? FWD_ALGOS : BWD_DATA_ALGOS;
        return algo >= 0 && algo < names.size() ? names.get(algo) : "algo " + algo;
    }

    static String mathName(int mathType) {
        return mathType >= 0 && mathType < MATH_TYPES.size() ? MATH_TYPES.get(mathType) : "math type " + mathType;
    }

    /** One entry of cudnnConvolution{Fwd,BwdData}AlgoPerf_t. */
    record Perf(int algo, int status, float timeMs, long memory, int determinism, int mathType) {}

    /** The math type the convolution descriptor asks for in this precision. */
    static int requestedMathType(Precision p) {
        return switch (p) {
            case FP32 -> FMA_MATH;
            case TF32, BF16 -> TENSOR_OP_MATH;
            case FP16 -> TENSOR_OP_MATH_ALLOW_CONVERSION;
        };
    }

    static boolean mathAllowed(Precision p, int mathType) {
        return switch (p) {
            case FP32 -> mathType == FMA_MATH || mathType == DEFAULT_MATH;
            case TF32, BF16 -> mathType == FMA_MATH || mathType == TENSOR_OP_MATH || mathType == DEFAULT_MATH;
            case FP16 -> mathType == FMA_MATH || mathType == TENSOR_OP_MATH || mathType == DEFAULT_MATH
                    || mathType == TENSOR_OP_MATH_ALLOW_CONVERSION;
        };
    }

    /** The math type to set on the descriptor for the chosen algorithm. */
    static int mathTypeToSet(Precision p, Perf chosen) {
        return p == Precision.FP32 ? FMA_MATH : chosen.mathType();
    }

    static Optional<Perf> choose(List<Perf> candidates, Precision p, long workspaceLimit) {
        Perf fallback = null;
        for (Perf c : candidates) {
            if (c.status() != STATUS_SUCCESS || c.memory() < 0 || c.memory() > workspaceLimit || !mathAllowed(p, c.mathType())) continue;
            if (c.determinism() == DETERMINISTIC) return Optional.of(c);
            if (fallback == null) fallback = c;
        }
        return Optional.ofNullable(fallback);
    }
}
