package g2m.backend.cuda;

import g2m.backend.BackendUnavailableException;
import g2m.backend.Precision;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/** GPU tests: skipped, with the one-line reason in the report, where no usable GPU is present. */
final class CudaTestSupport {
    private CudaTestSupport() {}

    private static String reason;
    private static boolean probed;

    /** Null if a CUDA backend opens here, else why not (probed once per JVM). */
    static synchronized String unavailable() {
        if (!probed) {
            reason = CudaBackend.unavailableReason();
            probed = true;
        }
        return reason;
    }

    /** {@code @ExtendWith(CudaTestSupport.RequiresGpu.class)}: the class's tests are skipped, each with the reason, without a GPU. */
    static final class RequiresGpu implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            String why = unavailable();
            return why == null ? ConditionEvaluationResult.enabled("a usable GPU is present")
                    : ConditionEvaluationResult.disabled("GPU test skipped: " + why);
        }
    }

    static CudaBackend openOrSkip(Precision p) {
        try {
            return CudaBackend.open(0, p);
        } catch (BackendUnavailableException e) {
            Assumptions.abort("GPU test skipped: " + e.getMessage());
            throw new AssertionError("unreachable");
        }
    }
}
