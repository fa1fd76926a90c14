package g2m.cli;

import g2m.demo.DemoAssets;

import g2m.weights.AtomicFiles;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code java -jar g2m-engine.jar --layer conv5_1} with no weights configured and no --input (or with --demo):
 * the maps and the WSOL evaluation of the bundled demo network on its own sample pictures, through
 * the same two commands a user runs on real data, so the demo shows exactly what they do.
 */
final class DemoJob {
    private final MapsJob.Options o;
    private final PrintWriter out;
    private final PrintWriter err;

    DemoJob(MapsJob.Options o, PrintWriter out, PrintWriter err) {
        this.o = o;
        this.out = out;
        this.err = err;
    }

    int run() {
        if (o.input != null || o.weights != null) {
            throw new Main.UserException("--demo runs the bundled demo network on its own pictures; drop --input and --weights, or drop --demo");
        }
        if (!DemoAssets.bundled()) {
            throw new Main.UserException("this build carries no demo; give --weights FILE and --input PICTURES");
        }
        List<String> shared = o.asArguments();  // before anything is unpacked: a typo leaves no files behind
        o.check();
        MapsJob.checkNumbers(o);
        refuseToMix(o.output, o.force);
        DemoAssets d;
        try {
            d = DemoAssets.extract(o.output.resolve("demo"), o.force);
        } catch (IOException e) {
            throw new Main.UserException("cannot unpack the demo into " + o.output.resolve("demo") + ": " + AtomicFiles.describe(e));
        }
        out.println("DEMO: " + (o.demo ? "" : "no weights are configured and no --input given, so ") + "this runs the bundled demo "
                + "network, a narrow VGG16 trained on generated shapes (10 classes, not ImageNet), on its " + d.pictures.size()
                + " sample pictures (unpacked with their boxes into " + d.dir + ").");
        out.flush();
        String layer = shared.get(1);
        List<String> maps = new ArrayList<>(List.of("--weights", d.model.toString(), "--input", d.images.toString(),
                "--output", o.output.toString(), "--class-names", d.classes.toString()));
        List<String> eval = new ArrayList<>(List.of("eval", "--weights", d.model.toString(), "--images", d.images.toString(),
                "--labels", d.labels.toString(), "--boxes", d.boxes.toString(), "--output", o.output.toString()));
        for (List<String> args : List.of(maps, eval)) {
            args.addAll(shared);
            if (o.force) args.add("--force");
        }
        maps.addAll(List.of("--batch", Integer.toString(o.batch), "--precision", o.precision.id, "--max-pixels", Long.toString(o.maxPixels),
                "--overlay-max-side", Integer.toString(o.overlayMaxSide)));
        if (o.raw) maps.add("--raw");
        if (o.targetClass != null) maps.addAll(List.of("--class", Integer.toString(o.targetClass)));

        int code = Main.run(maps.toArray(String[]::new), out, err);
        if (code != 0) return code;
        out.println("Localization of the demo set (the eval command's ten-crop protocol, boxes against the known ones):");
        out.flush();
        code = Main.run(eval.toArray(String[]::new), out, err);
        out.println("That was the DEMO network; its inputs stay in " + d.dir + ". For ImageNet maps of your own pictures, use torchvision's VGG16: "
                + Messages.COMMAND + " --layer " + layer + " --weights vgg16-397923af.pth --input PICTURES/ "
                + "(or run '" + Messages.COMMAND + " fetch vgg16' once where there is network access, then leave out --weights).");
        return code;
    }

    /** The demo writes several kinds of files; into an empty (or new) folder only, unless --force. */
    static void refuseToMix(Path output, boolean force) {
        if (force || !Files.isDirectory(output)) return;
        try (Stream<Path> s = Files.list(output)) {
            if (s.findAny().isPresent()) {
                throw new Main.UserException(output + " is not empty; use --force to overwrite the demo's files there, or another --output");
            }
        } catch (IOException e) {
            throw new Main.UserException("cannot read " + output + ": " + AtomicFiles.describe(e));
        }
    }
}
