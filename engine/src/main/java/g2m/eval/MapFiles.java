package g2m.eval;

import g2m.maps.MapMethod;
import g2m.net.Tap;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The maps a run saves, {@code maps/<stem>_<layer>_<method>.png} (the stem: the picture's name
 * without its extension, folders joined with '_'): which name each gets, that no two pictures of
 * a run share one, and which files in {@code maps/} are ours to delete when starting over.
 */
public final class MapFiles {
    private MapFiles() {}

    public static final String DIR = "maps";
    private static final String PNG = ".png";

    /** The file name of one picture's map for one layer and method. */
    public static String name(Sample s, Tap tap, MapMethod method) {
        return s.stem() + "_" + tap.id + "_" + method.id + PNG;
    }

    /**
     * Refuses a dataset in which two pictures would write the same maps ({@code x.png} and
     * {@code x.jpg}; {@code a/b.png} and {@code a_b.png}): stems are compared ignoring case, as
     * a case-insensitive file system would. Layer and method ids never make two names equal,
     * because a name ends in exactly one known {@code _<layer>_<method>}.
     */
    public static void requireUnique(Dataset data) {
        Map<String, String> byStem = new HashMap<>();
        for (Sample s : data.samples()) {
            String other = byStem.putIfAbsent(s.stem().toLowerCase(Locale.ROOT), s.name());
            if (other != null) {
                throw new EvalException("'" + other + "' and '" + s.name() + "' would both save their maps as " + DIR + "/" + s.stem()
                        + "_<layer>_<method>.png; rename one of the pictures, or evaluate without --save-boxes");
            }
        }
    }

    /**
     * Deletes from {@code dir} the maps this dataset's pictures can have, for any layer and method
     * (so those of an earlier run on the same pictures with other layers go too); every other file
     * stays. Returns how many were deleted.
     */
    public static int deleteOwn(Path dir, Dataset data) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) return 0;
        Set<String> stems = new HashSet<>();
        for (Sample s : data.samples()) stems.add(s.stem());
        int n = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                if (isOwn(f.getFileName().toString(), stems) && Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
                    Files.delete(f);
                    n++;
                }
            }
        }
        return n;
    }

    /** Whether {@code file} is {@code <stem>_<layer>_<method>.png} for one of {@code stems} and a known layer and method. */
    static boolean isOwn(String file, Set<String> stems) {
        if (!file.endsWith(PNG)) return false;
        String rest = file.substring(0, file.length() - PNG.length());
        for (MapMethod m : MapMethod.values()) {
            if (!rest.endsWith("_" + m.id)) continue;
            String beforeMethod = rest.substring(0, rest.length() - m.id.length() - 1);
            for (Tap t : Tap.values()) {
                if (beforeMethod.endsWith("_" + t.id) && stems.contains(beforeMethod.substring(0, beforeMethod.length() - t.id.length() - 1))) {
                    return true;
                }
            }
        }
        return false;
    }
}
