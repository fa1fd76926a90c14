package g2m.bench;

import g2m.net.BatchMaps;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Map throughput: one op = one batch through ONE forward and ONE backward pass with every
 * requested map at the tap. The primary score is batches/s; the secondary scores
 * {@code :images} and {@code :maps} are images/s (= ops/s × batch) and maps/s
 * (= images/s × methods), counted with {@link AuxCounters}.
 *
 * <p>Devices: the default list is {@code cpu}. On a GPU host pass {@code -p device=cuda,cpu}; where
 * the CUDA backend is unavailable those trials fail with a "SKIPPED device=cuda: …" message and
 * the run goes on with the rest.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx3g"})
@Warmup(iterations = 1, time = 5)
@Measurement(iterations = 3, time = 5)
public class MapThroughputBenchmark {
    /** "all4" = layercam, sgl-g1, sgl-g2, dgl; or method ids joined by '+', e.g. gradcam+hirescam. */
    @Param({"all4", "layercam"})
    public String methods;

    /** The tap (one per trial; several joined by '+' share one pass). */
    @Param({"conv5_1", "pool4", "conv3_3", "conv1_2"})
    public String tap;

    @Param({"1", "8"})
    public int batch;

    /** cpu (default); cuda or auto on GPU hosts, e.g. -p device=cuda,cpu. */
    @Param({"cpu"})
    public String device;

    /** CPU threads; 0 = all cores. */
    @Param({"0"})
    public int threads;

    /** Input side in pixels (224 as the spec's preprocessing gives; smaller only for smoke runs). */
    @Param({"224"})
    public int size;

    private NetFixture fixture;

    /** images/s and maps/s next to the ops (= batches) per second. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Rates {
        public long images;
        public long maps;

        @Setup(Level.Iteration)
        public void reset() {
            images = 0;
            maps = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        fixture = new NetFixture(device, threads, methods, tap, batch, size);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (fixture != null) fixture.reportMemoryAndClose(); // null: set-up failed (e.g. device skipped)
    }

    @Benchmark
    public BatchMaps maps(Rates rates) {
        BatchMaps m = fixture.run();
        rates.images += fixture.batch;
        rates.maps += fixture.mapsPerOp();
        return m;
    }
}
