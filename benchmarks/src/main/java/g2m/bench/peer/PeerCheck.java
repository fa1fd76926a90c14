package g2m.bench.peer;

import g2m.backend.Backend;
import g2m.backend.Backends;
import g2m.maps.MapMethod;
import g2m.net.BatchMaps;
import g2m.net.Tap;
import g2m.net.Vgg16Net;
import g2m.overlay.NpyWriter;
import g2m.weights.Checkpoint;
import g2m.weights.WeightsCache;
import g2m.weights.fetch.WeightsFetcher;
import g2m.weights.safetensors.Safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The engine's half of the peer agreement check (benchmarks/peer/compare.py): maps for a given
 * network input, written as .npy for numpy to compare with PyTorch's.
 *
 * <pre>java -cp benchmarks.jar g2m.bench.peer.PeerCheck WEIGHTS INPUT.npy TAP OUTDIR</pre>
 *
 * INPUT.npy is float32 [N,3,H,W] as numpy.save writes it. Writes OUTDIR/logits.npy (N, classes)
 * and OUTDIR/&lt;method&gt;.npy for the G2M four, the N maps stacked: (N·h, w). Targets: each
 * image's top-1 class, as the peer's.
 */
public final class PeerCheck {
    private PeerCheck() {}

    private static final Pattern HEADER = Pattern.compile(
            "\\{'descr': '<f4', 'fortran_order': False, 'shape': \\((\\d+), 3, (\\d+), (\\d+)\\), \\}\\s*");

    public static void main(String[] args) throws IOException {
        if (args.length != 4) {
            System.err.println("usage: PeerCheck WEIGHTS INPUT.npy TAP OUTDIR");
            System.exit(2);
        }
        Path weights = Path.of(args[0]), inputFile = Path.of(args[1]), out = Path.of(args[3]);
        Tap tap = Tap.parse(args[2]);
        byte[] b = Files.readAllBytes(inputFile);
        if (b.length < 10 || b[0] != (byte) 0x93 || b[6] != 1) throw new IllegalArgumentException(inputFile + ": not a .npy 1.0 file");
        int hl = (b[8] & 0xff) | (b[9] & 0xff) << 8;
        Matcher m = HEADER.matcher(new String(b, 10, hl, StandardCharsets.ISO_8859_1));
        if (!m.matches()) throw new IllegalArgumentException(inputFile + ": expected a float32 [N,3,H,W] array from numpy.save");
        int n = Integer.parseInt(m.group(1)), h = Integer.parseInt(m.group(2)), w = Integer.parseInt(m.group(3));
        float[] x = new float[n * 3 * h * w];
        if (b.length != 10 + hl + 4 * x.length) throw new IllegalArgumentException(inputFile + ": wrong data length");
        ByteBuffer.wrap(b, 10 + hl, 4 * x.length).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(x);

        Checkpoint ck = Safetensors.read(WeightsCache.resolve(weights, WeightsFetcher.defaultCache()));
        Files.createDirectories(out);
        try (Backend backend = Backends.open("cpu", 0); Vgg16Net net = new Vgg16Net(backend, ck)) {
            BatchMaps r = net.run(x, n, h, w, null, List.of(tap), MapMethod.G2M);
            NpyWriter.writeFloat32(out.resolve("logits.npy"), r.logits(), 0, n, r.numClasses(), true);
            for (MapMethod method : MapMethod.G2M) {
                BatchMaps.Map2D first = r.map(0, tap, method);
                float[] all = new float[n * first.height() * first.width()];
                for (int i = 0; i < n; i++) {
                    float[] v = r.map(i, tap, method).values();
                    System.arraycopy(v, 0, all, i * v.length, v.length);
                }
                NpyWriter.writeFloat32(out.resolve(method.id + ".npy"), all, 0, n * first.height(), first.width(), true);
            }
        }
    }
}
