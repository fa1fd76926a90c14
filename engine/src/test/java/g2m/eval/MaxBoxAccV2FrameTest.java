package g2m.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** wsolevaluation's 224×224 frame, piece by piece (e2e.wsol224.json of tools/reference/eval_reference.py). */
class MaxBoxAccV2FrameTest {
    /** resize_bbox: int() truncation of x·224/W in double, including a coordinate that lands on 224 itself. */
    @Test
    void boxesScaleAsResizeBboxDoes() throws IOException {
        JsonNode ref = new ObjectMapper().readTree(EvalGoldens.path("e2e.wsol224.json").toFile());
        int n = 0;
        for (JsonNode c : ref.get("resize_bbox")) {
            JsonNode b = c.get("box"), r = c.get("resized");
            Box got = MaxBoxAccV2.resizeBox(new Box(b.get(0).intValue(), b.get(1).intValue(), b.get(2).intValue(), b.get(3).intValue()),
                    c.get("size").get(0).intValue(), c.get("size").get(1).intValue(), 224, 224);
            assertEquals(new Box(r.get(0).intValue(), r.get(1).intValue(), r.get(2).intValue(), r.get(3).intValue()), got, c.toString());
            n++;
        }
        assertEquals(21, n);
    }

    /** A 224×224 picture: both frames are the same computation; a non-square one: the frames differ. */
    @Test
    void theFramesAgreeOnlyWhereThePictureIs224() {
        float[] canvas = new float[256 * 256];
        for (int y = 0; y < 256; y++) {
            for (int x = 0; x < 256; x++) canvas[y * 256 + x] = (float) Math.exp(-((x - 90) * (x - 90) + (y - 140) * (y - 140)) / 900.0);
        }
        List<Box> gts = List.of(new Box(40, 80, 150, 200));
        long[][] a = MaxBoxAccV2.canvasHits(canvas, 256, 224, 224, gts, MaxBoxAccV2.Frame.PICTURE);
        long[][] b = MaxBoxAccV2.canvasHits(canvas, 256, 224, 224, gts, MaxBoxAccV2.Frame.WSOL224);
        for (int l = 0; l < 3; l++) assertArrayEquals(a[l], b[l]);
        List<Box> wide = List.of(new Box(100, 40, 380, 110));
        long[][] p = MaxBoxAccV2.canvasHits(canvas, 256, 500, 150, wide, MaxBoxAccV2.Frame.PICTURE);
        long[][] w = MaxBoxAccV2.canvasHits(canvas, 256, 500, 150, wide, MaxBoxAccV2.Frame.WSOL224);
        boolean same = true;
        for (int l = 0; l < 3; l++) same &= java.util.Arrays.equals(p[l], w[l]);
        assertFalse(same, "a 500x150 picture: the 224x224 frame gives other hits");
        assertEquals(MaxBoxAccV2.Frame.WSOL224, MaxBoxAccV2.Frame.parse(" WSOL224"));
        assertThrows(EvalException.class, () -> MaxBoxAccV2.Frame.parse("square"));
    }
}
