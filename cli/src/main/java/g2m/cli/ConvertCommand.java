package g2m.cli;

import g2m.weights.Checkpoint;
import g2m.weights.Preprocessing;
import g2m.weights.Vgg16;
import g2m.weights.WeightsConverter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Convert VGG16 weights to the engine's format (safetensors, float32, with preprocessing metadata).",
                "Reads PyTorch .pth (zip and legacy), Caffe .caffemodel (V1 and V2) and safetensors; the format is detected."})
final class ConvertCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IN", description = "weights file to read")
    Path in;

    @Parameters(index = "1", paramLabel = "OUT", description = "safetensors file to write")
    Path out;

    @Option(names = "--format", paramLabel = "pytorch|caffe|safetensors", description = "input format (default: detected)")
    String format;

    @Option(names = "--preprocessing", paramLabel = "pytorch|caffe",
            description = "preprocessing convention the weights expect (default: from the file's metadata, else its naming: "
                    + "torchvision names -> pytorch, conv1_1..fc8 -> caffe)")
    String convention;

    @Option(names = "--mean", paramLabel = "A,B,C", description = "per-channel mean, in the input channel order (overrides the convention's)")
    String mean;

    @Option(names = "--std", paramLabel = "A,B,C", description = "per-channel std, in the input channel order (overrides the convention's)")
    String std;

    @Option(names = "--force", description = "overwrite OUT if it exists")
    boolean force;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        WeightsConverter.Options opt = new WeightsConverter.Options(
                format == null ? null : WeightsConverter.Format.parse(format),
                convention == null ? null : WeightsConverter.Convention.parse(convention),
                mean == null ? null : Preprocessing.parseTriple("--mean", mean),
                std == null ? null : Preprocessing.parseTriple("--std", std));
        Checkpoint c = WeightsConverter.convert(in, out, opt, force);
        spec.commandLine().getOut().println("wrote " + out + ": VGG16, " + Vgg16.topology(c.tensors()) + "; preprocessing "
                + Preprocessing.fromMetadata(c.metadata()));
        return 0;
    }
}
