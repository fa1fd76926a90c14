package g2m.backend.cpu;

import java.util.Random;

/** Plain double-precision reference implementations (the definitions, as direct loops), random inputs and the ops' tolerance. */
final class Naive {
    private Naive() {}

    /** Relative error bound of every float32 op against its double reference (g2m.testing.Parity: ‖out − ref‖₂ / ‖ref‖₂ ≤ 1e-5). */
    static final double TOLERANCE = 1e-5;

    static float[] random(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }

    /** y[n,k,y,x] = b[k] + Σ_c Σ_ky Σ_kx w[k,c,ky,kx] · x[n,c,y+ky-1,x+kx-1] (zero padding). */
    static double[] conv(float[] x, float[] w, float[] b, int n, int c, int h, int wd, int k) {
        double[] y = new double[n * k * h * wd];
        for (int img = 0; img < n; img++)
            for (int o = 0; o < k; o++)
                for (int yy = 0; yy < h; yy++)
                    for (int xx = 0; xx < wd; xx++) {
                        double s = b[o];
                        for (int ch = 0; ch < c; ch++)
                            for (int ky = 0; ky < 3; ky++)
                                for (int kx = 0; kx < 3; kx++) {
                                    int sy = yy + ky - 1, sx = xx + kx - 1;
                                    if (sy < 0 || sy >= h || sx < 0 || sx >= wd) continue;
                                    s += (double) w[((o * c + ch) * 3 + ky) * 3 + kx] * x[((img * c + ch) * h + sy) * wd + sx];
                                }
                        y[((img * k + o) * h + yy) * wd + xx] = s;
                    }
        return y;
    }

    /** The adjoint of {@link #conv} (without bias) applied to dy [m,k,h,w]: dx [m,c,h,w]. */
    static double[] convBackwardData(float[] dy, float[] w, int m, int c, int h, int wd, int k) {
        double[] dx = new double[m * c * h * wd];
        for (int img = 0; img < m; img++)
            for (int o = 0; o < k; o++)
                for (int yy = 0; yy < h; yy++)
                    for (int xx = 0; xx < wd; xx++) {
                        double g = dy[((img * k + o) * h + yy) * wd + xx];
                        for (int ch = 0; ch < c; ch++)
                            for (int ky = 0; ky < 3; ky++)
                                for (int kx = 0; kx < 3; kx++) {
                                    int sy = yy + ky - 1, sx = xx + kx - 1;
                                    if (sy < 0 || sy >= h || sx < 0 || sx >= wd) continue;
                                    dx[((img * c + ch) * h + sy) * wd + sx] += g * w[((o * c + ch) * 3 + ky) * 3 + kx];
                                }
                    }
        return dx;
    }

    /** PyTorch's adaptive-pool bin [start, end) for output index i of n over size in, in real arithmetic. */
    static int[] bin(int i, int in, int n) {
        return new int[]{(int) Math.floor((double) i * in / n), (int) Math.ceil((double) (i + 1) * in / n)};
    }

    static double[] adaptivePool(float[] x, int n, int c, int h, int w, int oh, int ow) {
        double[] y = new double[n * c * oh * ow];
        for (int p = 0; p < n * c; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    int[] r = bin(i, h, oh), q = bin(j, w, ow);
                    double s = 0;
                    for (int a = r[0]; a < r[1]; a++)
                        for (int b = q[0]; b < q[1]; b++) s += x[(p * h + a) * w + b];
                    y[(p * oh + i) * ow + j] = s / ((r[1] - r[0]) * (q[1] - q[0]));
                }
        return y;
    }

    static double[] adaptivePoolBackward(float[] dy, int m, int c, int oh, int ow, int h, int w) {
        double[] dx = new double[m * c * h * w];
        for (int p = 0; p < m * c; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    int[] r = bin(i, h, oh), q = bin(j, w, ow);
                    double g = dy[(p * oh + i) * ow + j] / (double) ((r[1] - r[0]) * (q[1] - q[0]));
                    for (int a = r[0]; a < r[1]; a++)
                        for (int b = q[0]; b < q[1]; b++) dx[(p * h + a) * w + b] += g;
                }
        return dx;
    }

    /** Index (0..3, row-major in the window) of the first maximum. */
    static int firstMax(float[] x, int p, int w) {
        float[] v = {x[p], x[p + 1], x[p + w], x[p + w + 1]};
        int best = 0;
        for (int i = 1; i < 4; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    static double[] maxPool(float[] x, int n, int c, int h, int w) {
        int oh = h / 2, ow = w / 2;
        double[] y = new double[n * c * oh * ow];
        for (int p = 0; p < n * c; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    int o = (p * h + 2 * i) * w + 2 * j;
                    double m = Double.NEGATIVE_INFINITY;
                    for (int a = 0; a < 2; a++) for (int b = 0; b < 2; b++) m = Math.max(m, x[o + a * w + b]);
                    y[(p * oh + i) * ow + j] = m;
                }
        return y;
    }

    /** dy [m,c,h/2,w/2] routed to the first maximum of each window of x [n,c,h,w] (item b uses x[b % n]). */
    static double[] maxPoolBackward(float[] x, float[] dy, int n, int m, int c, int h, int w) {
        int oh = h / 2, ow = w / 2;
        double[] dx = new double[m * c * h * w];
        for (int img = 0; img < m; img++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++) {
                        int xo = (((img % n) * c + ch) * h + 2 * i) * w + 2 * j;
                        int a = firstMax(x, xo, w);
                        int dxo = ((img * c + ch) * h + 2 * i + a / 2) * w + 2 * j + a % 2;
                        dx[dxo] += dy[((img * c + ch) * oh + i) * ow + j];
                    }
        return dx;
    }

    /** y [n,m] = x [n,k] · wᵀ + b. */
    static double[] fc(float[] x, float[] w, float[] b, int n, int k, int m) {
        double[] y = new double[n * m];
        for (int r = 0; r < n; r++)
            for (int o = 0; o < m; o++) {
                double s = b[o];
                for (int i = 0; i < k; i++) s += (double) x[r * k + i] * w[o * k + i];
                y[r * m + o] = s;
            }
        return y;
    }

    /** dx [n,k] = dy [n,m] · w [m,k]. */
    static double[] fcBackward(float[] dy, float[] w, int n, int k, int m) {
        double[] dx = new double[n * k];
        for (int r = 0; r < n; r++)
            for (int i = 0; i < k; i++) {
                double s = 0;
                for (int o = 0; o < m; o++) s += (double) dy[r * m + o] * w[o * k + i];
                dx[r * k + i] = s;
            }
        return dx;
    }

    static double[] softmax(float[] z, int n, int m) {
        double[] p = new double[n * m];
        for (int r = 0; r < n; r++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < m; j++) max = Math.max(max, z[r * m + j]);
            for (int j = 0; j < m; j++) sum += Math.exp(z[r * m + j] - max);
            for (int j = 0; j < m; j++) p[r * m + j] = Math.exp(z[r * m + j] - max) / sum;
        }
        return p;
    }
}
