package g2m.backend.cuda;

import org.bytedeco.javacpp.Pointer;

/**
 * A raw address (device memory, pinned host memory, a kernel parameter slot) as a JavaCPP
 * Pointer with position 0, for passing to native calls. Owns nothing: the memory is freed by
 * whoever allocated it. Used instead of positioned Pointer views so no byte-vs-element offset
 * arithmetic is left to JavaCPP.
 */
final class DevicePointer extends Pointer {
    DevicePointer(long address) {
        this.address = address;
    }
}
