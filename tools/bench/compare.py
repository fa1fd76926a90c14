#!/usr/bin/env python3
"""Engine vs PyTorch, side by side, in one run on one machine: the same full-size VGG16 (seeded
random weights, written once as a torchvision-named .pth that the engine converts and caches),
the same preprocessed 224x224 inputs (a float32 .npy both read), maps at one tap.

For each batch size it runs, back to back:
  engine     java -jar cli/target/g2m-engine.jar bench --weights W --input-file X (ONE JSON line)
  fused      PyTorch: one forward, two backward passes (g1, g2), the four G2M maps
  reference  PyTorch as the original G2M script does it: 4 forwards, 5 backwards per image
and prints every JSON line, then a Markdown table of images/s and the engine/peer ratios.

    mvn -B -ntp -q package -DskipTests
    /usr/bin/python3 tools/bench/compare.py --threads 2 --batch 1 8 --seconds 20        # CPU
    /usr/bin/python3 tools/bench/compare.py --threads 2 --batch 1 8 --engine-precisions fp32 bf16   # also the engine in bf16
    python3 tools/bench/compare.py --device cuda --batch 1 64 --modes fused             # a GPU host

Needs torch (Debian's python3-torch on CPU) and numpy. The work files (about 1.1 GB: the .pth, the
engine's converted copy, the inputs) go to a fresh temporary folder that is deleted at the end,
also after a failure, Ctrl-C or SIGTERM; with --work DIR (or $G2M_BENCH_WORK) they are kept in DIR
instead and reused by the next run (the weights are written once).
"""
import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_peer as peer  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WEIGHT_SEED = 0


def write_weights(path):
    """peer.weights() under torchvision's names, so the engine's converter reads the very same tensors."""
    if os.path.exists(path):
        return
    convs, fcs = peer.weights(WEIGHT_SEED)
    sd, i = {}, 0
    for v in peer.CFG:
        if v == 'M':
            i += 1
            continue
        w, b = convs.pop(0)
        sd[f"features.{i}.weight"], sd[f"features.{i}.bias"] = w.detach(), b.detach()
        i += 2  # conv, relu
    for k, (w, b) in zip((0, 3, 6), fcs):
        sd[f"classifier.{k}.weight"], sd[f"classifier.{k}.bias"] = w.detach(), b.detach()
    torch.save(sd, path + ".tmp")
    os.replace(path + ".tmp", path)


def write_input(path, batch, size):
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(1)).numpy().astype('<f4')
    np.save(path, x)
    return x


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads for both (default: all cores)")
    p.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    p.add_argument("--tap", default="conv5_1")
    p.add_argument("--modes", nargs="+", default=["fused", "reference"], choices=["fused", "reference"])
    p.add_argument("--seconds", type=float, default=20.0, help="time budget per (runner, batch)")
    p.add_argument("--jar", default=os.path.join(ROOT, "cli", "target", "g2m-engine.jar"))
    p.add_argument("--java", default="java")
    p.add_argument("--engine-precisions", nargs="+", default=["fp32"], choices=["fp32", "tf32", "fp16", "bf16"],
                   help="the engine's --precision, one engine run per batch each (the peer stays fp32)")
    p.add_argument("--work", default=os.environ.get("G2M_BENCH_WORK") or None,
                   help="keep the work files (about 1.1 GB) in this folder and reuse them (default: $G2M_BENCH_WORK, "
                        "else a temporary folder deleted at the end)")
    args = p.parse_args()
    if not os.path.exists(args.jar):
        sys.exit(f"compare.py: {args.jar} is missing; build it first: mvn -B -ntp -q package -DskipTests")
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("compare.py: --device cuda, but this PyTorch sees no GPU")
    if args.work:
        os.makedirs(args.work, exist_ok=True)
        run(args)
        return
    # SIGTERM (a scheduler, timeout) ends the run like Ctrl-C: through the finally below
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    args.work = tempfile.mkdtemp(prefix="g2m-bench-")
    try:
        run(args)
    finally:
        shutil.rmtree(args.work, ignore_errors=True)


def run(args):
    torch.set_num_threads(args.threads)
    weights = os.path.join(args.work, f"vgg16-random-seed{WEIGHT_SEED}.pth")
    write_weights(weights)
    env = dict(os.environ, G2M_CACHE=os.path.join(args.work, "cache"))

    dev = torch.device(args.device)
    peer.set_precision(dev, "fp32")  # the engine's default: exact fp32, no TF32
    convs, fcs = peer.weights(WEIGHT_SEED, device=dev)
    rows = []
    for b in args.batch:
        xfile = os.path.join(args.work, f"input_{b}x3x224x224.npy")
        x = torch.from_numpy(write_input(xfile, b, 224)).to(dev)
        row = {"batch": b, "engine": {}}
        for prec in args.engine_precisions:
            cmd = [args.java, "-jar", args.jar, "bench", "--device", args.device, "--threads", str(args.threads),
                   "--layer", args.tap, "--weights", weights, "--input-file", xfile, "--seconds", str(args.seconds),
                   "--min-runs", "3", "--precision", prec]
            r = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"compare.py: the engine failed ({' '.join(cmd)}):\n{r.stderr.strip()}")
            eng = json.loads(r.stdout.strip().splitlines()[-1])
            print(json.dumps(dict(eng, runner="engine", precision=prec)), flush=True)
            row["engine"][prec] = eng
        for mode in args.modes:
            res = peer.measure(mode, x, convs, fcs, args.tap, args.seconds)
            res.update(runner="pytorch-" + torch.__version__, device=peer.device_name(dev, args.threads), threads=args.threads)
            print(json.dumps(res), flush=True)
            row[mode] = res
        rows.append(row)

    where = torch.cuda.get_device_name(dev) if args.device == "cuda" else f"{cpu_name()}, {args.threads} threads"
    print()
    print(f"{datetime.date.today()}, {where}; VGG16 random weights, 224x224, all four G2M maps at {args.tap}; "
          f"images/s from the median run; PyTorch {torch.__version__}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux; every peer run of this process
    head = "| batch | engine precision | engine images/s | engine p50 ms | engine peak RSS MB |"
    line = "|---|---|---|---|---|"
    for mode in args.modes:
        name = "PyTorch fused" if mode == "fused" else "PyTorch as G2M script"
        head += f" {name} images/s | {name} median ms | engine / {mode} |"
        line += "---|---|---|"
    print(head)
    print(line)
    for row in rows:
        for prec, eng in row["engine"].items():
            s = f"| {row['batch']} | {prec} | {eng['images_per_s']:.2f} | {eng['p50_ms']:.0f} | {eng['peak_rss_mb']:.0f} |"
            for mode in args.modes:
                s += f" {row[mode]['images_per_s']:.2f} | {row[mode]['median_ms']:.0f} | **{eng['images_per_s'] / row[mode]['images_per_s']:.2f}x** |"
            print(s)
    print(f"PyTorch peak RSS (this process, all its runs): {peak:.0f} MB")


if __name__ == "__main__":
    main()
