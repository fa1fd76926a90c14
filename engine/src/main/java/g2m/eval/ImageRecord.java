package g2m.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * What one image contributed, as one checkpoint line: its label, the Top-5 classes of the summed
 * ten-crop logits, its size, and per (tap, method), in the run's order, the box, its best IoU and
 * the MaxBoxAccV2 hits (and on a mask dataset the PxAP histograms, key "px"); or why it was skipped.
 */
public record ImageRecord(int index, String name, String error, int label, int[] top5, int width, int height, List<Outcome> outcomes) {

    /** One (tap, method) of one image; {@code pixelHistograms} ({@link PxAp#VALUES} counts) only on a mask dataset, else null. */
    public record Outcome(Box box, double iou, long[][] maxBoxHits, long[] pixelHistograms) {
        public Outcome(Box box, double iou, long[][] maxBoxHits) {
            this(box, iou, maxBoxHits, null);
        }
    }

    /** A skipped image; the reason is kept as one printable line (it may quote a file's text). */
    public static ImageRecord skipped(int index, String name, String error) {
        return new ImageRecord(index, name, EvalException.oneLine(error), -1, null, 0, 0, List.of());
    }

    public boolean ok() {
        return error == null;
    }

    public boolean top1() {
        return top5[0] == label;
    }

    public boolean inTop5() {
        for (int c : top5) if (c == label) return true;
        return false;
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One line of JSON (doubles written so that they read back bit for bit). */
    public String toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("i", index);
        o.put("name", name);
        if (error != null) {
            o.put("error", error);
            return o.toString();
        }
        o.put("label", label);
        ArrayNode t = o.putArray("top5");
        for (int c : top5) t.add(c);
        o.put("w", width);
        o.put("h", height);
        ArrayNode r = o.putArray("r");
        for (Outcome oc : outcomes) {
            ArrayNode a = r.addArray();
            a.add(oc.box().x1()).add(oc.box().y1()).add(oc.box().x2()).add(oc.box().y2()).add(oc.iou());
            for (long[] level : oc.maxBoxHits()) a.add(level[0]).add(level[1]);
        }
        if (!outcomes.isEmpty() && outcomes.get(0).pixelHistograms() != null) {
            ArrayNode px = o.putArray("px");
            for (Outcome oc : outcomes) {
                ArrayNode a = px.addArray();
                for (long v : oc.pixelHistograms()) a.add(v);
            }
        }
        return o.toString();
    }

    /** Parses a line written by {@link #toJson}; {@code outcomes} per image must match. */
    public static ImageRecord parse(String line, int outcomes) {
        JsonNode o;
        try {
            o = JSON.readTree(line);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("not JSON: " + e.getMessage());
        }
        if (o == null || !o.isObject() || !o.path("i").canConvertToInt() || !o.path("name").isTextual()) {
            throw new IllegalArgumentException("not an image record");
        }
        int index = o.get("i").intValue();
        String name = o.get("name").textValue();
        if (o.has("error")) return skipped(index, name, o.get("error").asText());
        JsonNode t = o.path("top5"), r = o.path("r");
        if (!o.path("label").canConvertToInt() || !t.isArray() || t.isEmpty() || !r.isArray() || r.size() != outcomes) {
            throw new IllegalArgumentException("record of " + name + " is incomplete");
        }
        int[] top5 = new int[t.size()];
        for (int i = 0; i < top5.length; i++) top5[i] = t.get(i).intValue();
        Outcome[] out = new Outcome[outcomes];
        int levels = MaxBoxAccV2.IOU_LEVELS.length;
        JsonNode px = o.get("px");
        if (px != null && (!px.isArray() || px.size() != outcomes)) throw new IllegalArgumentException("record of " + name + " has bad PxAP histograms");
        for (int k = 0; k < outcomes; k++) {
            JsonNode a = r.get(k);
            if (!a.isArray() || a.size() != 5 + 2 * levels) throw new IllegalArgumentException("record of " + name + " has a bad outcome");
            Box box = new Box(a.get(0).intValue(), a.get(1).intValue(), a.get(2).intValue(), a.get(3).intValue());
            long[][] hits = new long[levels][2];
            for (int l = 0; l < levels; l++) {
                hits[l][0] = a.get(5 + 2 * l).longValue();
                hits[l][1] = a.get(6 + 2 * l).longValue();
            }
            long[] pixels = null;
            if (px != null) {
                JsonNode p = px.get(k);
                if (!p.isArray() || p.size() != PxAp.VALUES) throw new IllegalArgumentException("record of " + name + " has bad PxAP histograms");
                pixels = new long[PxAp.VALUES];
                for (int v = 0; v < pixels.length; v++) {
                    if (!p.get(v).isIntegralNumber() || !p.get(v).canConvertToLong() || p.get(v).longValue() < 0) throw new IllegalArgumentException("record of " + name + " has bad PxAP histograms");
                    pixels[v] = p.get(v).longValue();
                }
            }
            out[k] = new Outcome(box, a.get(4).doubleValue(), hits, pixels);
        }
        return new ImageRecord(index, name, null, o.get("label").intValue(), top5, o.path("w").intValue(), o.path("h").intValue(), List.of(out));
    }
}
