#!/usr/bin/env python3
"""The PyTorch peer for throughput comparisons: the same computation as the engine, in PyTorch.

Full-size VGG16 (seeded random weights, no download), 224x224 inputs, maps at one tap, two ways:
  fused      one forward, two backward passes (g1 and g2), all four G2M maps from them;
  reference  as the original G2M script does it: a fresh forward and backward per method
             (LayerCAM, SGL-G1: backward of z_c; SGL-G2: backward of the weighted-CE seed;
              DGL: both) = 4 forwards, 5 backwards per image.
Prints one JSON line per (mode, batch): images/s, maps/s (4 maps per image) and ms per batch.

Run with Debian's python3-torch:  /usr/bin/python3 tools/bench/pytorch_peer.py --threads 2 --batch 1 8
On a GPU host (the CUDA backend's peer, see benchmarks/gpu-run.sh):
    python3 tools/bench/pytorch_peer.py --device cuda --precision fp32 --batch 1 64 --modes fused
--precision fp32 turns TF32 off in cuDNN and cuBLAS (the engine's default); tf32 turns it on.
Side by side with the engine (same weights, same inputs, ratios): tools/bench/compare.py
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

CFG = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M']
TAPS = ["conv1_1", "conv1_2", "pool1", "conv2_1", "conv2_2", "pool2", "conv3_1", "conv3_2", "conv3_3", "pool3",
        "conv4_1", "conv4_2", "conv4_3", "pool4", "conv5_1", "conv5_2", "conv5_3", "pool5"]


def weights(seed=0, device="cpu"):
    """Parameters require grad, as an nn.Module's do; autograd.grad(z, a) still stops at the tap.
    Drawn on the CPU (same values on every device), then moved."""
    g = torch.Generator().manual_seed(seed)

    def param(t):
        return t.to(device).requires_grad_()

    convs, cin = [], 3
    for v in CFG:
        if v == 'M':
            continue
        convs.append((param(torch.randn(v, cin, 3, 3, generator=g) * (2.0 / (cin * 9)) ** 0.5), param(torch.zeros(v))))
        cin = v
    fcs, fin = [], 512 * 49
    for o in (4096, 4096, 1000):
        fcs.append((param(torch.randn(o, fin, generator=g) * (2.0 / fin) ** 0.5), param(torch.zeros(o))))
        fin = o
    return convs, fcs


def forward(x, convs, fcs, tap):
    ci, k, a = 0, 0, None
    for v in CFG:
        if v == 'M':
            x = F.max_pool2d(x, 2, 2)
        else:
            x = F.relu(F.conv2d(x, convs[ci][0], convs[ci][1], padding=1))
            ci += 1
        if TAPS[k] == tap:
            a = x
        k += 1
    x = F.adaptive_avg_pool2d(x, (7, 7)).flatten(1)
    x = F.relu(F.linear(x, *fcs[0]))
    x = F.relu(F.linear(x, *fcs[1]))
    return F.linear(x, *fcs[2]), a


def unit(t):
    n = t.flatten(1).norm(dim=1).clamp_min(1e-30).view(-1, 1, 1, 1)
    return t / n


def maps(a, g1, g2):
    ua, u1, u2 = unit(a), unit(g1), unit(g2)
    return [F.relu((F.relu(g1) * a).sum(1)), ((ua + u1) * u1).sum(1), (-u2 * (ua - u2)).sum(1), (u1 * (ua - u2)).sum(1)]


def seeds(z):
    c = z.argmax(1)
    onehot = F.one_hot(c, z.shape[1]).to(z.dtype)
    return onehot, torch.softmax(z.detach(), 1) - 10 * onehot


def fused(x, convs, fcs, tap):
    z, a = forward(x, convs, fcs, tap)
    e, s = seeds(z)
    g1, = torch.autograd.grad(z, a, e, retain_graph=True)
    g2, = torch.autograd.grad(z, a, s)
    return maps(a.detach(), g1, g2)


def reference(x, convs, fcs, tap):
    out = []
    for method in range(4):
        z, a = forward(x, convs, fcs, tap)
        e, s = seeds(z)
        if method in (0, 1):
            g1, = torch.autograd.grad(z, a, e)
            g2 = g1
        elif method == 2:
            g2, = torch.autograd.grad(z, a, s)
            g1 = g2
        else:
            g1, = torch.autograd.grad(z, a, e, retain_graph=True)
            g2, = torch.autograd.grad(z, a, s)
        out.append(maps(a.detach(), g1, g2)[method])
    return out


def set_precision(device, precision):
    """fp32: TF32 off in cuDNN and cuBLAS (the engine's default); tf32: on. No effect on the CPU."""
    if device.type == "cuda":
        torch.backends.cudnn.allow_tf32 = precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"


def measure(mode, x, convs, fcs, tap, seconds):
    """Median time of one batch over repeated runs after two warm-ups (cuDNN algorithm choice, the
    allocator); on a GPU every run is synchronized."""
    fn = fused if mode == "fused" else reference
    sync = (lambda: torch.cuda.synchronize(x.device)) if x.is_cuda else (lambda: None)
    fn(x, convs, fcs, tap)
    fn(x, convs, fcs, tap)
    sync()
    times = []
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(times) < 3:
        t0 = time.perf_counter()
        maps = fn(x, convs, fcs, tap)
        sync()
        times.append(time.perf_counter() - t0)
    del maps
    times.sort()
    med = times[len(times) // 2]
    b = x.shape[0]
    return {"mode": mode, "tap": tap, "batch": b, "runs": len(times), "median_ms": round(med * 1e3, 2),
            "images_per_s": round(b / med, 2), "maps_per_s": round(4 * b / med, 2)}


def device_name(dev, threads):
    return torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu, %d threads" % threads


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    p.add_argument("--tap", default="conv5_1")
    p.add_argument("--modes", nargs="+", default=["fused", "reference"])
    p.add_argument("--seconds", type=float, default=20.0, help="time budget per (mode, batch)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--precision", default="fp32", choices=["fp32", "tf32"], help="cuda: TF32 off (fp32) or on")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    set_precision(dev, args.precision)
    convs, fcs = weights(device=dev)
    for mode in args.modes:
        for b in args.batch:
            x = torch.randn(b, 3, 224, 224, generator=torch.Generator().manual_seed(1)).to(dev)
            res = measure(mode, x, convs, fcs, args.tap, args.seconds)
            res.update(peer="pytorch-" + torch.__version__, device=device_name(dev, args.threads), threads=args.threads,
                       precision=args.precision if dev.type == "cuda" else "fp32")
            print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
