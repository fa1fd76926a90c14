package g2m.cli;

import g2m.weights.Checkpoint;
import g2m.weights.OneLine;
import g2m.weights.Tensor;
import g2m.weights.Vgg16;
import g2m.weights.WeightsConverter;
import g2m.weights.WeightsException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Print the tensors (name, dtype, shape) and metadata of a weights file, and whether it is a valid VGG16.")
final class InspectCommand implements Callable<Integer> {
    /** Names and metadata from the file are printed up to this many characters. */
    static final int MAX_TEXT = 200;
    /** Names are padded to the longest one, but to no more than this. */
    static final int NAME_COLUMN = 48;

    @Parameters(index = "0", paramLabel = "FILE", description = ".pth, .caffemodel or .safetensors file")
    Path file;

    @Option(names = "--format", paramLabel = "pytorch|caffe|safetensors", description = "input format (default: detected)")
    String format;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        WeightsConverter.Format f = format == null ? WeightsConverter.detect(file) : WeightsConverter.Format.parse(format);
        Checkpoint c = WeightsConverter.readRaw(file, f);
        long params = 0;
        for (Tensor t : c.tensors().values()) params += t.numel();
        out.printf("%s: %s, %d tensors, %,d parameters%n", OneLine.escape(file.toString(), MAX_TEXT), f.label,
                c.tensors().size(), params);
        if (!c.metadata().isEmpty()) {
            out.println("metadata:");
            for (Map.Entry<String, String> e : c.metadata().entrySet()) {
                out.println("  " + OneLine.escape(e.getKey(), MAX_TEXT) + " = " + OneLine.escape(e.getValue(), MAX_TEXT));
            }
        }
        out.println("tensors:");
        // names come from the file: escaped, cut, and padded to a capped width (padding every
        // line to one huge name made output quadratic in the input)
        int w = 1;
        for (String n : c.tensors().keySet()) w = Math.max(w, Math.min(NAME_COLUMN, OneLine.escape(n, MAX_TEXT).length()));
        for (Tensor t : c.tensors().values()) {
            out.printf("  %-" + w + "s  %-4s %s%n", OneLine.escape(t.name(), MAX_TEXT), t.dtype(), Arrays.toString(t.shape()));
        }
        try {
            Checkpoint v = WeightsConverter.load(file, new WeightsConverter.Options(f, null, null, null));
            out.println("VGG16: " + Vgg16.topology(v.tensors()) + "; preprocessing " + v.metadata().get(WeightsConverter.KEY_CONVENTION)
                    + " (" + g2m.weights.Preprocessing.fromMetadata(v.metadata()) + ")");
        } catch (WeightsException e) {
            out.println("not usable as VGG16: " + e.getMessage());
        }
        return 0;
    }
}
