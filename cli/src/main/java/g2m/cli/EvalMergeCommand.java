package g2m.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import g2m.eval.EvalCheckpoint;
import g2m.eval.EvalException;
import g2m.eval.EvalReport;
import g2m.eval.Shards;
import g2m.weights.AtomicFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Adds up the checkpoints of the runs of 'eval --shard I/N' (one --output folder each, all N shards, each finished) into OUT: "
                + "the checkpoint.jsonl, results.md, results.csv, results.json (and, if the shards saved boxes, boxes.csv) that one unsharded run "
                + "writes; results.json differs only in its 'run' part. The maps the shards saved stay in their folders.",
                "Refused, naming the folders: shards evaluated with other settings (dataset, layers, methods, weights, device, ...), "
                        + "shards of different N, a shard given twice, a missing shard, a shard with pictures still to do.",
                "report.html needs the pictures and the network: afterwards run 'eval' with the shards' options (without --shard), "
                        + "--output OUT and --report; it finds every picture done and evaluates only the report's pictures again.",
                "Exit codes: 0 ok, 2 bad input or usage, 3 some pictures were skipped (listed in results.json), 1 internal error."})
final class EvalMergeCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "OUT", description = "the folder for the merged results (new, or with --force)")
    Path output;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "DIR", description = "the shards' --output folders, in any order")
    List<Path> shards;

    @Option(names = "--force", description = "replace the checkpoint and results files already in OUT (other files there stay)")
    boolean force;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() {
        try {
            return merge();
        } catch (EvalException | IllegalArgumentException e) {
            throw new Main.UserException(EvalException.oneLine(e.getMessage()));
        }
    }

    private int merge() {
        refuseEvalOptions();
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        Shards.Merged checked = Shards.check(shards);          // before anything in OUT is touched
        prepareOutput(checked);
        Shards.Merged m = Shards.merge(shards, output);
        String weights = m.settings().path("weights").asText();
        String description = EvalCommand.describe(m.images(), 0, m.source() != null ? m.source() : "(not recorded in the shards' checkpoints)",
                weights.startsWith("random-vgg16:"));
        ObjectNode run = JSON.createObjectNode();
        ArrayNode from = run.putArray("merged_from");
        for (Shards.Part p : m.parts()) from.addObject().put("shard", p.shard().id()).put("folder", p.dir().toString()).put("images", p.records());
        EvalReport report = EvalReport.fromCheckpoint(output.resolve(EvalCheckpoint.FILE), m.taps(), m.methods(), 0,
                m.settings().path("save_boxes").asBoolean(false));
        report.write(output, m.settings(), description, run);
        out.print(report.table());
        out.printf("%d image(s) evaluated (merged from %d shard(s)%s); results in %s%n", report.evaluated(), m.parts().size(),
                report.skipped().isEmpty() ? "" : ", " + report.skipped().size() + " skipped", output.resolve(EvalReport.MD));
        if (!report.skipped().isEmpty()) {
            EvalCommand.say(err, report.skipped().size() + " picture(s) skipped (listed in " + output.resolve(EvalReport.JSON_FILE) + ")");
            return MapsJob.EXIT_SOME_FAILED;
        }
        return 0;
    }

    /** "eval --layers x merge …": the merge takes everything from the shards, so eval's options there would be ignored; refused. */
    private void refuseEvalOptions() {
        picocli.CommandLine eval = spec.commandLine().getParent();
        var given = eval == null || eval.getParseResult() == null ? List.<picocli.CommandLine.Model.OptionSpec>of()
                : eval.getParseResult().matchedOptions();
        if (!given.isEmpty()) {
            throw new Main.UserException("'eval merge' takes its settings from the shards; drop " + String.join(", ",
                    given.stream().map(picocli.CommandLine.Model.OptionSpec::longestName).distinct().toList()) + " before 'merge'");
        }
    }

    /** OUT: a new folder, or with --force one whose checkpoint and results files are deleted; never one of the shards. */
    private void prepareOutput(Shards.Merged m) {
        if (Files.exists(output) && !Files.isDirectory(output)) throw new Main.UserException("OUT " + output + " is a file, not a folder");
        for (Shards.Part p : m.parts()) {
            try {
                if (Files.exists(output) && Files.isSameFile(output, p.dir())) {
                    throw new Main.UserException("OUT " + output + " is the folder of shard " + p.shard().id() + "; give a new folder");
                }
            } catch (IOException e) {
                throw new Main.UserException("cannot use " + output + ": " + AtomicFiles.describe(e));
            }
        }
        Path cp = output.resolve(EvalCheckpoint.FILE);
        List<Path> ours = new java.util.ArrayList<>(List.of(cp));
        for (String f : EvalReport.FILES) ours.add(output.resolve(f));
        try {
            for (Path f : ours) {
                if (!Files.exists(f)) continue;
                if (!force) throw new Main.UserException(f + " exists; use --force to replace it, or another OUT folder");
                Files.delete(f);
            }
            Files.createDirectories(output);
        } catch (IOException e) {
            throw new Main.UserException("cannot prepare " + output + ": " + AtomicFiles.describe(e));
        }
    }
}
