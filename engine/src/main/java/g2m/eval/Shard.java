package g2m.eval;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * {@code --shard I/N}: the pictures at dataset positions {@code I, I+N, I+2N, …} (0-based), so
 * that N runs on N machines together evaluate each picture once. Records keep their dataset
 * position, so the shards' checkpoints interleave back into the one an unsharded run writes
 * ({@code eval merge}). {@code 0/1} is the whole dataset, i.e. no shard: it is not written into
 * the settings, and such a run continues (and is continued by) an unsharded one.
 */
public record Shard(int index, int count) {
    /** The settings key: a sharded checkpoint refuses to be continued as another shard. */
    public static final String SETTING = "shard";
    public static final Shard ALL = new Shard(0, 1);

    public Shard {
        if (count < 1 || index < 0 || index >= count) throw new EvalException("a shard is I/N with 0 <= I < N, got " + index + "/" + count);
    }

    /** {@code "I/N"}, as given to {@code --shard}; an {@link EvalException} naming the problem otherwise. */
    public static Shard parse(String s) {
        String[] f = s.strip().split("/", -1);
        if (f.length == 2) {
            try {
                int i = Integer.parseInt(f[0].strip()), n = Integer.parseInt(f[1].strip());
                if (n >= 1 && i >= 0 && i < n) return new Shard(i, n);
            } catch (NumberFormatException e) {
                // told below
            }
        }
        throw new EvalException("--shard must be I/N with 0 <= I < N (0-based: 0/3, 1/3 and 2/3 are the three shards of three), got '"
                + EvalException.oneLine(s.length() > 40 ? s.substring(0, 40) + "..." : s) + "'");
    }

    /** The shard named in a checkpoint's settings, {@link #ALL} when there is none. */
    public static Shard of(JsonNode settings) {
        JsonNode s = settings == null ? null : settings.get(SETTING);
        if (s == null) return ALL;
        if (!s.isTextual()) throw new EvalException("the checkpoint's shard setting is not I/N: " + EvalException.oneLine(s.toString()));
        return parse(s.textValue());
    }

    public boolean isAll() {
        return count == 1;
    }

    public String id() {
        return index + "/" + count;
    }

    /** "shard 1/3 (positions 1, 4, 7, …)". */
    public String describe() {
        return "shard " + id() + " (positions " + index + ", " + (index + (long) count) + ", " + (index + 2L * count) + ", …)";
    }

    /** The dataset position of this shard's {@code k}-th picture (0-based; a long, so that no count overflows it). */
    public long position(int k) {
        return index + (long) k * count;
    }

    /** How many of the positions {@code 0 … end−1} are this shard's. */
    public int size(int end) {
        return end <= index ? 0 : (end - index - 1) / count + 1;
    }

    public boolean contains(int position) {
        return position >= 0 && position % count == index;
    }
}
