package g2m.eval;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.zip.CRC32;

/**
 * A checkpoint line with its checksum: {@code {"crc":"<8 hex>",<the rest of the JSON object>}},
 * the CRC-32 taken over the object without that first field (UTF-8). The line stays one JSON
 * object; a line edited by hand or garbled on disk no longer matches and is refused instead of
 * being added up. (A checksum against accidents, not a signature: anyone can recompute it.)
 */
final class CheckpointLine {
    private CheckpointLine() {}

    private static final String PREFIX = "{\"crc\":\"";
    private static final int HEX = 8;

    /** {@code json}, an object with at least one field as Jackson writes it, with its checksum in front. */
    static String seal(String json) {
        if (json.length() < 3 || json.charAt(0) != '{' || json.charAt(1) != '"') throw new IllegalArgumentException("not a JSON object with fields");
        return PREFIX + crc(json) + "\"," + json.substring(1);
    }

    /** The JSON object without its checksum field, or null when the line has none or it does not match. */
    static String open(String line) {
        int rest = PREFIX.length() + HEX + 2;
        if (line.length() <= rest || !line.startsWith(PREFIX) || line.charAt(PREFIX.length() + HEX) != '"'
                || line.charAt(PREFIX.length() + HEX + 1) != ',') {
            return null;
        }
        String json = "{" + line.substring(rest);
        return line.regionMatches(PREFIX.length(), crc(json), 0, HEX) ? json : null;
    }

    private static String crc(String json) {
        CRC32 c = new CRC32();
        c.update(json.getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().toHexDigits((int) c.getValue());
    }
}
