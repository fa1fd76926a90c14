package g2m.bench;

import g2m.net.BatchMaps;
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
 * Batch-1 latency: every call is timed (Mode.SampleTime), so JMH reports the distribution
 * (p0.50, p0.90, p0.99, …) of the time for one image's maps, in milliseconds. Same network,
 * input and parameters as {@link MapThroughputBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx3g"})
@Warmup(iterations = 1, time = 5)
@Measurement(iterations = 3, time = 10)
public class MapLatencyBenchmark {
    @Param({"all4", "layercam"})
    public String methods;

    @Param({"conv5_1", "pool4", "conv3_3", "conv1_2"})
    public String tap;

    /** Batch 1 by default: the latency of one picture. */
    @Param({"1"})
    public int batch;

    @Param({"cpu"})
    public String device;

    @Param({"0"})
    public int threads;

    /** Input side in pixels (224 as the spec's preprocessing gives; smaller only for smoke runs). */
    @Param({"224"})
    public int size;

    private NetFixture fixture;

    @Setup(Level.Trial)
    public void setUp() {
        fixture = new NetFixture(device, threads, methods, tap, batch, size);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (fixture != null) fixture.reportMemoryAndClose(); // null: set-up failed (e.g. device skipped)
    }

    @Benchmark
    public BatchMaps latency() {
        return fixture.run();
    }
}
