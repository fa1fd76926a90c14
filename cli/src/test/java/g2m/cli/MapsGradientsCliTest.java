package g2m.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import g2m.net.Vgg16NetGoldenTest;
import g2m.weights.Checkpoint;
import g2m.weights.safetensors.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static g2m.cli.CliTest.fixture;
import static g2m.cli.CliTest.run;
import static g2m.testing.Parity.assertClose;
import static g2m.testing.Parity.relErr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The main job's {@code --gradients}: the raw maps of a picture with layercam_loc's gradient source
 * against the PyTorch goldens made that way (maps_layercam_loc.safetensors, picture.*: hooks on
 * the ReLU and the next pool), ‖out − ref‖/‖ref‖ ≤ 1e-4; the default (the tap's own gradient,
 * tested in MapsCliTest) gives other maps there; summary.json names the source.
 */
class MapsGradientsCliTest {
    static final String[] TAPS = {"conv5_3", "conv4_3"};
    static final String[] METHODS = {"layercam", "sgl-g1", "sgl-g2", "dgl"};

    @TempDir
    Path dir;

    static float[] npy(Path f) throws IOException {
        byte[] b = Files.readAllBytes(f);
        int header = ByteBuffer.wrap(b, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort();
        float[] v = new float[(b.length - 10 - header) / 4];
        ByteBuffer.wrap(b, 10 + header, b.length - 10 - header).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
        return v;
    }

    CliTest.Result maps(Path out, String... extra) throws IOException {
        Path in = Files.createDirectories(dir.resolve("in"));
        Files.copy(Vgg16NetGoldenTest.resource("/golden/image_224x256.png"), in.resolve("a.png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        String[] base = {"--layer", "conv5_3,conv4_3", "--weights", fixture("tiny_vgg16_zip.pth"), "--input", in.resolve("a.png").toString(),
                "--output", out.toString(), "--device", "cpu", "--raw"};
        String[] all = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return run(all);
    }

    @Test
    void layercamLocMapsOfAPictureMatchTheGoldens() throws IOException {
        Checkpoint ll = Safetensors.read(Vgg16NetGoldenTest.resource("/golden/maps_layercam_loc.safetensors"));
        Path out = dir.resolve("ll");
        CliTest.Result r = maps(out, "--gradients", "layercam_loc");
        assertEquals(0, r.code(), r.err());
        Path def = dir.resolve("tap");
        assertEquals(0, maps(def).code());
        double worst = 0;
        for (String t : TAPS) {
            for (String m : METHODS) {
                float[] got = npy(out.resolve("a_" + t + "_" + m + ".npy"));
                worst = Math.max(worst, assertClose(ll.tensors().get("picture.map." + t + "." + m).toFloats(), got, Vgg16NetGoldenTest.TOL, t + "/" + m));
                float[] plain = npy(def.resolve("a_" + t + "_" + m + ".npy"));
                assertTrue(relErr(got, plain) > 1e-2, t + "/" + m + ": the default is another source");
            }
        }
        System.out.printf("main job, --gradients layercam_loc on image_224x256.png vs PyTorch goldens: worst rel err %.2e%n", worst);
        ObjectMapper json = new ObjectMapper();
        JsonNode s = json.readTree(out.resolve("summary.json").toFile());
        assertEquals("layercam_loc", s.get("gradients").asText());
        assertEquals("tap", json.readTree(def.resolve("summary.json").toFile()).get("gradients").asText());
    }

    @Test
    void aBadSourceIsOneLineAndWritesNothing() throws IOException {
        Path out = dir.resolve("bad");
        CliTest.Result r = maps(out, "--gradients", "pool5");
        assertEquals(2, r.code());
        assertEquals("g2m-engine: --gradients: unknown gradient source 'pool5' (valid: tap, layercam_loc)", r.oneLineError().strip());
        assertTrue(Files.notExists(out));
    }
}
