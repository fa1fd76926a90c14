#!/usr/bin/env python3
"""GFLOP/s table from JMH JSON results of ConvLayerBenchmark and SgemmBenchmark (-rf json -rff FILE).

usage: benchmarks/conv_gflops.py RESULT.json [RESULT.json ...]
Each trial's figure is its median call (JMH SampleTime); with several files (repeated runs) each cell
is the median over the runs, with the runs' min-max in brackets. GFLOP/s count the direct convolution's
2*N*K*C*9*H*W flops for every path, Winograd's too (its "effective" rate: it does fewer multiplies).
Only the paths present in the files get a column.
"""
import json
import statistics
import sys
from collections import defaultdict

LAYERS = {"conv1_1": (3, 64, 224), "conv1_2": (64, 64, 224), "conv2_1": (64, 128, 112), "conv2_2": (128, 128, 112),
          "conv3_1": (128, 256, 56), "conv3_2": (256, 256, 56), "conv4_1": (256, 512, 28), "conv4_2": (512, 512, 28),
          "conv5_1": (512, 512, 14)}


def gflop(layer, batch):
    c, k, h = LAYERS[layer]
    return 2.0 * batch * k * c * 9 * h * h / 1e9


def main(files):
    conv = defaultdict(list)   # (layer, batch, direction, path) -> [GFLOP/s]
    sgemm = defaultdict(list)  # layer -> [GFLOP/s]
    for f in files:
        for r in json.load(open(f)):
            # SampleTime: the median call of the trial (robust to the calls a busy machine stalls)
            m = r["primaryMetric"]
            p, ms = r["params"], m.get("scorePercentiles", {}).get("50.0", m["score"])
            if r["benchmark"].endswith("ConvLayerBenchmark.conv"):
                b = int(p["batch"])
                conv[(p["layer"], b, p["direction"], p["path"])].append(gflop(p["layer"], b) / ms * 1e3)
            elif r["benchmark"].endswith("SgemmBenchmark.sgemm"):
                sgemm[p["layer"]].append(gflop(p["layer"], 1) / ms * 1e3)
    present = {key[3] for key in conv}
    paths = [p for p in ("im2col", "onednn", "winograd", "onednn-bf16") if p in present]
    fp32_paths = [p for p in paths if p != "onednn-bf16"]

    def cell(v):
        if not v:
            return "–"
        m = statistics.median(v)
        return f"{m:.0f}" if len(v) == 1 else f"{m:.0f} ({min(v):.0f}–{max(v):.0f})"

    print("| layer | batch | direction | " + " | ".join(paths) + " | sgemm alone | fastest fp32 |")
    print("|---|---|---|" + "---|" * len(paths) + "---|---|")
    for layer in LAYERS:
        for b in (1, 8):
            for d in ("forward", "backward"):
                vals = [conv.get((layer, b, d, p), []) for p in paths]
                if not any(vals):
                    continue
                fp32 = {p: statistics.median(v) for p, v in zip(paths, vals) if v and p in fp32_paths}
                best = max(fp32, key=fp32.get) if fp32 else "–"
                print(f"| {layer} | {b} | {d} | " + " | ".join(cell(v) for v in vals)
                      + f" | {cell(sgemm.get(layer, []))} | {best} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
