package g2m.weights;

import g2m.weights.safetensors.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WeightsCacheTest {
    @Test
    void testsUseTheirOwnCacheNotTheUsers() {
        // the build sets G2M_CACHE for tests (see the parent pom's surefire configuration)
        Path cache = g2m.weights.fetch.WeightsFetcher.defaultCache().toAbsolutePath();
        assertFalse(cache.startsWith(Path.of(System.getProperty("user.home"), ".cache")), cache.toString());
        assertTrue(cache.startsWith(Path.of("target").toAbsolutePath()), cache + " is under this module's target/");
        assertNull(System.getenv("G2M_WEIGHTS"), "the user's G2M_WEIGHTS does not reach tests");
    }

    @Test
    void convertsOnceThenReusesByContent(@TempDir Path cache) throws IOException {
        Path pth = WeightsConverterTest.fixture("tiny_vgg16_legacy.pth");
        Path first = WeightsCache.resolve(pth, cache);
        assertTrue(first.startsWith(cache.resolve("converted")), first.toString());
        assertEquals("pytorch", Safetensors.read(first).metadata().get("source_format"));
        long modified = Files.getLastModifiedTime(first).toMillis();
        Path second = WeightsCache.resolve(pth, cache);
        assertEquals(first, second);
        assertEquals(modified, Files.getLastModifiedTime(second).toMillis(), "not converted again");
        // an engine file is used in place, a different file gets a different entry
        assertEquals(first, WeightsCache.resolve(first, cache));
        assertNotEquals(first, WeightsCache.resolve(WeightsConverterTest.fixture("tiny_vgg16_v1.caffemodel"), cache));
    }
}
