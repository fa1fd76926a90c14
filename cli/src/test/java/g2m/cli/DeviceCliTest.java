package g2m.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import g2m.backend.BackendUnavailableException;
import g2m.backend.DeviceOutOfMemoryException;
import g2m.backend.cpu.Bf16Cpu;
import g2m.backend.cuda.CudaBackend;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static g2m.cli.CliTest.fixture;
import static g2m.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * --device and --precision on the command line. On a machine without a usable GPU (CI, the
 * build machine): --device cuda still tries the CUDA backend and exits 2 within seconds with one
 * line and writes nothing (where a GPU is present that case skips; CudaGoldenTest covers the
 * GPU). --device auto runs on the CPU and says why, everywhere while the CUDA backend is not
 * validated on a GPU.
 */
class DeviceCliTest {
    @TempDir
    Path dir;
    static String noGpu;

    @BeforeAll
    static void probe() {
        noGpu = CudaBackend.unavailableReason();
    }

    static String picture() throws Exception {
        return Path.of(DeviceCliTest.class.getResource("/golden/image_224x256.png").toURI()).toString();
    }

    @Test
    void cudaWithoutAGpuExitsTwoWithinSecondsWithOneLine() throws Exception {
        Assumptions.assumeTrue(noGpu != null, "a usable GPU is present");
        Path out = dir.resolve("out");
        long t0 = System.nanoTime();
        CliTest.Result r = run("--layer", "conv5_1", "--weights", fixture("tiny_vgg16_zip.pth"), "--input", picture(),
                "--output", out.toString(), "--device", "cuda");
        double s = (System.nanoTime() - t0) / 1e9;
        assertEquals(2, r.code(), r.err());
        assertTrue(r.oneLineError().contains("CUDA backend unavailable: "), r.err());
        assertTrue(s < 10, s + " s");
        assertFalse(Files.exists(out), "no output folder left behind");
        assertTrue(r.err().strip().endsWith("(or use --device cpu)"), "the CLI's hint: " + r.err());

        CliTest.Result b = run("bench", "--device", "cuda", "--seconds", "0", "--min-runs", "1");
        assertEquals(2, b.code(), b.err());
        assertTrue(b.oneLineError().contains("CUDA backend unavailable: "), b.err());
        assertTrue(b.out().isEmpty(), "no JSON line: " + b.out());
    }

    /**
     * Until the CUDA backend is validated on a GPU (GpuValidation.VALIDATED_ON), auto is the CPU
     * everywhere — on a GPU host too, so this runs there as well — and says why in the summary
     * and on the job's last line.
     */
    @Test
    void autoUsesTheCpuUntilTheCudaBackendIsValidatedAndSaysWhy() throws Exception {
        Assumptions.assumeFalse(g2m.backend.cuda.GpuValidation.validated(), "the CUDA backend is recorded as validated: auto may take the GPU");
        Path out = dir.resolve("out");
        CliTest.Result r = run("--layer", "pool5", "--weights", fixture("tiny_vgg16_zip.pth"), "--input", picture(),
                "--output", out.toString(), "--device", "auto");
        assertEquals(0, r.code(), r.err());
        JsonNode s = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        String device = s.get("device").asText();
        assertTrue(device.contains("OpenBLAS") && device.contains("auto: the CPU, since the CUDA backend has not been validated on a GPU yet"),
                device);
        assertTrue(r.out().contains("not been validated on a GPU yet"), r.out());
        assertEquals(1, r.out().lines().filter(l -> l.contains("validated")).count(), "said in one line: " + r.out());

        CliTest.Result b = run("bench", "--device", "auto", "--precision", "tf32", "--layer", "pool5", "--batch", "1", "--size", "32",
                "--seconds", "0", "--min-runs", "1", "--warmup", "0", "--weights", fixture("tiny_vgg16_zip.pth"));
        assertEquals(0, b.code(), b.err());
        JsonNode j = new ObjectMapper().readTree(b.out());
        assertTrue(j.get("device").asText().contains("--precision tf32 ignored, the CPU computes in fp32"), j.toString());
    }

    /** bf16 is a CPU mode too where the CPU has AVX-512 bf16: bench runs and says so; elsewhere one line, exit 2. */
    @Test
    void bf16RunsOnTheCpuOrIsRefusedInOneLine() throws Exception {
        CliTest.Result b = run("bench", "--device", "cpu", "--precision", "bf16", "--layer", "pool5", "--batch", "1", "--size", "32",
                "--seconds", "0", "--min-runs", "1", "--warmup", "0", "--weights", fixture("tiny_vgg16_zip.pth"));
        if (!Bf16Cpu.available()) {
            assertEquals(2, b.code(), b.err());
            assertEquals("g2m-engine: CPU backend unavailable for --precision bf16: this CPU has no AVX-512 bf16 instructions", b.err().strip());
            return;
        }
        assertEquals(0, b.code(), b.err());
        JsonNode j = new ObjectMapper().readTree(b.out());
        assertTrue(j.get("device").asText().contains("bf16 products"), j.toString());
    }

    @Test
    void precisionIsCheckedUpFront() {
        for (String[] args : new String[][] {
                {"bench", "--device", "cpu", "--precision", "tf32"},
                {"bench", "--precision", "fp8"},
                {"--layer", "conv5_1", "--input", "x.png", "--device", "cpu", "--precision", "fp16"},
        }) {
            CliTest.Result r = run(args);
            assertEquals(2, r.code(), String.join(" ", args) + " -> " + r.err());
            assertTrue(r.oneLineError().contains("precision") || r.err().contains("fp8"), r.err());
        }
        assertTrue(run("bench", "--help").out().contains("--precision"));
        assertTrue(run("--help").out().contains("--precision"));
    }

    @Test
    void backendAndMemoryFailuresAreUserErrors() {
        assertTrue(Main.isUserError(new DeviceOutOfMemoryException("GPU out of memory: x", null).atBatch(64)));
        assertTrue(Main.isUserError(new BackendUnavailableException("CUDA", "no GPU")));
        assertFalse(Main.isUserError(new IllegalStateException("a bug")));
    }
}
