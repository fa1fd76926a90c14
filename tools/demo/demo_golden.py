#!/usr/bin/env python3
"""PyTorch golden for the engine on the real demo model: two of the bundled sample pictures (one
square, one 224x288), their network inputs, logits, top-1 class and the four G2M maps at conv5_1.

    /usr/bin/python3 tools/demo/demo_golden.py     # (re)writes engine/src/test/resources/golden/demo_conv5_1.safetensors

Computed by tools/reference/g2m_reference.py (float64 from the float32 weights and input, maps as
the spec defines them, target = argmax), stored as F32. Tensor names per picture <stem>:
<stem>.input [1,3,H,W] (RGB, /255, ImageNet mean/std), <stem>.logits [1,10], <stem>.class [1],
<stem>.map.conv5_1.<method> [1,14,W/16]. A picture is used only if a float32 PyTorch run meets the
golden within 1e-5 (the reference's headroom rule; the Java tolerance is 1e-4): the first square
and the first non-square sample that pass, in file order.
"""
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools", "reference"))
sys.path.insert(0, os.path.join(REPO, "tools", "fixtures"))
sys.path.insert(0, HERE)
import g2m_reference as ref  # noqa: E402
import demo_net  # noqa: E402
from tiny_vgg import write_safetensors  # noqa: E402

DEMO = os.path.join(REPO, "cli", "src", "main", "resources", "g2m", "demo")
OUT = os.path.join(REPO, "engine", "src", "test", "resources", "golden", "demo_conv5_1.safetensors")
TAP = "conv5_1"


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    W32 = ref.read_safetensors(os.path.join(DEMO, "model.safetensors"))
    names = [line.split()[0] for line in open(os.path.join(DEMO, "val.txt")) if line.strip()]
    out = OrderedDict()
    chosen = {}
    for name in names:
        rgb = np.asarray(Image.open(os.path.join(DEMO, "images", name)).convert("RGB"))
        kind = "square" if rgb.shape[0] == rgb.shape[1] else "nonsquare"
        if kind in chosen or rgb.shape[:2] not in ((224, 224), (224, 288)):
            continue
        x32 = demo_net.preprocess(rgb)[None].contiguous()
        z, c, _ = ref.gradients(ref.to64(W32), x32.to(torch.float64))
        gap = ref.float32_gap(W32, x32, c, ref.G2M, [TAP])
        print("%s %dx%d: top-1 %d, float32 PyTorch vs float64 worst rel err %.2e" % (name, rgb.shape[0], rgb.shape[1], int(c[0]), gap))
        if gap > ref.F32_HEADROOM:
            continue
        t, _, _ = ref.map_case(W32, x32, None, ref.G2M, check_taps=[TAP])
        stem = os.path.splitext(name)[0]
        out[stem + ".input"] = x32
        out[stem + ".logits"] = t["logits"]
        out[stem + ".class"] = t["class"]
        for m in ref.G2M:
            out["%s.map.%s.%s" % (stem, TAP, m)] = t["map.%s.%s" % (TAP, m)]
        p = torch.softmax(t["logits"].double(), 1)[0]
        print("    softmax max %.4f (below 1: g2 is not a multiple of g1, the three unit maps differ)" % p.max().item())
        chosen[kind] = stem
        if len(chosen) == 2:
            break
    assert len(chosen) == 2, "no usable square / non-square sample: %s" % chosen
    for k, v in out.items():
        assert v.dtype == torch.float32 and torch.isfinite(v).all(), k
    md = ref.metadata("two bundled demo samples (%s): input, logits, class (argmax) and the four G2M maps at %s; "
                      "weights cli/src/main/resources/g2m/demo/model.safetensors" % (",".join(chosen.values()), TAP),
                      pictures=",".join(chosen.values()))
    md["generator"] = "tools/demo/demo_golden.py"
    write_safetensors(OUT, out, md)
    print("wrote %s (%d bytes, %d tensors)" % (os.path.relpath(OUT, REPO), os.path.getsize(OUT), len(out)))


if __name__ == "__main__":
    main()
