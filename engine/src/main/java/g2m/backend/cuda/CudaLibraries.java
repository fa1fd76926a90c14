package g2m.backend.cuda;

import g2m.backend.Precision;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudnn.cudnnActivationStruct;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnPoolingStruct;
import org.bytedeco.javacpp.FloatPointer;

import static org.bytedeco.cuda.global.cublas.CUBLAS_DEFAULT_MATH;
import static org.bytedeco.cuda.global.cublas.CUBLAS_TF32_TENSOR_OP_MATH;
import static org.bytedeco.cuda.global.cublas.cublasCreate_v2;
import static org.bytedeco.cuda.global.cublas.cublasDestroy_v2;
import static org.bytedeco.cuda.global.cublas.cublasGetVersion_v2;
import static org.bytedeco.cuda.global.cublas.cublasSetMathMode;
import static org.bytedeco.cuda.global.cublas.cublasSetStream_v2;
import static org.bytedeco.cuda.global.cudart.cudaDriverGetVersion;
import static org.bytedeco.cuda.global.cudnn.CUDNN_ACTIVATION_RELU;
import static org.bytedeco.cuda.global.cudnn.CUDNN_POOLING_MAX;
import static org.bytedeco.cuda.global.cudnn.CUDNN_PROPAGATE_NAN;
import static org.bytedeco.cuda.global.cudnn.cudnnCreate;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateActivationDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreatePoolingDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroy;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyActivationDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyPoolingDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnGetVersion;
import static org.bytedeco.cuda.global.cudnn.cudnnSetActivationDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetPooling2dDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetStream;

/**
 * What the operations call through, made once per backend: the cuBLAS and cuDNN handles on the
 * device's stream (cuBLAS in the precision's math mode), cuDNN's two fixed descriptors (ReLU,
 * 2x2 max pool), the engine's kernels module, and the 1 and 0 scalars the library calls read.
 * Owns all of them ({@link #close} releases them in reverse order of making).
 */
final class CudaLibraries implements AutoCloseable {
    final cublasContext cublas;
    final cudnnContext cudnn;
    final cudnnActivationStruct relu;
    final cudnnPoolingStruct maxPool2x2;
    final Kernels kernels;
    final FloatPointer one;
    final FloatPointer zero;
    /** "cuDNN 9.10.2, cuBLAS 13.0.0, driver CUDA 13.0", for the description. */
    final String versions;
    private final CloseStack opened = new CloseStack();

    CudaLibraries(CudaDevice device, Precision precision) {
        CudaChecks checks = device.checks;
        try {
            byte[] image = Kernels.readImage(Kernels.FATBIN);
            cublasContext h = new cublasContext();
            checks.blas(cublasCreate_v2(h), "cublasCreate");
            opened.push(() -> {
                if (checks.live()) checks.blas(cublasDestroy_v2(h), "cublasDestroy");
            });
            cublas = h;
            checks.blas(cublasSetStream_v2(cublas, device.stream()), "cublasSetStream");
            checks.blas(cublasSetMathMode(cublas, precision == Precision.FP32 ? CUBLAS_DEFAULT_MATH : CUBLAS_TF32_TENSOR_OP_MATH), "cublasSetMathMode");
            cudnnContext d = new cudnnContext();
            checks.dnn(cudnnCreate(d), "cudnnCreate");
            opened.push(() -> {
                if (checks.live()) checks.dnn(cudnnDestroy(d), "cudnnDestroy");
            });
            cudnn = d;
            checks.dnn(cudnnSetStream(cudnn, device.stream()), "cudnnSetStream");
            cudnnActivationStruct act = new cudnnActivationStruct();
            checks.dnn(cudnnCreateActivationDescriptor(act), "cudnnCreateActivationDescriptor");
            opened.push(() -> {
                if (checks.live()) checks.dnn(cudnnDestroyActivationDescriptor(act), "cudnnDestroyActivationDescriptor");
            });
            relu = act;
            checks.dnn(cudnnSetActivationDescriptor(relu, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0), "cudnnSetActivationDescriptor");
            cudnnPoolingStruct pool = new cudnnPoolingStruct();
            checks.dnn(cudnnCreatePoolingDescriptor(pool), "cudnnCreatePoolingDescriptor");
            opened.push(() -> {
                if (checks.live()) checks.dnn(cudnnDestroyPoolingDescriptor(pool), "cudnnDestroyPoolingDescriptor");
            });
            maxPool2x2 = pool;
            // 2x2 window, no padding, stride 2: floor mode, as VGG16's pools; NaN propagates (PyTorch's max)
            checks.dnn(cudnnSetPooling2dDescriptor(maxPool2x2, CUDNN_POOLING_MAX, CUDNN_PROPAGATE_NAN, 2, 2, 0, 0, 2, 2), "cudnnSetPooling2dDescriptor");
            Kernels k = new Kernels(image, device.name, CudaNatives.NAMER);
            opened.push(() -> {
                if (checks.live()) k.close();
                else k.abandon(); // the module died with the context: free the host-side parameter block only
            });
            kernels = k;
            FloatPointer o = new FloatPointer(1f);
            opened.push(o::close);
            one = o;
            FloatPointer z = new FloatPointer(0f);
            opened.push(z::close);
            zero = z;
            int[] drv = {0};
            int[] blasVersion = {0};
            checks.rt(cudaDriverGetVersion(drv), "cudaDriverGetVersion");
            checks.blas(cublasGetVersion_v2(cublas, blasVersion), "cublasGetVersion");
            long dnnVersion = cudnnGetVersion();
            versions = "cuDNN " + dnnVersion / 10000 + "." + (dnnVersion % 10000) / 100 + "." + dnnVersion % 100
                    + ", cuBLAS " + blasVersion[0] / 10000 + "." + (blasVersion[0] % 10000) / 100
                    + ", driver CUDA " + CudaDevice.cudaVersion(drv[0]);
        } catch (RuntimeException | Error e) {
            opened.closeAfterFailure(e);
            throw e;
        }
    }

    /** Releases the scalars, the kernels module, the descriptors, then the cuDNN and cuBLAS handles (after a lost context: host memory only). */
    @Override
    public void close() {
        opened.close();
    }
}
