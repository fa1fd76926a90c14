package g2m.eval;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Which pictures report.html shows: ranked by their mean IoU over every (layer, method) of the
 * run, the {@value #PER_GROUP} best, the {@value #PER_GROUP} worst of the rest and
 * {@value #PER_GROUP} of the remaining ones drawn with {@code java.util.Random(}{@value #SEED}{@code )}
 * (an algorithm the JDK specifies), so the same checkpoint always gives the same pictures.
 * Ties go to the earlier dataset position. Skipped pictures are not candidates. With
 * {@code 3 × PER_GROUP} pictures or fewer, every picture is shown once.
 */
public final class ReportSample {
    private ReportSample() {}

    public static final int PER_GROUP = 4;
    public static final long SEED = 20261201L;

    public enum Group {
        BEST("best"), WORST("worst"), RANDOM("random");

        public final String id;

        Group(String id) {
            this.id = id;
        }
    }

    /** A picture to show: its group, its place in the group (0-based), its record. */
    public record Pick(Group group, int rank, ImageRecord record) {
        public double meanIou() {
            return ReportSample.meanIou(record);
        }
    }

    /** Mean of a picture's best IoUs over its (layer, method) outcomes. */
    static double meanIou(ImageRecord r) {
        double s = 0;
        for (ImageRecord.Outcome o : r.outcomes()) s += o.iou();
        return s / r.outcomes().size();
    }

    /**
     * The pictures of a checkpoint (its first {@code limit} dataset positions, 0: all), best
     * first, then worst, then the random ones in the order drawn. Reads the file twice, keeping
     * only the scores and then the chosen records, so a 50,000-picture run needs little memory.
     */
    public static List<Pick> choose(Path checkpoint, int outcomes, int limit) {
        List<Integer> positions = new ArrayList<>();
        List<Double> scores = new ArrayList<>();
        EvalCheckpoint.forEach(checkpoint, outcomes, r -> {
            if (r.ok() && (limit == 0 || r.index() < limit)) {
                positions.add(r.index());
                scores.add(meanIou(r));
            }
        });
        int[][] groups = choose(positions.stream().mapToInt(Integer::intValue).toArray(), scores.stream().mapToDouble(Double::doubleValue).toArray(),
                PER_GROUP, SEED);
        Map<Integer, ImageRecord> chosen = new HashMap<>();
        for (int[] g : groups) for (int p : g) chosen.put(p, null);
        EvalCheckpoint.forEach(checkpoint, outcomes, r -> {
            if (chosen.containsKey(r.index())) chosen.put(r.index(), r);
        });
        List<Pick> picks = new ArrayList<>();
        for (Group g : Group.values()) {
            int[] ps = groups[g.ordinal()];
            for (int k = 0; k < ps.length; k++) picks.add(new Pick(g, k, chosen.get(ps[k])));
        }
        return picks;
    }

    /**
     * The choice itself: {@code positions[i]} scored {@code scores[i]}; returns the positions of
     * the best, worst and random groups (each at most {@code perGroup}, no position twice).
     */
    static int[][] choose(int[] positions, double[] scores, int perGroup, long seed) {
        if (positions.length != scores.length) throw new IllegalArgumentException("one score per position");
        Integer[] order = new Integer[positions.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Comparator<Integer> byPosition = Comparator.comparingInt(i -> positions[i]);
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -scores[i]).thenComparing(byPosition));
        int best = Math.min(perGroup, order.length);
        int[] bestGroup = new int[best];
        for (int k = 0; k < best; k++) bestGroup[k] = positions[order[k]];
        Integer[] rest = Arrays.copyOfRange(order, best, order.length);
        Arrays.sort(rest, Comparator.<Integer>comparingDouble(i -> scores[i]).thenComparing(byPosition));
        int worst = Math.min(perGroup, rest.length);
        int[] worstGroup = new int[worst];
        for (int k = 0; k < worst; k++) worstGroup[k] = positions[rest[k]];
        Integer[] left = Arrays.copyOfRange(rest, worst, rest.length);
        Arrays.sort(left, byPosition);                      // the draw starts from dataset order, not from the ranking
        Random rnd = new Random(seed);
        int drawn = Math.min(perGroup, left.length);
        for (int k = 0; k < drawn; k++) {                   // the first steps of a Fisher–Yates shuffle
            int j = k + rnd.nextInt(left.length - k);
            Integer t = left[k];
            left[k] = left[j];
            left[j] = t;
        }
        int[] randomGroup = new int[drawn];
        for (int k = 0; k < drawn; k++) randomGroup[k] = positions[left[k]];
        return new int[][] {bestGroup, worstGroup, randomGroup};
    }
}
