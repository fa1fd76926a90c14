package g2m.backend.cuda;

/** A CUDA, cuBLAS or cuDNN call failed (not for lack of memory: that is DeviceOutOfMemoryException). */
class CudaException extends RuntimeException {
    private final boolean contextLost;

    public CudaException(String message, boolean contextLost) {
        super(message);
        this.contextLost = contextLost;
    }

    /** True for the errors after which the CUDA context is unusable (an illegal address, a kernel fault…): the backend refuses further work. */
    public boolean contextLost() {
        return contextLost;
    }
}
