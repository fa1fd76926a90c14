package g2m.weights;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A named, dense, row-major tensor whose bytes are little-endian {@code dtype} elements.
 * The buffer may be a memory-mapped view of a file; it is never modified.
 */
public record Tensor(String name, DType dtype, long[] shape, ByteBuffer data) {

    public Tensor {
        shape = shape.clone();
        long n = numel(shape);
        if (n > Integer.MAX_VALUE || (long) data.remaining() != n * dtype.size) {
            throw new WeightsException("tensor '" + name + "': " + data.remaining() + " bytes do not hold "
                    + Arrays.toString(shape) + " of " + dtype);
        }
        data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Wraps float32 values (copied). */
    public static Tensor ofFloats(String name, long[] shape, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return new Tensor(name, DType.F32, shape, b);
    }

    /** Product of the dimensions, or an error if it overflows a long. */
    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new WeightsException("negative dimension in shape " + Arrays.toString(shape));
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new WeightsException("shape " + Arrays.toString(shape) + " overflows");
            }
        }
        return n;
    }

    public long numel() {
        return numel(shape);
    }

    public int rank() {
        return shape.length;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** A read-only little-endian view of the raw bytes. */
    @Override
    public ByteBuffer data() {
        return data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Same bytes under another name or shape (element count must match). */
    public Tensor renamed(String newName, long[] newShape) {
        if (numel(newShape) != numel()) {
            throw new WeightsException("tensor '" + name + "': cannot view " + Arrays.toString(shape)
                    + " as " + Arrays.toString(newShape));
        }
        return new Tensor(newName, dtype, newShape, data);
    }

    /** The values widened or narrowed to float32 (F16 and BF16 exactly, F64 rounded). */
    public float[] toFloats() {
        int n = (int) numel();
        float[] out = new float[n];
        ByteBuffer b = data();
        switch (dtype) {
            case F32 -> b.asFloatBuffer().get(out);
            case F64 -> {
                for (int i = 0; i < n; i++) out[i] = (float) b.getDouble(i * 8);
            }
            case F16 -> {
                for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(b.getShort(i * 2));
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((b.getShort(i * 2) & 0xffff) << 16);
            }
        }
        return out;
    }

    /** This tensor as float32 (itself if it already is). */
    public Tensor asF32() {
        return dtype == DType.F32 ? this : ofFloats(name, shape, toFloats());
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
