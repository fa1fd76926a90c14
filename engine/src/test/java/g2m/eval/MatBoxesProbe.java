package g2m.eval;

import java.nio.file.Path;

/** Reads a .mat in a fresh JVM for {@link MatBoxesTest#aFreshJvmPrintsNothingOnStderr}: prints the entry count. */
public final class MatBoxesProbe {
    private MatBoxesProbe() {}

    public static void main(String[] args) {
        System.out.println(MatBoxes.read(Path.of(args[0])).size());
    }
}
