package g2m.backend;

import g2m.backend.cpu.CpuArray;
import g2m.backend.cpu.CpuBackend;
import g2m.maps.MapMethod;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The argument checks both backends share ({@link ArgumentChecks}): every operation's refusals,
 * message for message, and that a well-formed call passes. Made through the CPU backend; the
 * CUDA backend calls the same checks, so this covers its refusals without a GPU.
 */
class ArgumentChecksTest {
    static CpuBackend be;

    @BeforeAll
    static void open() {
        be = new CpuBackend(1);
    }

    @AfterAll
    static void close() {
        be.close();
    }

    static CpuArray a(int... shape) {
        return be.allocate(shape);
    }

    static void refused(String message, Executable call) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, call).getMessage());
    }

    @Test
    void shapesMustBeNonEmptyPositiveAndWithinTheBackendsLimit() {
        refused("allocate: empty shape", () -> ArgumentChecks.checkShape("allocate", new int[0], 100, "CPU"));
        refused("allocate: empty shape", () -> ArgumentChecks.checkShape("allocate", null, 100, "CPU"));
        refused("view: dimensions must be positive, got [2, 0]", () -> ArgumentChecks.checkShape("view", new int[] {2, 0}, 100, "CPU"));
        refused("upload: shape [10, 11] has more than 100 elements, the CUDA backend's limit per array",
                () -> ArgumentChecks.checkShape("upload", new int[] {10, 11}, 100, "CUDA"));
        assertDoesNotThrow(() -> ArgumentChecks.checkShape("allocate", new int[] {10, 10}, 100, "CPU"));
        refused("allocate: dimensions must be positive, got [2, -1]", () -> be.allocate(2, -1));
        refused("reshape: shape [65536, 65536] has more than 536870911 elements, the CPU backend's limit per array",
                () -> a(4).reshape(65536, 65536));
    }

    @Test
    void hostCopies() {
        refused("upload: host array is null", () -> be.upload(null, 2));
        refused("upload: 5 values do not fill shape [2, 2]", () -> be.upload(new float[5], 2, 2));
        refused("upload: dimensions must be positive, got [0]", () -> be.upload(new float[0]));
        assertEquals(List.of(5), Arrays.stream(be.upload(new float[5]).shape()).boxed().toList(), "no shape: [length]");
        CpuArray dst = a(2, 3);
        refused("copyFromHost: src is null", () -> be.copyFromHost(null, dst));
        refused("copyFromHost: 5 values for dst [2, 3] (6 elements)", () -> be.copyFromHost(new float[5], dst));
        assertDoesNotThrow(() -> be.copyFromHost(new float[6], dst));
    }

    @Test
    void convolutions() {
        String f = "conv3x3Forward", b = "conv3x3BackwardData";
        CpuArray x = a(2, 3, 5, 6), w = a(4, 3, 3, 3), bias = a(4), y = a(2, 4, 5, 6);
        assertDoesNotThrow(() -> be.conv3x3Forward(x, w, bias, y));
        refused(f + ": x must have rank 4, got [2, 90]", () -> be.conv3x3Forward(x.reshape(2, 90), w, bias, y));
        refused(f + ": w must be [K, 3, 3, 3] for x [2, 3, 5, 6], got [4, 3, 1, 9]",
                () -> be.conv3x3Forward(x, w.reshape(4, 3, 1, 9), bias, y));
        refused(f + ": b must be [4], got [1, 4]", () -> be.conv3x3Forward(x, w, bias.reshape(1, 4), y));
        refused(f + ": y must be [2, 4, 5, 6], got [2, 4, 6, 5]", () -> be.conv3x3Forward(x, w, bias, y.reshape(2, 4, 6, 5)));
        CpuArray big = a(2, 4, 5, 6);
        refused(f + ": y overlaps x", () -> be.conv3x3Forward(big.view(2, 3, 5, 6), w, bias, big));

        CpuArray dy = a(4, 4, 5, 6), dx = a(4, 3, 5, 6);
        assertDoesNotThrow(() -> be.conv3x3BackwardData(dy, w, dx));
        refused(b + ": w must be [4, C, 3, 3] for dy [4, 4, 5, 6], got [3, 4, 3, 3]",
                () -> be.conv3x3BackwardData(dy, a(3, 4, 3, 3), dx));
        refused(b + ": dx must be [4, 3, 5, 6], got [2, 3, 5, 6]", () -> be.conv3x3BackwardData(dy, w, dx.batch(0, 2)));
        refused(b + ": dx overlaps dy", () -> be.conv3x3BackwardData(dy, w, dy.view(4, 3, 5, 6)));
    }

    @Test
    void reluMayRunInPlaceButNotPartlyOverlapping() {
        String f = "reluForward", b = "reluBackward";
        CpuArray x = a(2, 8), y = a(2, 8);
        assertDoesNotThrow(() -> be.reluForward(x, x));
        refused(f + ": y [16] must have the shape of x [2, 8]", () -> be.reluForward(x, y.reshape(16)));
        refused(f + ": y partly overlaps x (only exact in-place use is allowed)",
                () -> be.reluForward(x.reshape(4, 4).batch(0, 2), x.reshape(4, 4).batch(1, 3)));

        CpuArray dy = a(6, 8), dx = a(6, 8);
        assertDoesNotThrow(() -> be.reluBackward(y, dy, dy));
        refused(b + ": dy [6, 2, 4] must be y [2, 8] with a stacked batch", () -> be.reluBackward(y, dy.reshape(6, 2, 4), dx));
        refused(b + ": batch of dy [6, 8] is not a multiple of the batch 4 of y", () -> be.reluBackward(a(4, 8), dy, dx));
        refused(b + ": dx [48] must have the shape of dy [6, 8]", () -> be.reluBackward(y, dy, dx.reshape(48)));
        refused(b + ": dx overlaps y", () -> be.reluBackward(dx.batch(0, 2), dy, dx));
    }

    @Test
    void pools() {
        String f = "maxPool2x2Forward", b = "maxPool2x2Backward";
        CpuArray x = a(2, 3, 5, 7), y = a(2, 3, 2, 3);
        assertDoesNotThrow(() -> be.maxPool2x2Forward(x, y));
        refused(f + ": x [2, 3, 1, 7] is smaller than 2x2", () -> be.maxPool2x2Forward(a(2, 3, 1, 7), y));
        refused(f + ": y must be [2, 3, 2, 3], got [2, 3, 3, 2]", () -> be.maxPool2x2Forward(x, y.reshape(2, 3, 3, 2)));
        CpuArray dy = a(4, 3, 2, 3), dx = a(4, 3, 5, 7);
        assertDoesNotThrow(() -> be.maxPool2x2Backward(x, dy, dx));
        refused(b + ": dy [4, 3, 3, 2] must be [M, 3, 2, 3] for x [2, 3, 5, 7]",
                () -> be.maxPool2x2Backward(x, dy.reshape(4, 3, 3, 2), dx));
        refused(b + ": batch of dy [3, 3, 2, 3] is not a multiple of the batch 2 of x",
                () -> be.maxPool2x2Backward(x, dy.batch(0, 3), dx));
        refused(b + ": dx must be [4, 3, 5, 7], got [2, 3, 5, 7]", () -> be.maxPool2x2Backward(x, dy, dx.batch(0, 2)));

        String af = "adaptiveAvgPoolForward", ab = "adaptiveAvgPoolBackward";
        CpuArray p = a(2, 3, 7, 7);
        assertDoesNotThrow(() -> be.adaptiveAvgPoolForward(x, p));
        refused(af + ": y must have rank 4, got [2, 147]", () -> be.adaptiveAvgPoolForward(x, p.reshape(2, 147)));
        refused(af + ": y must be [2, 3, 21, 7], got [2, 1, 21, 7]", () -> be.adaptiveAvgPoolForward(x, p.reshape(2, 1, 21, 7)));
        assertDoesNotThrow(() -> be.adaptiveAvgPoolBackward(p, x));
        refused(ab + ": dx [1, 6, 5, 7] must be [2, 3, H, W] for dy [2, 3, 7, 7]",
                () -> be.adaptiveAvgPoolBackward(p, x.reshape(1, 6, 5, 7)));
    }

    @Test
    void fullyConnected() {
        String f = "fcForward", b = "fcBackwardData";
        CpuArray x = a(2, 3, 2, 2), w = a(5, 12), bias = a(5), y = a(2, 5);
        assertDoesNotThrow(() -> be.fcForward(x, w, bias, y));
        refused(f + ": w must have rank 2, got [60]", () -> be.fcForward(x, w.reshape(60), bias, y));
        refused(f + ": x [3, 8] has 8 features per item, w [5, 12] wants 12", () -> be.fcForward(x.reshape(3, 8), w, bias, y));
        refused(f + ": y must be [2, 5], got [1, 10]", () -> be.fcForward(x, w, bias, y.reshape(1, 10)));
        CpuArray dy = a(2, 5), dx = a(2, 12);
        assertDoesNotThrow(() -> be.fcBackwardData(dy, w, dx));
        refused(b + ": dy must be [N, 5] for w [5, 12], got [2, 4]", () -> be.fcBackwardData(dy.view(2, 4), w, dx));
        refused(b + ": dx must hold [2, 12], got [1, 24]", () -> be.fcBackwardData(dy, w, dx.reshape(1, 24)));
        refused(b + ": dx overlaps w", () -> be.fcBackwardData(dy, w, w.view(2, 12)));
    }

    @Test
    void softmaxAndSeeds() {
        String f = "softmax", b = "backwardSeeds";
        CpuArray z = a(3, 10), s = a(6, 10);
        assertDoesNotThrow(() -> be.softmax(z, z));
        refused(f + ": probs [30] must have the shape of logits [3, 10]", () -> be.softmax(z, s.view(30)));
        assertDoesNotThrow(() -> be.backwardSeeds(z, new int[] {0, 9, 4}, s));
        refused(b + ": need one class per logits row (3), got null", () -> be.backwardSeeds(z, null, s));
        refused(b + ": need one class per logits row (3), got 2", () -> be.backwardSeeds(z, new int[] {0, 1}, s));
        refused(b + ": class 10 is outside 0..9", () -> be.backwardSeeds(z, new int[] {0, 10, 1}, s));
        refused(b + ": seeds must be [6, 10] for logits [3, 10], got [3, 20]", () -> be.backwardSeeds(z, new int[] {0, 1, 2}, s.reshape(3, 20)));
        refused(b + ": seeds overlaps logits", () -> be.backwardSeeds(s.batch(0, 3), new int[] {0, 1, 2}, s));
    }

    @Test
    void maps() {
        String op = "maps";
        CpuArray act = a(2, 3, 4, 5), g1 = a(2, 3, 4, 5), g2 = a(2, 3, 4, 5), out = a(2, 2, 4, 5);
        List<MapMethod> two = List.of(MapMethod.LAYERCAM, MapMethod.DGL);
        refused(op + ": methods must be a non-empty list without nulls, got []", () -> be.maps(act, g1, g2, List.of(), out));
        refused(op + ": methods must be a non-empty list without nulls, got null", () -> be.maps(act, g1, g2, null, out));
        refused(op + ": methods must be a non-empty list without nulls, got [layercam, null]",
                () -> be.maps(act, g1, g2, Arrays.asList(MapMethod.LAYERCAM, null), out));
        assertDoesNotThrow(() -> be.maps(act, g1, g2, two, out));
        assertDoesNotThrow(() -> be.maps(act, g1, null, List.of(MapMethod.LAYERCAM, MapMethod.SGL_G1), out));
        refused(op + ": g2 must be [2, 3, 4, 5], got [2, 3, 5, 4]", () -> be.maps(act, g1, g2.reshape(2, 3, 5, 4), two, out));
        refused(op + ": out must be [2, 3, 4, 5], got [2, 2, 4, 5]",
                () -> be.maps(act, g1, g2, List.of(MapMethod.LAYERCAM, MapMethod.DGL, MapMethod.GRADCAM), out));
        refused(op + ": out overlaps g2", () -> be.maps(act, g1, g2, two, g2.view(2, 2, 4, 5)));
    }
}
