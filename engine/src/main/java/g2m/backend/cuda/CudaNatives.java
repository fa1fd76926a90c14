package g2m.backend.cuda;

import g2m.backend.BackendUnavailableException;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.BytePointer;

import java.util.Locale;

/**
 * Loads JavaCPP's CUDA presets (cudart, cuBLAS, cuDNN JNI libraries; the CUDA libraries
 * themselves come from the host) once per JVM. A failure is explained in one line and
 * remembered: JavaCPP surfaces it only on the first load (UnsatisfiedLinkError); later uses of
 * the preset classes would throw a bare NoClassDefFoundError.
 */
final class CudaNatives {
    private CudaNatives() {}

    private static boolean loaded;
    /** The reason the first load failed, for every later attempt. */
    private static String failure;

    /** The backend's name in {@link BackendUnavailableException}s: "CUDA backend unavailable: …". */
    static final String BACKEND = "CUDA";

    /** @throws BackendUnavailableException with a one-line reason if the libraries cannot be loaded */
    static synchronized void load() {
        if (loaded) return;
        if (failure != null) throw new BackendUnavailableException(BACKEND, failure);
        try {
            Loader.load(org.bytedeco.cuda.global.cudart.class);
            Loader.load(org.bytedeco.cuda.global.cublas.class);
            Loader.load(org.bytedeco.cuda.global.cudnn.class);
            loaded = true;
        } catch (LinkageError | RuntimeException e) {
            BackendUnavailableException u = unavailable(e);
            failure = u.reason();
            throw u;
        }
    }

    /**
     * A failed load, explained in one line. JavaCPP's top-level message ("no jnicudart in
     * java.library.path") hides the cause, which names the missing host library: the driver's
     * libcuda.so.1, or libcudart / libcublas / libcudnn.
     */
    static BackendUnavailableException unavailable(Throwable t) {
        return new BackendUnavailableException(BACKEND, explain(t), t);
    }

    private static String explain(Throwable t) {
        StringBuilder all = new StringBuilder();
        String deepest = null;
        for (Throwable c = t; c != null && all.length() < 20_000; c = c.getCause() == c ? null : c.getCause()) {
            String m = String.valueOf(c.getMessage());
            all.append(m).append('\n');
            if (c.getMessage() != null && !c.getMessage().isBlank()) deepest = firstLine(c.getMessage());
        }
        String s = all.toString().toLowerCase(Locale.ROOT);
        if (s.contains("libcuda.so")) {
            return "no NVIDIA driver on this machine (libcuda.so.1 not found)";
        }
        if (s.contains("libcudart.so")) {
            return "the CUDA 13 runtime (libcudart.so.13) was not found: install CUDA 13 or add its lib64 folder to LD_LIBRARY_PATH";
        }
        if (s.contains("libcublas")) {
            return "cuBLAS 13 (libcublas.so.13, libcublasLt.so.13) was not found: add its folder to LD_LIBRARY_PATH";
        }
        if (s.contains("libcudnn")) {
            return "cuDNN 9 (libcudnn*.so.9) was not found: add its folder to LD_LIBRARY_PATH";
        }
        return "cannot load the CUDA libraries" + (deepest == null ? "" : " (" + deepest + ")");
    }

    private static String firstLine(String m) {
        String l = m.strip().lines().findFirst().orElse("");
        return l.length() <= 300 ? l : l.substring(0, 297) + "...";
    }

    /** Status names from the loaded libraries. */
    static final CudaStatus.Namer NAMER = (api, code) -> switch (api) {
        case RUNTIME -> org.bytedeco.cuda.global.cudart.cudaGetErrorName(code).getString()
                + ": " + org.bytedeco.cuda.global.cudart.cudaGetErrorString(code).getString();
        case DRIVER -> driverName(code);
        case CUBLAS -> org.bytedeco.cuda.global.cublas.cublasGetStatusName(code).getString();
        case CUDNN -> org.bytedeco.cuda.global.cudnn.cudnnGetErrorString(code).getString();
    };

    private static String driverName(int code) {
        try (PointerPointer<BytePointer> name = new PointerPointer<>(1); PointerPointer<BytePointer> text = new PointerPointer<>(1)) {
            if (org.bytedeco.cuda.global.cudart.cuGetErrorName(code, name) != 0 || name.get(0) == null) return null;
            String n = name.getString(0);
            if (org.bytedeco.cuda.global.cudart.cuGetErrorString(code, text) == 0 && text.get(0) != null) n += ": " + text.getString(0);
            return n;
        }
    }
}
