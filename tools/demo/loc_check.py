#!/usr/bin/env python3
"""Localization numbers of the demo network, in PyTorch (the cross-check for the engine's own
WSOL evaluation of the bundled samples).

    /usr/bin/python3 tools/demo/make_dataset.py heldout --n 500
    /usr/bin/python3 tools/demo/loc_check.py --md tools/demo/RESULTS.md

Reads a set in the layout make_dataset.py writes (images/, boxes/*.xml, val.txt) and the network
as shipped (the engine's safetensors, read and run by tools/reference/g2m_reference.py, in float32
like the engine; maps as the spec defines them, for the GROUND-TRUTH class). Two protocols:

  single   the picture as the maps CLI sees it (shorter side 224: not resampled), one pass; each
           map upsampled to the picture's size (bilinear, align corners), then the protocol's steps
           4-7: clamp at 0, / (max + 1e-8), x255 uint8; GrabCut for taps of 56x56 and finer;
           threshold 0.15*255, largest contour box; IoU (+1 convention) >= 0.5.
  tencrop  the spec's layercam_loc protocol (resize 256x256, ten 224 crops, summed logits, summed
           canvases), with the step functions of tools/reference/eval_reference.py.

GT-known loc = IoU >= 0.5; Top-1 loc = GT-known and top-1 class correct. Baselines (no network):
the whole picture as the box, and a centred box covering a fraction f of the picture's width and
height, with f tuned on this very set (an optimistic baseline).
"""
import argparse
import os
import re
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools", "reference"))
sys.path.insert(0, HERE)
import eval_reference as ev  # noqa: E402
import g2m_reference as ref  # noqa: E402
import demo_net  # noqa: E402

MODEL = os.path.join(REPO, "cli", "src", "main", "resources", "g2m", "demo", "model.safetensors")
TAPS = ["conv5_3", "conv5_1", "pool4", "conv4_3", "conv3_3"]
METHODS = ["layercam", "sgl-g1", "sgl-g2", "dgl"]
SHALLOW = {"conv1_1", "conv1_2", "pool1", "conv2_1", "conv2_2", "pool2", "conv3_1", "conv3_2", "conv3_3"}


def read_set(folder, limit=None):
    items = []
    with open(os.path.join(folder, "val.txt")) as f:
        for line in f:
            if not line.strip():
                continue
            name, cls = line.split()
            stem = os.path.splitext(name)[0]
            xml = open(os.path.join(folder, "boxes", stem + ".xml")).read()
            boxes = [[int(re.search("<%s>(\\d+)</%s>" % (k, k), o).group(1)) for k in ("xmin", "ymin", "xmax", "ymax")]
                     for o in re.findall("<bndbox>(.*?)</bndbox>", xml, re.S)]
            items.append((os.path.join(folder, "images", name), int(cls), boxes))
    return items[:limit] if limit else items


def tap_gradients(W, x, cls):
    """(logits, {tap: (A, g1, g2)}) for a batch x [N,3,H,W] and target classes [N]."""
    x = x.detach().clone().requires_grad_(True)   # the weights are plain tensors: the graph starts here
    z, taps = ref.forward(W, x)
    e = F.one_hot(torch.as_tensor(cls), z.shape[1]).to(z.dtype)
    acts = [taps[t] for t in TAPS]
    g1 = torch.autograd.grad(z, acts, grad_outputs=e, retain_graph=True)
    s = torch.softmax(z, 1).detach() - 10.0 * e
    g2 = torch.autograd.grad(z, acts, grad_outputs=s)
    return z.detach(), {t: (a.detach(), p, q) for t, a, p, q in zip(TAPS, acts, g1, g2)}


def maps_of(W, x, cls):
    z, t = tap_gradients(W, x, cls)
    return z, {(tap, m): ref.compute_map(m, *t[tap]).float().numpy() for tap in TAPS for m in METHODS}


def box_of(heat8, rgb, tap):
    if tap in SHALLOW:
        heat8 = ev.grabcut(rgb, heat8)
    return ev.layercam_box(heat8)[1]


def best_iou(gts, box):
    return max(ev.bb_iou(g, box)[0] for g in gts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", default=os.path.join(HERE, "build", "heldout"))
    ap.add_argument("--model", default=MODEL)
    ap.add_argument("--limit", type=int, default=None, help="first N pictures only")
    ap.add_argument("--protocols", default="single,tencrop")
    ap.add_argument("--md", default=None, help="write the tables (markdown) here")
    ap.add_argument("--per-image", default=None, metavar="TAP", help="also list every picture's box and IoU per method at TAP")
    a = ap.parse_args()
    torch.set_num_threads(2)
    cv2.setNumThreads(1)
    W = ref.read_safetensors(a.model)
    items = read_set(a.set, a.limit)
    protocols = a.protocols.split(",")
    hits = {p: {(t, m): [0, 0] for t in TAPS for m in METHODS} for p in protocols}   # [gt-known, top-1 loc]
    miou = {p: {(t, m): 0.0 for t in TAPS for m in METHODS} for p in protocols}
    cls_ok = {p: 0 for p in protocols}
    per_image = []
    fracs = np.round(np.arange(0.30, 1.001, 0.05), 2)
    base_full, base_centre = 0, np.zeros(len(fracs))
    t0 = time.time()
    for n, (path, label, gts) in enumerate(items):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        H, Wd = rgb.shape[:2]
        base_full += best_iou(gts, [0, 0, Wd - 1, H - 1]) >= 0.5
        for k, f in enumerate(fracs):
            bw, bh = int(round(f * Wd)), int(round(f * H))
            x0, y0 = (Wd - bw) // 2, (H - bh) // 2
            base_centre[k] += best_iou(gts, [x0, y0, x0 + bw - 1, y0 + bh - 1]) >= 0.5
        if "single" in protocols:
            assert min(H, Wd) == 224, "single protocol expects pictures with shorter side 224: " + path
            x = demo_net.preprocess(rgb)[None]
            z, mp = maps_of(W, x, [label])
            ok = int(z[0].argmax()) == label
            cls_ok["single"] += ok
            for (tap, m), mm in mp.items():
                up = ev.upsample(mm, H, Wd)[0]
                box = box_of(ev.heat(up.copy(), Wd, H), rgb, tap)
                iou = best_iou(gts, box)
                if tap == a.per_image:
                    per_image.append((os.path.basename(path), "single", label, int(z[0].argmax()), m, box, iou))
                miou["single"][(tap, m)] += iou
                if iou >= 0.5:
                    hits["single"][(tap, m)][0] += 1
                    hits["single"][(tap, m)][1] += ok
        if "tencrop" in protocols:
            r256 = np.asarray(Image.fromarray(rgb).resize((ev.RESIZE, ev.RESIZE), Image.BILINEAR))
            x = torch.stack([demo_net.preprocess(np.ascontiguousarray(c)) for c in ev.ten_crop(r256)])
            z, mp = maps_of(W, x, [label] * 10)
            ok = int(z.sum(0).argmax()) == label
            cls_ok["tencrop"] += ok
            for (tap, m), mm in mp.items():
                box = box_of(ev.heat(ev.canvas(mm), Wd, H), rgb, tap)
                iou = best_iou(gts, box)
                if tap == a.per_image:
                    per_image.append((os.path.basename(path), "tencrop", label, int(z.sum(0).argmax()), m, box, iou))
                miou["tencrop"][(tap, m)] += iou
                if iou >= 0.5:
                    hits["tencrop"][(tap, m)][0] += 1
                    hits["tencrop"][(tap, m)][1] += ok
        if (n + 1) % 50 == 0:
            print("%d/%d pictures, %.0f s" % (n + 1, len(items), time.time() - t0), flush=True)

    N = len(items)
    pc = lambda c: ev.percent(int(c), N)  # noqa: E731
    lines = []
    lines.append("%d pictures from `%s`; model `%s`; %s." % (
        N, os.path.relpath(a.set, REPO), os.path.relpath(a.model, REPO), "torch " + torch.__version__))
    lines.append("")
    lines.append("Baselines (no network): whole picture as the box: GT-known loc %s %%; centred box of the best "
                 "fixed fraction (f = %.2f of width and height, tuned on this set): %s %%." % (
                     pc(base_full), fracs[int(base_centre.argmax())], pc(base_centre.max())))
    for p in protocols:
        lines.append("")
        lines.append("**%s** protocol: Top-1 cls %s %%" % (p, pc(cls_ok[p])))
        lines.append("")
        lines.append("| tap | method | Top-1 loc % | GT-known loc % | mean IoU |")
        lines.append("|---|---|---|---|---|")
        for t in TAPS:
            for m in METHODS:
                g, l1 = hits[p][(t, m)]
                lines.append("| %s | %s | %s | %s | %.3f |" % (t, m, pc(l1), pc(g), miou[p][(t, m)] / N))
    if per_image:
        lines.append("")
        lines.append("Per picture at %s (box = [x0, y0, x1, y1] as layercam_loc's large_rect returns it: x1 = x + w):" % a.per_image)
        lines.append("")
        lines.append("| picture | protocol | label | top-1 | method | box | IoU |")
        lines.append("|---|---|---|---|---|---|---|")
        for name, p, label, top1, m, box, iou in per_image:
            lines.append("| %s | %s | %d | %d | %s | %s | %.4f |" % (name, p, label, top1, m, box, iou))
    text = "\n".join(lines) + "\n"
    print(text)
    print("%.0f s" % (time.time() - t0))
    if a.md:
        with open(a.md, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
