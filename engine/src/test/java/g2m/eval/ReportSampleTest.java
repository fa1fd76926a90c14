package g2m.eval;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which pictures the report shows, and the escaping of what it prints from files. */
class ReportSampleTest {
    @Test
    void bestWorstAndRandomAreDisjointRankedAndReproducible() {
        int n = 40;
        int[] positions = new int[n];
        double[] scores = new double[n];
        for (int i = 0; i < n; i++) {
            positions[i] = 100 + 3 * i;                 // a shard's positions, say
            scores[i] = ((i * 17) % n) / (double) n;     // a permutation of 0, 1/40, …
        }
        scores[5] = scores[6] = 0.99;                    // a tie at the top: the earlier position first
        int[][] g = ReportSample.choose(positions, scores, 4, ReportSample.SEED);
        assertEquals(3, g.length);
        assertArrayEquals(new int[] {115, 118, rankPosition(positions, scores, 2, true), rankPosition(positions, scores, 3, true)}, g[0]);
        int[] worst = {rankPosition(positions, scores, 0, false), rankPosition(positions, scores, 1, false), rankPosition(positions, scores, 2, false),
                rankPosition(positions, scores, 3, false)};
        assertArrayEquals(worst, g[1]);
        assertEquals(4, g[2].length);
        Set<Integer> seen = new HashSet<>();
        for (int[] group : g) for (int p : group) assertTrue(seen.add(p), "no picture twice: " + p);
        for (int p : g[2]) assertTrue(Arrays.stream(positions).anyMatch(q -> q == p), "a real position");
        assertArrayEquals(g[2], ReportSample.choose(positions, scores, 4, ReportSample.SEED)[2], "the same draw every time");
        boolean differs = false;
        for (long seed = 1; seed <= 5 && !differs; seed++) differs = !Arrays.equals(g[2], ReportSample.choose(positions, scores, 4, seed)[2]);
        assertTrue(differs, "the draw depends on the seed (it is not simply the first of the rest)");
        // the draw depends on the pictures, not on their order in the arrays
        int[] rp = positions.clone();
        double[] rs = scores.clone();
        reverse(rp);
        reverse(rs);
        int[][] r = ReportSample.choose(rp, rs, 4, ReportSample.SEED);
        for (int k = 0; k < 3; k++) assertArrayEquals(g[k], r[k], "group " + k);
    }

    @Test
    void fewPicturesAreEachShownOnce() {
        for (int n = 0; n <= 13; n++) {
            int[] positions = new int[n];
            double[] scores = new double[n];
            for (int i = 0; i < n; i++) {
                positions[i] = i;
                scores[i] = 0.5;                          // all tied
            }
            int[][] g = ReportSample.choose(positions, scores, 4, ReportSample.SEED);
            assertEquals(Math.min(n, 4), g[0].length);
            assertEquals(Math.min(Math.max(n - 4, 0), 4), g[1].length);
            assertEquals(Math.min(Math.max(n - 8, 0), 4), g[2].length);
            Set<Integer> seen = new HashSet<>();
            for (int[] group : g) for (int p : group) assertTrue(seen.add(p));
            assertEquals(Math.min(n, 12), seen.size());
            if (n >= 8) assertArrayEquals(new int[] {4, 5, 6, 7}, g[1], "ties: the earlier pictures first");
        }
    }

    /** The position with the k-th best (or worst) score, ties to the earlier position: an independent ranking by brute force. */
    private static int rankPosition(int[] positions, double[] scores, int k, boolean best) {
        boolean[] used = new boolean[positions.length];
        int pick = -1;
        for (int j = 0; j <= k; j++) {
            pick = -1;
            for (int i = 0; i < positions.length; i++) {
                if (used[i]) continue;
                if (pick < 0) {
                    pick = i;
                    continue;
                }
                boolean better = best ? scores[i] > scores[pick] : scores[i] < scores[pick];
                if (better || (scores[i] == scores[pick] && positions[i] < positions[pick])) pick = i;
            }
            used[pick] = true;
        }
        return positions[pick];
    }

    private static void reverse(int[] a) {
        for (int i = 0, j = a.length - 1; i < j; i++, j--) {
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    private static void reverse(double[] a) {
        for (int i = 0, j = a.length - 1; i < j; i++, j--) {
            double t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    @Test
    void escapesWhatHtmlGivesAMeaningToAndWhatXmlForbids() {
        assertEquals("a&lt;b&gt;&amp;&quot;&#39;c", HtmlReport.esc("a<b>&\"'c"));
        assertEquals("&amp;amp;", HtmlReport.esc("&amp;"), "an entity in a name is text, not an entity");
        assertEquals("x\uFFFDy\uFFFDz\uFFFD", HtmlReport.esc("x\u0001y\u001bz\u0085"));
        assertEquals("tab\tand\nnewline", HtmlReport.esc("tab\tand\nnewline"));
        assertEquals("\uFFFD", HtmlReport.esc("\uD800"), "an unpaired surrogate");
        assertEquals("\uD83D\uDE00 ünï", HtmlReport.esc("\uD83D\uDE00 ünï"), "a pair, and other letters, unchanged");
        assertFalse(HtmlReport.esc("</section><script>alert(1)</script>").contains("<"));
    }
}
