#!/usr/bin/env python3
"""The GPU round trip's result table (benchmarks/gpu-run.sh device): check_kernels' verdict (the
last line of check_kernels.log), test counts from junit.xml
(and whether the GPU tests were skipped, with the reason), then engine vs PyTorch fused maps/s
per precision and batch from bench.jsonl (the engine's bench lines) and peer.jsonl
(tools/bench/pytorch_peer.py lines). Markdown on stdout.

    python3 tools/bench/gpu_summary.py OUT_DIR [JUNIT_LAUNCHER_EXIT_CODE]
"""
import json
import os
import re
import sys

out = sys.argv[1]
rc = sys.argv[2] if len(sys.argv) > 2 else "?"


def rows(name):
    p = os.path.join(out, name)
    if not os.path.exists(p):
        return []
    return [json.loads(line) for line in open(p) if line.strip().startswith("{")]


eng, peer = rows("bench.jsonl"), rows("peer.jsonl")
ck = os.path.join(out, "check_kernels.log")
verdicts = [l.strip() for l in open(ck, encoding="utf-8", errors="replace")] if os.path.exists(ck) else []
verdicts = [l for l in verdicts if l.startswith("check_kernels: ") and ("checks" in l or "no usable GPU" in l or "failed:" in l)]
print(verdicts[-1] if verdicts else "check_kernels: no verdict (see check_kernels.log)")
junit = os.path.join(out, "junit.xml")
if os.path.exists(junit):
    x = open(junit, encoding="utf-8").read()
    m = re.search(r'<testsuite [^>]*tests="(\d+)" skipped="(\d+)" failures="(\d+)" errors="(\d+)"', x)
    gpu_skips = re.findall(r"GPU test skipped: ([^\]]*)\]\]", x)
    tests, skipped, failed = int(m.group(1)), int(m.group(2)), int(m.group(3)) + int(m.group(4))
    print("tests (g2m.backend.cuda): %d run, %d failed, %d skipped (launcher exit %s)" % (tests - skipped, failed, skipped, rc))
    if gpu_skips:
        print("NO GPU TEST RAN: %d skipped because: %s" % (len(gpu_skips), gpu_skips[0]))
else:
    print("tests: no junit.xml (launcher exit %s), see tests.log" % rc)
print()
print("| precision | batch | engine maps/s | engine p50 ms | PyTorch fused maps/s | PyTorch median ms | engine / PyTorch |")
print("|---|---|---|---|---|---|---|")
for e in eng:
    prec = e["device"].rsplit(", ", 1)[-1]
    q = [r for r in peer if r["batch"] == e["batch"] and r["precision"] == prec]
    pm = q[0]["maps_per_s"] if q else None
    print("| %s | %d | %.1f | %.2f | %s | %s | %s |" % (prec, e["batch"], e["maps_per_s"], e["p50_ms"],
          "%.1f" % pm if pm else "-", "%.2f" % q[0]["median_ms"] if q else "-", "%.2fx" % (e["maps_per_s"] / pm) if pm else "-"))
if eng:
    print()
    print("engine: " + eng[0]["device"])
if peer:
    print("peer: %s on %s" % (peer[0]["peer"], peer[0]["device"]))
