#!/usr/bin/env python3
"""Trains the demo network (demo_net.DemoVgg16) on pictures rendered on the fly by make_dataset.py,
then writes the BN-folded VGG16 state dict (torchvision names) for the engine's converter.

    /usr/bin/python3 tools/demo/train.py                 # ~16 min on 2 shared CPU cores
    java -jar cli/target/g2m-engine.jar convert tools/demo/build/demo_vgg16.pth \
        cli/src/main/resources/g2m/demo/model.safetensors --force

Every training picture is new (split 'train', index = sample number), so there are no epochs and
no over-fitting to a fixed set. Progressive resizing (--phases): most pictures at shorter side 160
(half the cost of 224; objects of 10-45 % of the picture still overlap the sizes seen at 224),
then 224. Per batch 80 % square, 10 % landscape, 10 % portrait (9:7, as 224x288), so fc6 also
sees pool5 grids other than 7x7. AdamW with warm-up and cosine decay. Deterministic: fixed seeds,
fixed thread counts, one data worker whose batches depend only on the batch number.

Prints the held-out accuracy during training, and at the end the accuracy of the exported (folded)
network on 500 fresh training pictures and on the held-out split.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import demo_net  # noqa: E402
import make_dataset as ds  # noqa: E402


PHASES = "160:24000,224:8000"   # shorter side : pictures (progressive resizing)


def phases(spec):
    """[(shorter side, number of pictures)] from "160:24000,224:8000"."""
    return [(int(s), int(n)) for s, n in (p.split(":") for p in spec.split(","))]


class Batches(torch.utils.data.Dataset):
    """Item b = batch b: `size` pictures of split 'train', indices b*size ... (b+1)*size - 1,
    rendered directly at the batch's size: shorter side from the schedule, 80 % square, 10 %
    landscape and 10 % portrait (long side = 9/7 of the short one, as 224 x 288)."""

    def __init__(self, schedule, size, seed, hide):
        self.sides = [s for s, n in schedule for _ in range(n)]
        self.size, self.seed, self.hide = size, seed, hide

    def __len__(self):
        return len(self.sides)

    def __getitem__(self, b):
        r = np.random.default_rng([self.seed, b])
        u, s = r.random(), self.sides[b]
        long = s * 9 // 7
        h, w = (s, long) if u < 0.1 else (long, s) if u < 0.2 else (s, s)
        xs, ys = [], []
        for i in range(b * self.size, (b + 1) * self.size):
            img, _, c = ds.render("train", i, h, w)
            if r.random() < 0.5:
                img = img[:, ::-1].copy()
            x = demo_net.preprocess(img)
            if self.hide > 0:
                # hide-and-seek (Singh & Lee, 2017): grey out random grid cells (one pool5 cell
                # wide), so the class must be found in every part of the object, not only its
                # most telling one; that makes the maps cover more of it
                cell = s // 7
                gh, gw = -(-h // cell), -(-w // cell)
                keep = torch.from_numpy(r.random((gh, gw)) >= self.hide).float()
                x = x * keep.repeat_interleave(cell, 0).repeat_interleave(cell, 1)[:h, :w]
            xs.append(x)
            ys.append(c)
        # channels-last: PyTorch's CPU convolutions run about twice as fast on these narrow layers
        return torch.stack(xs).contiguous(memory_format=torch.channels_last), torch.tensor(ys)


def worker_init(_):
    torch.set_num_threads(1)


def render_set(split, specs):
    xs, ys = [], []
    for index, h, w, cls in specs:
        img, _, c = ds.render(split, index, h, w, cls)
        xs.append(demo_net.preprocess(img))
        ys.append(c)
    return xs, torch.tensor(ys)


def accuracy(model, xs, ys):
    """Top-1 accuracy (%), pictures grouped by size."""
    model.eval()
    correct = 0
    with torch.no_grad():
        groups = {}
        for i, x in enumerate(xs):
            groups.setdefault(tuple(x.shape), []).append(i)
        for idx in groups.values():
            for k in range(0, len(idx), 64):
                part = idx[k:k + 64]
                z = model(torch.stack([xs[i] for i in part]))
                correct += (z.argmax(1) == ys[part]).sum().item()
    return 100.0 * correct / len(xs)


class Folded(torch.nn.Module):
    """The exported network (plain VGG16, no BN), to check the export."""

    def __init__(self, sd):
        super().__init__()
        self.sd = sd

    def forward(self, x):
        h, i = x, 0
        for n in demo_net.BLOCKS:
            for _ in range(n):
                k = demo_net.FEATURE_INDEX[i]
                h = F.relu(F.conv2d(h, self.sd["features.%d.weight" % k], self.sd["features.%d.bias" % k], padding=1))
                i += 1
            h = F.max_pool2d(h, 2, 2)
        h = torch.flatten(F.adaptive_avg_pool2d(h, (7, 7)), 1)
        h = F.relu(F.linear(h, self.sd["classifier.0.weight"], self.sd["classifier.0.bias"]))
        h = F.relu(F.linear(h, self.sd["classifier.3.weight"], self.sd["classifier.3.bias"]))
        return F.linear(h, self.sd["classifier.6.weight"], self.sd["classifier.6.bias"])


def main():
    ap = argparse.ArgumentParser(description="train the demo network")
    ap.add_argument("--phases", default=PHASES, help="shorter side:pictures,... (default %(default)s); all pictures distinct")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3, help="AdamW peak learning rate")
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--hide", type=float, default=0.0,
                    help="hide-and-seek: probability of hiding each grid cell (default 0; 0.25 was tried: worse, see RESULTS.md)")
    ap.add_argument("--out", default=os.path.join(ds.BUILD, "demo_vgg16.pth"))
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    model = demo_net.DemoVgg16().to(memory_format=torch.channels_last)
    params = sum(p.numel() for p in model.parameters())
    schedule = [(side, n // a.batch) for side, n in phases(a.phases)]
    steps = sum(n for _, n in schedule)
    samples = steps * a.batch
    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    other = [p for n, p in model.named_parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": other, "weight_decay": 0}], lr=a.lr)
    warm = min(100, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm))))
    loader = torch.utils.data.DataLoader(Batches(schedule, a.batch, a.seed, a.hide), batch_size=None, shuffle=False,
                                         num_workers=1, worker_init_fn=worker_init, prefetch_factor=4)
    val_x, val_y = render_set("heldout", ds.heldout_specs(300))
    print("torch %s, %d threads; %d parameters; %d steps of %d pictures: %s" % (
        torch.__version__, a.threads, params, steps, a.batch, a.phases), flush=True)
    t0 = time.time()
    run_loss = run_acc = 0.0
    for step, (x, y) in enumerate(loader):
        model.train()
        z = model(x)
        loss = F.cross_entropy(z, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run_loss = 0.98 * run_loss + 0.02 * loss.item() if step else loss.item()
        run_acc = 0.98 * run_acc + 0.02 * (z.argmax(1) == y).float().mean().item() * 100 if step else 0.0
        if (step + 1) % 50 == 0 or step + 1 == steps:
            print("step %5d/%d  %s  loss %.3f  train acc (running) %.1f%%  lr %.4f  %.0f s" % (
                step + 1, steps, "x".join(str(v) for v in x.shape[2:]), run_loss, run_acc,
                sched.get_last_lr()[0], time.time() - t0), flush=True)
        if (step + 1) % max(1, steps // 8) == 0 or step + 1 == steps:
            print("    held-out acc (300 pictures): %.2f%%" % accuracy(model, val_x, val_y), flush=True)
            torch.save(model.state_dict(), a.out + ".train-ckpt")

    sd = demo_net.torchvision_state_dict(model)
    model.eval()
    folded = Folded(sd)
    tr_x, tr_y = render_set("train", [(samples + i, 224, 224, None) for i in range(500)])
    ho_x, ho_y = render_set("heldout", ds.heldout_specs(500))
    with torch.no_grad():
        gap = max((folded(x[None]) - model(x[None])).abs().max().item() for x in ho_x[:20])
    print("BN folding: max |logit difference| on 20 pictures %.2e" % gap)
    assert gap < 1e-3
    print("final: train acc %.2f%% (500 unseen training-split pictures), held-out acc %.2f%% (500 pictures, "
          "make_dataset.py heldout)" % (accuracy(folded, tr_x, tr_y), accuracy(folded, ho_x, ho_y)), flush=True)
    torch.save(sd, a.out)
    print("wrote %s (%d bytes), %.0f s" % (a.out, os.path.getsize(a.out), time.time() - t0))


if __name__ == "__main__":
    main()
