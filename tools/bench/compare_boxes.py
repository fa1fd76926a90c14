#!/usr/bin/env python3
"""How much a second eval run's boxes differ from a first's (e.g. --precision bf16 against fp32).

usage: tools/bench/compare_boxes.py EVAL_DIR_A EVAL_DIR_B
Both folders from `g2m-engine eval ... --save-boxes`. Prints, per (layer, method) and overall,
the fraction of boxes that are identical (same four corners) and within 2 pixels, the mean |IoU_B - IoU_A| and the
GT-known loc of each run (from results.csv) with its change.
"""
import csv
import os
import sys
from collections import defaultdict


def boxes(d):
    with open(os.path.join(d, "boxes.csv")) as f:
        return {(r["image"], r["layer"], r["method"]): r for r in csv.DictReader(f)}


def results(d):
    with open(os.path.join(d, "results.csv")) as f:
        return {(r["layer"], r["method"]): float(r["gt_known_loc"]) for r in csv.DictReader(f)}


def main(a, b):
    ba, bb = boxes(a), boxes(b)
    if ba.keys() != bb.keys():
        sys.exit("the two runs hold different (picture, layer, method) boxes")
    same, near, diou, count = defaultdict(int), defaultdict(int), defaultdict(float), defaultdict(int)
    for k, ra in ba.items():
        rb = bb[k]
        g = (k[1], k[2])
        count[g] += 1
        same[g] += all(ra[c] == rb[c] for c in ("x1", "y1", "x2", "y2"))
        near[g] += all(abs(int(ra[c]) - int(rb[c])) <= 2 for c in ("x1", "y1", "x2", "y2"))
        diou[g] += abs(float(rb["iou"]) - float(ra["iou"]))
    la, lb = results(a), results(b)
    print("| layer | method | boxes | identical | corners within 2 px | mean abs IoU change | GT-known loc A | GT-known loc B | change |")
    print("|---|---|---|---|---|---|---|---|---|")
    for g in sorted(count):
        print(f"| {g[0]} | {g[1]} | {count[g]} | {same[g] / count[g]:.1%} | {near[g] / count[g]:.1%} | {diou[g] / count[g]:.4f} | "
              f"{la[g]:.2f} | {lb[g]:.2f} | {lb[g] - la[g]:+.2f} |")
    n = sum(count.values())
    print(f"| all | all | {n} | {sum(same.values()) / n:.1%} | {sum(near.values()) / n:.1%} | {sum(diou.values()) / n:.4f} | | | |")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
