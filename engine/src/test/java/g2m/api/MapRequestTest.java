package g2m.api;

import g2m.maps.MapMethod;
import g2m.net.GradientSource;
import g2m.net.Tap;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The request type: what it refuses, what it copies, how classes spread over the images. */
class MapRequestTest {
    @Test
    void defaultsAndCopies() {
        MapRequest r = MapRequest.of(List.of(Tap.CONV5_1, Tap.POOL4), MapMethod.G2M);
        assertEquals(GradientSource.TAP, r.gradients());
        assertNull(r.classes(), "top-1 by default");
        assertNull(r.classesFor(3));
        assertEquals(Tap.POOL4, r.shallowest());
        int[] given = {4, 5};
        MapRequest c = r.withClasses(given);
        given[0] = 9;
        assertArrayEquals(new int[] {4, 5}, c.classes(), "the request keeps its own copy");
        assertNull(r.classes(), "with… leaves the original as it was");
        assertEquals(GradientSource.LAYERCAM_LOC, r.withGradients(GradientSource.LAYERCAM_LOC).gradients());
    }

    @Test
    void oneClassServesEveryImageAndManyMustMatchTheImages() {
        MapRequest r = MapRequest.of(Tap.CONV5_1, List.of(MapMethod.DGL));
        assertArrayEquals(new int[] {7, 7, 7}, r.withTargetClass(7).classesFor(3));
        assertArrayEquals(new int[] {1, 2, 3}, r.withClasses(1, 2, 3).classesFor(3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.withClasses(1, 2).classesFor(3));
        assertEquals("2 target classes for 3 images", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> r.withClasses(7).classesFor(3), "only withTargetClass serves every image");
        assertNull(r.withTargetClass(7).withTopClass().classes());
        assertThrows(IllegalArgumentException.class, () -> r.withClasses());
    }

    @Test
    void refusesWhatCannotBeComputed() {
        assertThrows(IllegalArgumentException.class, () -> MapRequest.of(List.of(), MapMethod.G2M));
        assertThrows(IllegalArgumentException.class, () -> MapRequest.of(Tap.CONV5_1, List.of()));
        assertThrows(IllegalArgumentException.class, () -> MapRequest.of(Arrays.asList(Tap.CONV5_1, null), MapMethod.G2M));
        IllegalArgumentException dup = assertThrows(IllegalArgumentException.class,
                () -> MapRequest.of(Tap.CONV5_1, List.of(MapMethod.DGL, MapMethod.DGL)));
        assertTrue(dup.getMessage().contains("repeat"), dup.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MapRequest.of(Tap.CONV5_1, MapMethod.G2M).withGradients(null));
    }
}
