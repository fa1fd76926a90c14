package g2m.backend.cuda;

import g2m.backend.BackendUnavailableException;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;

import java.io.IOException;
import java.io.InputStream;
import java.util.EnumMap;
import java.util.Map;

import static org.bytedeco.cuda.global.cudart.cuLaunchKernel;
import static org.bytedeco.cuda.global.cudart.cuModuleGetFunction;
import static org.bytedeco.cuda.global.cudart.cuModuleLoadData;
import static org.bytedeco.cuda.global.cudart.cuModuleUnload;

/**
 * The engine's kernels on one device: the fatbin that the build packed into the jar
 * (kernels/build-kernels.sh), loaded with the driver API (cuModuleLoadData: the driver picks
 * the SASS for the GPU or JIT-compiles the PTX), and launched with cuLaunchKernel. No nvcc or
 * NVRTC at run time. Not thread-safe (one parameter block): the backend serializes launches.
 */
final class Kernels implements AutoCloseable {
    static final String FATBIN = "/g2m/cuda/g2m_kernels.fatbin";
    static final String MISSING = "CUDA kernels missing from this build (nvcc was not found when it was built:"
            + " rebuild with CUDA 13's nvcc on PATH, see kernels/)";
    static final int MAX_PARAMS = 16;
    /** Element-wise launches: at most this many blocks; the kernels loop grid-stride over the rest. */
    static final long MAX_LINEAR_BLOCKS = 1L << 20;
    /** The cap in force; tests lower it to run the grid-stride loops on small arrays. */
    static volatile long linearBlockCap = MAX_LINEAR_BLOCKS;

    private final CudaStatus.Namer namer;
    private CUmod_st module;
    private final Map<KernelSpec, CUfunc_st> functions = new EnumMap<>(KernelSpec.class);
    private final LongPointer values;
    private final PointerPointer<?> params;

    /** The fatbin resource's bytes; missing or empty = a build made without nvcc. */
    static byte[] readImage(String resource) {
        // through the class loader: the fatbin lives in the kernels jar, which on the module path is
        // another module (Class.getResourceAsStream would look in g2m.engine only)
        ClassLoader loader = Kernels.class.getClassLoader();
        String name = resource.startsWith("/") ? resource.substring(1) : resource;
        try (InputStream in = loader == null ? ClassLoader.getSystemResourceAsStream(name) : loader.getResourceAsStream(name)) {
            if (in == null) throw new BackendUnavailableException(CudaNatives.BACKEND, MISSING);
            byte[] b = in.readAllBytes();
            if (b.length == 0) throw new BackendUnavailableException(CudaNatives.BACKEND, MISSING);
            return b;
        } catch (IOException e) {
            throw new BackendUnavailableException(CudaNatives.BACKEND, "cannot read the CUDA kernels " + resource + " from the jar: " + e.getMessage());
        }
    }

    /** Loads the module into the current context and looks up every kernel of {@link KernelSpec}. */
    Kernels(byte[] image, String gpu, CudaStatus.Namer namer) {
        this.namer = namer;
        LongPointer v = null;
        PointerPointer<?> p = null;
        try (BytePointer data = new BytePointer(image)) {
            CUmod_st m = new CUmod_st();
            int st = cuModuleLoadData(m, data);
            // CUDA_ERROR_NO_BINARY_FOR_GPU 209, CUDA_ERROR_INVALID_PTX 218, CUDA_ERROR_UNSUPPORTED_PTX_VERSION 222
            if (st == 209 || st == 218 || st == 222) {
                throw new BackendUnavailableException(CudaNatives.BACKEND, "this build's kernels (SASS sm_80, sm_90; PTX compute_90) cannot run on "
                        + gpu + " (" + namer.name(CudaStatus.Api.DRIVER, st) + ")");
            }
            CudaStatus.check(CudaStatus.Api.DRIVER, st, "cuModuleLoadData(g2m_kernels.fatbin)", namer);
            module = m;
            for (KernelSpec k : KernelSpec.values()) {
                CUfunc_st f = new CUfunc_st();
                int fs = cuModuleGetFunction(f, module, k.symbol);
                if (fs == 500) { // CUDA_ERROR_NOT_FOUND
                    throw new BackendUnavailableException(CudaNatives.BACKEND, "the CUDA kernels in this build are incomplete (no " + k.symbol
                            + "); rebuild the engine");
                }
                CudaStatus.check(CudaStatus.Api.DRIVER, fs, "cuModuleGetFunction(" + k.symbol + ")", namer);
                functions.put(k, f);
            }
            // cuLaunchKernel reads each argument through a pointer: one 8-byte slot per parameter
            v = new LongPointer(MAX_PARAMS);
            p = new PointerPointer<>(MAX_PARAMS);
            for (int i = 0; i < MAX_PARAMS; i++) p.put(i, new DevicePointer(v.address() + 8L * i));
            values = v;
            params = p;
        } catch (RuntimeException | Error e) {
            if (v != null) v.close();
            if (p != null) p.close();
            unload();
            throw e;
        }
    }

    /** Blocks for an element-wise launch over {@code total} elements (256 threads each, grid-stride beyond the cap). */
    static int linearBlocks(long total) {
        if (total < 1) throw new IllegalArgumentException("no elements to launch over: " + total);
        return (int) Math.min(linearBlockCap, (total + KernelSpec.Block.LINEAR.x - 1) / KernelSpec.Block.LINEAR.x);
    }

    /**
     * Enqueues kernel {@code k} on {@code stream} with a grid of gridX × gridY blocks of its
     * {@link KernelSpec.Block} shape. Arguments: Long for PTR and I64 parameters, Integer for I32.
     *
     * @return cuLaunchKernel's status, for the caller to check: the backend's check records a
     *         lost context (a launch also reports an earlier kernel's fault) and adds the free
     *         memory to an out-of-memory message
     */
    int launch(KernelSpec k, long gridX, long gridY, CUstream_st stream, Object... args) {
        checkArgs(k, args);
        if (gridX < 1 || gridX > Integer.MAX_VALUE || gridY < 1 || gridY > 65535) {
            throw new IllegalArgumentException(k.symbol + ": grid " + gridX + " x " + gridY + " is out of range");
        }
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            values.put(i, a instanceof Integer n ? n & 0xffffffffL : (Long) a); // little-endian: an int is the slot's low 4 bytes
        }
        return cuLaunchKernel(functions.get(k), (int) gridX, (int) gridY, 1, k.block.x, k.block.y, 1, 0, stream, params, null);
    }

    static void checkArgs(KernelSpec k, Object[] args) {
        if (args.length != k.params.size()) {
            throw new IllegalArgumentException(k.symbol + " takes " + k.params.size() + " arguments, got " + args.length);
        }
        for (int i = 0; i < args.length; i++) {
            boolean ok = switch (k.params.get(i)) {
                case PTR -> args[i] instanceof Long a && a != 0;
                case I64 -> args[i] instanceof Long;
                case I32 -> args[i] instanceof Integer;
            };
            if (!ok) {
                throw new IllegalArgumentException(k.symbol + ": argument " + i + " must be " + k.params.get(i) + ", got " + args[i]
                        + (args[i] == null ? "" : " (" + args[i].getClass().getSimpleName() + ")"));
            }
        }
    }

    private void unload() {
        if (module != null) {
            CUmod_st m = module;
            module = null;
            functions.clear();
            CudaStatus.check(CudaStatus.Api.DRIVER, cuModuleUnload(m), "cuModuleUnload", namer);
        }
    }

    /** Frees the host-side parameter block only (the module died with a lost context). */
    void abandon() {
        module = null;
        functions.clear();
        values.close();
        params.close();
    }

    @Override
    public void close() {
        try {
            unload();
        } finally {
            values.close();
            params.close();
        }
    }
}
