"""Independent PyTorch reference for the G2M engine: writes the golden files of its parity tests.

Run with Debian's Python, which has torch 1.13 (the default python3 has none):

    /usr/bin/python3 tools/reference/g2m_reference.py

It (re)writes, into engine/src/test/resources/golden/ (see tools/reference/README.md):

  maps_square224.safetensors   x [2,3,224,224], all 18 taps x all 8 methods, target = argmax
  maps_nonsquare.safetensors   x [1,3,192,256] (pool5 6x8), all 18 taps x the 4 G2M methods
  maps_small.safetensors       x [2,3,40,52] (pool5 1x1), classes [3, 7] given, 18 taps x 8
  maps_dead.safetensors        x [2,3,48,64] with conv5_2 killed by weight overrides, 18 x 8
  preprocess.safetensors       PyTorch- and Caffe-style inputs of image_224x256.png + maps
  image_224x256.png            the synthetic RGB image (formula in `synthetic_image`)
  ops.safetensors              op-level goldens (adaptive pool, max pool, conv, relu, fc,
                               softmax, backward seeds)
  maps_layercam_loc.safetensors  maps_small's input and classes, the 8 methods at conv1_2,
                               conv2_2, conv3_3, conv4_3, conv5_3 with layercam_loc's gradient
                               source (hooks on the ReLU and the next pool, the pool's gradient
                               upsampled with align-corners; see layercam_loc_gradients)

Everything is computed in float64 from float32-representable inputs and stored as F32.
The network weights are the tiny VGG16-topology fixture
weights-converter/src/test/resources/fixtures/tiny_vgg16_expected.safetensors (engine names).

The math follows the G2M method's specification (restated in README.md, "The maps") and
engine/src/main/java/g2m/maps/MapMethod.java:
VGG16 forward (no dropout), conv taps after ReLU, pool taps = max-pool outputs, g1 from the
one-hot seed e_c, g2 from s = softmax(z).detach() - 10 e_c, each by its own backward pass,
then the eight maps with unit(0) = 0.

Input selection (why the seeds are not round numbers): the tiny fixture network has
activations up to ~1e10 and logits ~1e12, and a float32 engine differs from this float64
reference by ~1e-7 (relative to the sum of absolute terms) in every pre-activation. A ReLU or
max-pool decision that close to a tie flips in float32 and moves a map by ~1e-2, and some maps
(Grad-CAM family) are the small positive residue of a cancelling channel sum. So every input
must pass a filter (`well_conditioned`):
  1. tie margin: every ReLU pre-activation p has |p| >= margin * (|W|*|x| + |b|); every
     max-pool window with a positive max has (max - best other) >= margin * (cond + cond),
     exact ties allowed only between bias-only values (receptive field all zero); fc6/fc7
     ReLUs likewise; for argmax targets the top two logits are that far apart
     (margin = TIE_MARGIN = 2e-6 for random inputs, 1e-6 for the synthetic image);
  2. map conditioning: noise of 3e-6 x RMS on the nonzero elements of A, g1, g2 changes no
     map of any image by more than 20 x 3e-6 relative (`map_condition`).
Random inputs are randn(seed) with the seed advanced from a fixed base until it passes; the
image has an integer knob k. Seeds and k are stored in the files' metadata. Finally a float32
PyTorch run of every case must match the goldens per image within 1e-5 (10x inside the Java
tolerance 1e-4).

Deterministic and idempotent: fixed seeds, one CPU thread, no timestamps; running it twice
gives byte-identical files.
"""
import json
import os
import struct
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools", "fixtures"))
from tiny_vgg import write_safetensors  # noqa: E402

WEIGHTS = os.path.join(REPO, "weights-converter", "src", "test", "resources", "fixtures",
                       "tiny_vgg16_expected.safetensors")
OUT = os.path.join(REPO, "engine", "src", "test", "resources", "golden")

BLOCKS = [["conv1_1", "conv1_2"], ["conv2_1", "conv2_2"], ["conv3_1", "conv3_2", "conv3_3"],
          ["conv4_1", "conv4_2", "conv4_3"], ["conv5_1", "conv5_2", "conv5_3"]]
TAPS = ["conv1_1", "conv1_2", "pool1", "conv2_1", "conv2_2", "pool2", "conv3_1", "conv3_2",
        "conv3_3", "pool3", "conv4_1", "conv4_2", "conv4_3", "pool4", "conv5_1", "conv5_2",
        "conv5_3", "pool5"]
METHODS = ["layercam", "sgl-g1", "sgl-g2", "dgl", "gradcam", "gradcam++", "xgradcam", "hirescam"]
G2M = METHODS[:4]

TIE_MARGIN = 2e-6          # random inputs (seed search is cheap)
TIE_MARGIN_IMAGE = 1e-6    # the fixed synthetic image (search over one integer knob)
JAVA_TOL = 1e-4            # the Java tests' relative tolerance ||out - ref|| / ||ref||
F32_HEADROOM = 1e-5        # inputs are chosen so float32 PyTorch is 10x inside JAVA_TOL
NOISE_EPS = 3e-6           # map-conditioning probe: ~10x the float32 error measured at the taps
NOISE_DRAWS = 3
MAX_CONDITION = 20.0       # so a float32 engine's map error stays ~20 x 3e-7 = 6e-6

PYTORCH_MEAN = (0.485, 0.456, 0.406)
PYTORCH_STD = (0.229, 0.224, 0.225)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

F64 = torch.float64


# ----------------------------------------------------------------------------------------------
# safetensors reader (plain struct + json; the writer is tiny_vgg.write_safetensors)

def read_safetensors(path):
    """OrderedDict name -> tensor for F32/F64/F16/BF16 safetensors files."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = OrderedDict()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = data[base + a:base + b]
        dt = info["dtype"]
        if dt == "F32":
            arr = np.frombuffer(raw, dtype="<f4").copy()
            t = torch.from_numpy(arr)
        elif dt == "F64":
            t = torch.from_numpy(np.frombuffer(raw, dtype="<f8").copy())
        elif dt == "F16":
            t = torch.from_numpy(np.frombuffer(raw, dtype="<f2").copy())
        elif dt == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            t = torch.from_numpy(bits.view(np.float32).copy()).to(torch.bfloat16)
        else:
            raise ValueError("unsupported dtype %s for %s" % (dt, name))
        out[name] = t.reshape(info["shape"])
    return out


# ----------------------------------------------------------------------------------------------
# the network

def forward(W, x):
    """VGG16 forward. Returns logits z [N,K] and OrderedDict tap -> activation (in the graph)."""
    taps = OrderedDict()
    h = x
    for bi, block in enumerate(BLOCKS):
        for name in block:
            h = F.conv2d(h, W[name + ".weight"], W[name + ".bias"], padding=1)
            h = F.relu(h)
            taps[name] = h
        h = F.max_pool2d(h, kernel_size=2, stride=2)
        taps["pool%d" % (bi + 1)] = h
    h = F.adaptive_avg_pool2d(h, (7, 7))
    h = torch.flatten(h, 1)
    h = F.relu(F.linear(h, W["fc6.weight"], W["fc6.bias"]))
    h = F.relu(F.linear(h, W["fc7.weight"], W["fc7.bias"]))
    z = F.linear(h, W["fc8.weight"], W["fc8.bias"])
    return z, taps


def gradients(W, x, cls=None):
    """Forward + two backward passes. Returns z, class, taps {name: (A, g1, g2)} (detached)."""
    x = x.detach().clone().requires_grad_(True)
    z, taps = forward(W, x)
    c = z.argmax(dim=1) if cls is None else torch.as_tensor(cls, dtype=torch.long)
    e = F.one_hot(c, z.shape[1]).to(z.dtype)
    names = list(taps.keys())
    acts = [taps[n] for n in names]
    # g1: back-propagate e_c
    g1 = torch.autograd.grad(z, acts, grad_outputs=e, retain_graph=True)
    # g2: back-propagate s = softmax(z) - 10 e_c, softmax treated as a constant
    p = torch.softmax(z, dim=1).detach()
    s = p - 10.0 * e
    g2 = torch.autograd.grad(z, acts, grad_outputs=s, retain_graph=True)
    # sanity: g2 == J^T softmax - 10 g1 (linearity of the backward in the seed)
    gp = torch.autograd.grad(z, acts, grad_outputs=p, retain_graph=False)
    tol = 1e-10 if z.dtype == F64 else 1e-5
    for n, a1, a2, ap in zip(names, g1, g2, gp):
        ref = ap - 10.0 * a1
        den = max(a2.norm().item(), ref.norm().item())
        if den > 0:
            assert (a2 - ref).norm().item() <= tol * den, "g2 linearity check failed at " + n
    out = OrderedDict((n, (a.detach(), b, d)) for n, a, b, d in zip(names, acts, g1, g2))
    return z.detach(), c, out


# ----------------------------------------------------------------------------------------------
# layercam_loc's gradient source (PengtaoJiang/layercam_loc, scripts/test.py + models/vgg/vgg.py,
# read, not copied): the network is an nn.Sequential `features` (conv, ReLU, ..., max-pool) and
# `forward_cam(x, target_layers)` registers a gradient hook on the output of every module whose
# index is in target_layers. For a conv tap it names the ReLU AND the max-pool after it, e.g.
# [29, 30] for relu5_3, and takes `model.gradients[0]`: the first gradient to arrive in the
# backward pass, which is the later module's (the pool's), then F.interpolate(..., bilinear,
# align_corners=True) to the tap's size. Here the same thing is done with real modules and real
# hooks, one forward and backward per (tap, seed) as layercam_loc runs one configuration at a time.

LAYERCAM_LOC_TARGETS = OrderedDict([("conv1_2", (3, 4)), ("conv2_2", (8, 9)), ("conv3_3", (15, 16)),
                                    ("conv4_3", (22, 23)), ("conv5_3", (29, 30))])


def layercam_loc_features(W):
    """VGG16 `features` as layercam_loc's make_layers(cfg['D']) builds it (module indices 0..30),
    holding the weights W (their dtype)."""
    mods = []
    for block in BLOCKS:
        for name in block:
            w = W[name + ".weight"]
            conv = torch.nn.Conv2d(w.shape[1], w.shape[0], kernel_size=3, padding=1).to(w.dtype)
            with torch.no_grad():
                conv.weight.copy_(w)
                conv.bias.copy_(W[name + ".bias"])
            mods += [conv, torch.nn.ReLU()]
        mods.append(torch.nn.MaxPool2d(kernel_size=2, stride=2))
    assert len(mods) == 31 and isinstance(mods[30], torch.nn.MaxPool2d) and isinstance(mods[29], torch.nn.ReLU)
    for tap, (relu, pool) in LAYERCAM_LOC_TARGETS.items():
        assert isinstance(mods[relu], torch.nn.ReLU) and isinstance(mods[pool], torch.nn.MaxPool2d), tap
    return torch.nn.Sequential(*mods)


def layercam_loc_forward_cam(features, W, x, target_layers, saved):
    """layercam_loc's forward_cam: hooks on the outputs of the target modules (gradients appended
    to `saved` as they arrive), those outputs returned; then the classifier (the spec's adaptive
    pool to 7x7 first, the identity for 224x224 inputs, which layercam_loc's view() assumes)."""
    outputs = []
    h = x
    for i, module in enumerate(features):
        h = module(h)
        if i in target_layers:
            h.register_hook(saved.append)
            outputs.append(h)
    h = torch.flatten(F.adaptive_avg_pool2d(h, (7, 7)), 1)
    h = F.relu(F.linear(h, W["fc6.weight"], W["fc6.bias"]))
    h = F.relu(F.linear(h, W["fc7.weight"], W["fc7.bias"]))
    return outputs, F.linear(h, W["fc8.weight"], W["fc8.bias"])


def layercam_loc_gradients(W, x, cls=None):
    """z, class and {tap: (A, g1, g2)} at the five taps the layercam_loc way: A = the ReLU output,
    g1 / g2 = the first hooked gradient (the following pool's) for the seeds e_c / softmax - 10 e_c,
    upsampled bilinearly with align_corners=True to A's size."""
    features = layercam_loc_features(W)
    with torch.no_grad():
        _, z = layercam_loc_forward_cam(features, W, x, (), [])
    c = z.argmax(dim=1) if cls is None else torch.as_tensor(cls, dtype=torch.long)
    e = F.one_hot(c, z.shape[1]).to(z.dtype)
    s = torch.softmax(z, dim=1) - 10.0 * e
    out = OrderedDict()
    for tap, targets in LAYERCAM_LOC_TARGETS.items():
        grads = []
        for seed in (e, s):
            saved = []
            outputs, logits = layercam_loc_forward_cam(features, W, x.detach(), targets, saved)
            features.zero_grad()
            logits.backward(gradient=seed)
            A = outputs[0].detach()
            first = saved[0]
            assert len(saved) == 2 and first.shape[2] == A.shape[2] // 2 and first.shape[3] == A.shape[3] // 2, tap
            grads.append(F.interpolate(first, size=(A.shape[2], A.shape[3]), mode="bilinear", align_corners=True).detach())
        out[tap] = (A, grads[0], grads[1])
    return z.detach(), c, out


def tie_margin(W, x, cls=None):
    """Smallest relative distance of any forward decision (ReLU sign, max-pool winner, argmax
    class) from a tie; relative to the sum of absolute terms (float64, x [N,3,H,W]).
    An exact max-pool tie is allowed only between values that every implementation computes
    exactly: conv outputs whose whole receptive field is zero (value = bias)."""
    worst = float("inf")
    h = x
    for block in BLOCKS:
        for name in block:
            w, b = W[name + ".weight"], W[name + ".bias"]
            p = F.conv2d(h, w, b, padding=1)
            terms = F.conv2d(h.abs(), w.abs(), None, padding=1)
            cond = terms + b.abs().view(1, -1, 1, 1)
            worst = min(worst, (p.abs() / cond).min().item())
            h = F.relu(p)
        H2, W2 = h.shape[2] // 2 * 2, h.shape[3] // 2 * 2

        def windows(t):
            t = t[:, :, :H2, :W2].unfold(2, 2, 2).unfold(3, 2, 2)
            return t.reshape(t.shape[0], t.shape[1], t.shape[2], t.shape[3], 4)
        v, k, exact = windows(h), windows(cond), windows(terms == 0)
        top = v.max(dim=-1, keepdim=True).values
        tied = v == top
        live = top[..., 0] > 0
        unsafe_tie = (tied.sum(-1) > 1) & (tied & ~exact).any(-1)
        if (live & unsafe_tie).any():
            return 0.0
        rest = torch.where(tied, torch.full_like(v, -float("inf")), v)
        second, where = rest.max(dim=-1)
        k_top = torch.where(tied, k, torch.zeros_like(k)).max(dim=-1).values
        ok = live & torch.isfinite(second)
        if ok.any():
            gap = (top[..., 0] - second) / (k_top + k.gather(-1, where[..., None])[..., 0])
            worst = min(worst, gap[ok].min().item())
        h = F.max_pool2d(h, 2, 2)
    h = torch.flatten(F.adaptive_avg_pool2d(h, (7, 7)), 1)
    for name in ("fc6", "fc7", "fc8"):
        w, b = W[name + ".weight"], W[name + ".bias"]
        p = F.linear(h, w, b)
        cond = F.linear(h.abs(), w.abs(), b.abs())
        if name != "fc8":
            worst = min(worst, (p.abs() / cond).min().item())
            h = F.relu(p)
        elif cls is None:
            top = p.topk(2, dim=1)
            kk = cond.gather(1, top.indices)
            worst = min(worst, ((top.values[:, 0] - top.values[:, 1]) / kk.sum(1)).min().item())
    return worst


def map_condition(W, x, cls, methods, taps=TAPS):
    """Estimated condition number of the maps of each image with respect to float32-sized errors
    at the tap: A, g1, g2 get independent Gaussian noise of NOISE_EPS times the tensor's RMS on
    their nonzero elements (exact zeros stay exact in float32 given the tie margin), in
    NOISE_DRAWS draws; returns the worst (relative map change) / NOISE_EPS. It catches maps that
    are the small positive residue of a cancelling channel sum (Grad-CAM family) and Grad-CAM++
    channel weights that hinge on the sign of tiny g1 elements."""
    _, _, t = gradients(W, x, cls)
    gen = torch.Generator().manual_seed(99)
    worst = 0.0
    for tap in taps:
        clean = t[tap]
        ref = {m: compute_map(m, *clean) for m in methods}
        for _ in range(NOISE_DRAWS):
            noisy = []
            for u in clean:
                rms = u.flatten(1).pow(2).mean(dim=1).sqrt().view(-1, 1, 1, 1)
                r = torch.randn(u.shape, generator=gen, dtype=F64)
                noisy.append(u + (u != 0) * NOISE_EPS * rms * r)
            for m in methods:
                mp = compute_map(m, *noisy)
                for n in range(x.shape[0]):
                    worst = max(worst, rel_err(mp[n], ref[m][n]) / NOISE_EPS)
    return worst


def well_conditioned(W32, x32, cls, methods, taps=TAPS, margin=TIE_MARGIN):
    """The input selection filter: tie margin >= margin and map condition <= MAX_CONDITION."""
    W = to64(W32)
    if tie_margin(W, x32.to(F64), cls) < margin:
        return False
    return map_condition(W, x32.to(F64), cls, methods, taps) <= MAX_CONDITION


def robust_randn(W32, shape, base_seed, methods, cls=None, limit=20000):
    """randn(shape) in float64 rounded to float32, seed = first >= base_seed passing the filter."""
    for seed in range(base_seed, base_seed + limit):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(*shape, generator=g, dtype=F64).float()
        if well_conditioned(W32, x, cls, methods):
            return x, seed
    raise RuntimeError("no well-conditioned input within %d seeds" % limit)


# ----------------------------------------------------------------------------------------------
# the maps (batched, float64); A, g1, g2: [N,C,H,W] -> [N,H,W]

def unit(t):
    """t / ||t||_2 per image over C*H*W, and 0 where the norm is 0."""
    n = t.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    safe = torch.where(n > 0, n, torch.ones_like(n))
    return torch.where(n > 0, t / safe, torch.zeros_like(t))


def cam(w, A):
    """ReLU( sum_c w_c A_c ) for channel weights w [N,C]."""
    return F.relu((w[:, :, None, None] * A).sum(dim=1))


def compute_map(method, A, g1, g2):
    if method == "layercam":
        return F.relu((F.relu(g1) * A).sum(dim=1))
    if method == "sgl-g1":
        return ((unit(A) + unit(g1)) * unit(g1)).sum(dim=1)
    if method == "sgl-g2":
        return (-unit(g2) * (unit(A) - unit(g2))).sum(dim=1)
    if method == "dgl":
        return (unit(g1) * (unit(A) - unit(g2))).sum(dim=1)
    if method == "gradcam":
        return cam(g1.mean(dim=(2, 3)), A)
    if method == "gradcam++":
        S = A.sum(dim=(2, 3), keepdim=True)
        den = 2.0 * g1 ** 2 + S * g1 ** 3
        safe = torch.where(den != 0, den, torch.ones_like(den))
        alpha = torch.where(den != 0, g1 ** 2 / safe, torch.zeros_like(den))
        return cam((alpha * F.relu(g1)).sum(dim=(2, 3)), A)
    if method == "xgradcam":
        S = A.sum(dim=(2, 3))
        safe = torch.where(S != 0, S, torch.ones_like(S))
        w = torch.where(S != 0, (g1 * A).sum(dim=(2, 3)) / safe, torch.zeros_like(S))
        return cam(w, A)
    if method == "hirescam":
        return F.relu((g1 * A).sum(dim=1))
    raise ValueError(method)


def naive_maps(A, g1, g2):
    """The eight maps of ONE image by explicit loops over Python floats (A, g1, g2: [C,H,W])."""
    a, p, q = A.tolist(), g1.tolist(), g2.tolist()
    C, H, Wd = len(a), len(a[0]), len(a[0][0])

    def norm(t):
        s = 0.0
        for ch in range(C):
            for i in range(H):
                for j in range(Wd):
                    s += t[ch][i][j] * t[ch][i][j]
        return s ** 0.5

    nA, n1, n2 = norm(a), norm(p), norm(q)

    def u(t, n, ch, i, j):
        return t[ch][i][j] / n if n > 0 else 0.0

    # channel weights of the Grad-CAM family
    w_gc, w_pp, w_x = [], [], []
    for ch in range(C):
        sg = sa = sga = spp = 0.0
        for i in range(H):
            for j in range(Wd):
                sg += p[ch][i][j]
                sa += a[ch][i][j]
                sga += p[ch][i][j] * a[ch][i][j]
        for i in range(H):
            for j in range(Wd):
                g = p[ch][i][j]
                den = 2 * g * g + sa * g * g * g
                alpha = g * g / den if den != 0 else 0.0
                spp += alpha * max(g, 0.0)
        w_gc.append(sg / (H * Wd))
        w_pp.append(spp)
        w_x.append(sga / sa if sa != 0 else 0.0)
    out = {m: [[0.0] * Wd for _ in range(H)] for m in METHODS}
    for i in range(H):
        for j in range(Wd):
            lc = s1 = s2 = dg = gc = pp = xg = hr = 0.0
            for ch in range(C):
                av, gv = a[ch][i][j], p[ch][i][j]
                uA, u1, u2 = u(a, nA, ch, i, j), u(p, n1, ch, i, j), u(q, n2, ch, i, j)
                lc += max(gv, 0.0) * av
                s1 += (uA + u1) * u1
                s2 += -u2 * (uA - u2)
                dg += u1 * (uA - u2)
                gc += w_gc[ch] * av
                pp += w_pp[ch] * av
                xg += w_x[ch] * av
                hr += gv * av
            vals = {"layercam": max(lc, 0.0), "sgl-g1": s1, "sgl-g2": s2, "dgl": dg,
                    "gradcam": max(gc, 0.0), "gradcam++": max(pp, 0.0), "xgradcam": max(xg, 0.0),
                    "hirescam": max(hr, 0.0)}
            for m in METHODS:
                out[m][i][j] = vals[m]
    return {m: torch.tensor(out[m], dtype=F64) for m in METHODS}


# ----------------------------------------------------------------------------------------------
# helpers

def rel_err(out, ref):
    out, ref = out.to(F64), ref.to(F64)
    r = ref.norm().item()
    if r == 0:
        return 0.0 if out.abs().max().item() == 0 else float("inf")
    return (out - ref).norm().item() / r


def f32(t):
    return t.detach().to(torch.float32).contiguous()


def load_weights():
    W32 = read_safetensors(WEIGHTS)
    for k, v in W32.items():
        assert v.dtype == torch.float32, k
    return W32


def to64(W32):
    return OrderedDict((k, v.to(F64)) for k, v in W32.items())


def map_case(W32, x32, cls, methods, prefix="", check_taps=TAPS):
    """Golden tensors of one case: logits, class, map.<tap>.<method>. Also checks a float32
    PyTorch run (network in float32, map arithmetic in float64, as the engine does)."""
    W = to64(W32)
    z, c, taps = gradients(W, x32.to(F64), cls)
    out = OrderedDict()
    out[prefix + "logits"] = f32(z)
    out[prefix + "class"] = f32(c.to(F64))
    maps = OrderedDict()
    for tap in TAPS:
        A, g1, g2 = taps[tap]
        for m in methods:
            mp = compute_map(m, A, g1, g2)
            assert torch.isfinite(mp).all(), (tap, m)
            maps[(tap, m)] = mp
            out[prefix + "map.%s.%s" % (tap, m)] = f32(mp)
    # float32 self-check: the tolerance is reachable by a float32 implementation
    worst = float32_gap(W32, x32, c, methods, check_taps)
    assert worst <= F32_HEADROOM, "float32 PyTorch is too far from the golden: %g" % worst
    print("    %-10s float32 PyTorch vs golden, worst per-image rel err: %.2e" % (prefix or "case", worst))
    return out, taps, maps


def float32_gap(W32, x32, cls, methods, taps=TAPS):
    """Worst relative error, per image, of a float32 PyTorch run (network and gradients in
    float32, map arithmetic in float64 as the engine's CpuMaps does) against float64; covers
    the logits and every (tap, method) map. A zero reference must be matched exactly."""
    z, c, t64 = gradients(to64(W32), x32.to(F64), cls)
    z32, _, t32 = gradients(W32, x32, c)
    worst = 0.0
    for n in range(x32.shape[0]):
        worst = max(worst, rel_err(z32[n], z[n]))
        for tap in taps:
            a64 = [t[n:n + 1] for t in t64[tap]]
            a32 = [t[n:n + 1].to(F64) for t in t32[tap]]
            for m in methods:
                worst = max(worst, rel_err(compute_map(m, *a32), compute_map(m, *a64)))
    return worst


def metadata(desc, **kw):
    md = OrderedDict()
    md["generator"] = "tools/reference/g2m_reference.py"
    md["torch"] = torch.__version__
    md["description"] = desc
    for k, v in kw.items():
        md[k] = v
    return md


def save(name, tensors, md):
    path = os.path.join(OUT, name)
    for k, v in tensors.items():
        assert v.dtype == torch.float32 and torch.isfinite(v).all(), k
    write_safetensors(path, tensors, md)
    print("  wrote %-34s %10d bytes  (%d tensors)" % (name, os.path.getsize(path), len(tensors)))


# ----------------------------------------------------------------------------------------------
# the files

def make_square(W32):
    x0, s0 = robust_randn(W32, (1, 3, 224, 224), 1000, METHODS)
    x1, s1 = robust_randn(W32, (1, 3, 224, 224), 2000, METHODS)
    x = torch.cat([x0, x1])
    t, _, _ = map_case(W32, x, None, METHODS)
    out = OrderedDict([("input", x)])
    # Size: the Grad-CAM family at the two 224x224 taps would add 3.2 MB; it is covered at every
    # other tap here and at every tap in maps_small.
    out.update((k, v) for k, v in t.items()
               if not (k.startswith("map.") and k.split(".")[1] in ("conv1_1", "conv1_2") and k.split(".")[2] not in G2M))
    save("maps_square224.safetensors", out, metadata(
        "randn input [2,3,224,224] (image n = randn(1,3,224,224) float64 from seed s_n, rounded "
        "to float32); target = argmax; all 18 taps x 8 methods, except the Grad-CAM family at "
        "conv1_1 and conv1_2 (the four G2M maps are there)", seeds="%d,%d" % (s0, s1),
        tie_margin=str(TIE_MARGIN)))


def make_nonsquare(W32):
    x, s = robust_randn(W32, (1, 3, 192, 256), 3000, G2M)
    t, _, _ = map_case(W32, x, None, G2M)
    out = OrderedDict([("input", x)])
    out.update(t)
    save("maps_nonsquare.safetensors", out, metadata(
        "randn input [1,3,192,256] (pool5 6x8); target = argmax; all 18 taps x the 4 G2M methods",
        seeds=str(s), tie_margin=str(TIE_MARGIN)))


def make_small(W32):
    cls = [3, 7]
    x0, s0 = robust_randn(W32, (1, 3, 40, 52), 4000, METHODS, cls=[3])
    x1, s1 = robust_randn(W32, (1, 3, 40, 52), 5000, METHODS, cls=[7])
    x = torch.cat([x0, x1])
    t, taps, maps = map_case(W32, x, cls, METHODS)
    # the batched map code against a naive per-pixel loop, every tap, every method
    worst = 0.0
    for tap in TAPS:
        A, g1, g2 = taps[tap]
        for n in range(x.shape[0]):
            nv = naive_maps(A[n], g1[n], g2[n])
            for m in METHODS:
                worst = max(worst, rel_err(maps[(tap, m)][n], nv[m]))
    assert worst <= 1e-12, "batched maps differ from the naive loop: %g" % worst
    print("    naive per-pixel loop vs batched maps (maps_small, 18 taps x 8 methods): %.1e" % worst)
    out = OrderedDict([("input", x)])
    out.update(t)
    save("maps_small.safetensors", out, metadata(
        "randn input [2,3,40,52] (pool5 1x1, adaptive pool replicates it to 7x7); target class "
        "given explicitly = [3, 7]; all 18 taps x 8 methods", seeds="%d,%d" % (s0, s1),
        tie_margin=str(TIE_MARGIN)))
    return x, cls, "%d,%d" % (s0, s1)


def make_layercam_loc(W32, x, cls, seeds):
    """maps_layercam_loc.safetensors: maps_small's input and classes, the maps at the five taps
    with layercam_loc's gradient source (layercam_loc_gradients). At every other tap that source
    is the tap's own gradient, so maps_small holds those maps already."""
    W = to64(W32)
    z, c, ll = layercam_loc_gradients(W, x.to(F64), cls)
    _, _, true = gradients(W, x.to(F64), cls)
    z32, _, ll32 = layercam_loc_gradients(W32, x, cls)
    out = OrderedDict([("input", x), ("logits", f32(z)), ("class", f32(c.to(F64)))])
    worst = 0.0
    for tap in LAYERCAM_LOC_TARGETS:
        A, g1, g2 = ll[tap]
        assert (A == true[tap][0]).all(), tap
        for m in METHODS:
            mp = compute_map(m, A, g1, g2)
            assert torch.isfinite(mp).all(), (tap, m)
            # the point of the file: these are not the tap-gradient maps
            assert rel_err(mp, compute_map(m, *true[tap])) > 1e-2, (tap, m)
            mp32 = compute_map(m, *(t.to(F64) for t in ll32[tap]))
            for n in range(x.shape[0]):
                worst = max(worst, rel_err(mp32[n], mp[n]))
            out["map.%s.%s" % (tap, m)] = f32(mp)
    # the main job's picture (preprocess.safetensors' pytorch_input of image_224x256.png), target = argmax,
    # the four G2M maps at the two deepest of the five taps
    img = np.asarray(Image.open(os.path.join(OUT, "image_224x256.png")).convert("RGB"))
    pt, _ = preprocess(img)
    zp, cp, llp = layercam_loc_gradients(W, pt.to(F64))
    _, _, llp32 = layercam_loc_gradients(W32, pt, cp)
    out["picture.logits"] = f32(zp)
    out["picture.class"] = f32(cp.to(F64))
    for tap in ("conv5_3", "conv4_3"):
        for m in G2M:
            mp = compute_map(m, *llp[tap])
            worst = max(worst, rel_err(compute_map(m, *(t.to(F64) for t in llp32[tap])), mp))
            out["picture.map.%s.%s" % (tap, m)] = f32(mp)
    assert worst <= F32_HEADROOM, "float32 PyTorch is too far from the layercam_loc golden: %g" % worst
    print("    layercam_loc gradients: float32 PyTorch vs golden, worst per-image rel err: %.2e" % worst)
    save("maps_layercam_loc.safetensors", out, metadata(
        "maps_small's input [2,3,40,52] and classes [3, 7]; maps of all 8 methods at conv1_2, conv2_2, "
        "conv3_3, conv4_3, conv5_3 with layercam_loc's gradient source: g1 and g2 taken by gradient hooks on "
        "the ReLU output and the following max-pool (layercam_loc's forward_cam with target layers "
        "[3,4], [8,9], [15,16], [22,23], [29,30]), the first to arrive (the pool's) upsampled bilinearly with "
        "align_corners=True to the tap's size; A is the ReLU output. picture.*: the same for image_224x256.png "
        "with PyTorch preprocessing (preprocess.safetensors' pytorch_input), target = argmax, the 4 G2M maps at "
        "conv5_3 and conv4_3", seeds=seeds, tie_margin=str(TIE_MARGIN)))


def make_dead(W32):
    """conv5_2 killed: conv5_2.weight = 0, conv5_2.bias = -1000, conv5_3.bias = -1000. Then
    conv5_2, conv5_3 and pool5 activations are exactly 0; the gradients at conv1_1 ... conv5_2
    are exactly 0 (the conv5_2 ReLU blocks them), those at conv5_3 and pool5 are not (fc6 has
    positive biases; max-pool ties route to the first window element)."""
    over = OrderedDict()
    over["conv5_2.weight"] = torch.zeros_like(W32["conv5_2.weight"])
    over["conv5_2.bias"] = torch.full_like(W32["conv5_2.bias"], -1000.0)
    over["conv5_3.bias"] = torch.full_like(W32["conv5_3.bias"], -1000.0)
    Wd32 = OrderedDict((k, over.get(k, v)) for k, v in W32.items())
    x0, s0 = robust_randn(Wd32, (1, 3, 48, 64), 6000, METHODS)
    x1, s1 = robust_randn(Wd32, (1, 3, 48, 64), 7000, METHODS)
    x = torch.cat([x0, x1])
    t, taps, maps = map_case(Wd32, x, None, METHODS)
    # the intended dead pattern
    for tap in TAPS:
        A, g1, g2 = taps[tap]
        a0, g0 = A.abs().max().item() == 0, g1.abs().max().item() == 0 and g2.abs().max().item() == 0
        if tap in ("conv5_2",):
            assert a0 and g0, tap
        elif tap in ("conv5_3", "pool5"):
            assert a0 and not g0, tap
        else:
            assert not a0 and g0, tap
        for n in range(2):
            for m in METHODS:
                mp = maps[(tap, m)][n]
                nv = naive_maps(A[n], g1[n], g2[n])[m] if tap in ("conv5_2", "conv5_3", "pool5") else None
                if nv is not None:
                    assert rel_err(mp, nv) <= 1e-12, (tap, m)
                if g0 or m in ("layercam", "gradcam", "gradcam++", "xgradcam", "hirescam"):
                    assert mp.abs().max().item() == 0, (tap, m)
    p = torch.softmax(t["logits"].to(F64), 1)
    print("    dead case: softmax max %.3f (not one-hot)" % p.max().item())
    out = OrderedDict([("input", x)])
    out.update(t)
    for k, v in over.items():
        out["override." + k] = v
    save("maps_dead.safetensors", out, metadata(
        "weights = fixture with override.<name> tensors substituted (conv5_2.weight = 0, "
        "conv5_2.bias = -1000, conv5_3.bias = -1000): conv5_2 A = 0 and g = 0; conv5_3, pool5 "
        "A = 0, g != 0; conv1_1..conv5_1, pool1..pool4 A != 0, g = 0. randn input [2,3,48,64], "
        "target = argmax (logits are input-independent); all 18 taps x 8 methods",
        seeds="%d,%d" % (s0, s1), tie_margin=str(TIE_MARGIN)))


def synthetic_image(k):
    """uint8 RGB [224,256,3] from an integer formula; x = column 0..255, y = row 0..223,
    c = channel 0,1,2 (R,G,B), k = knob (a non-negative integer):
      background  R = 48 + 130x//255, G = 48 + 130y//223, B = 48 + (3x + 5y) % 131
      rectangle   150 <= x < 230 and 40 <= y < 100:     R -= 30, G += 40, B += 25
      disc        (x - 80)^2 + (y - 120)^2 <= 45^2:      R += 35, G -= 35, B -= 30
      stripe      |x - y - 100| <= 4:                    R += 30, G += 30, B += 30
      texture     every pixel, every channel: += (h >> 27) - 16, where
                  h = ((x*7919 + y*104729 + c*1299709 + k*15485863) * 2654435761) mod 2^32
    (all terms added; no value leaves 0..255). k is the smallest integer >= 0 whose image
    passes the input filter (see the module docstring); it is stored in the metadata."""
    y, x = np.meshgrid(np.arange(224, dtype=np.int64), np.arange(256, dtype=np.int64), indexing="ij")
    R = 48 + 130 * x // 255
    G = 48 + 130 * y // 223
    B = 48 + (3 * x + 5 * y) % 131
    rect = ((x >= 150) & (x < 230) & (y >= 40) & (y < 100)).astype(np.int64)
    R, G, B = R - 30 * rect, G + 40 * rect, B + 25 * rect
    disc = ((x - 80) ** 2 + (y - 120) ** 2 <= 45 ** 2).astype(np.int64)
    R, G, B = R + 35 * disc, G - 35 * disc, B - 30 * disc
    stripe = (np.abs(x - y - 100) <= 4).astype(np.int64)
    R, G, B = R + 30 * stripe, G + 30 * stripe, B + 30 * stripe
    chans = []
    for c, V in enumerate((R, G, B)):
        h = (x * 7919 + y * 104729 + c * 1299709 + k * 15485863).astype(np.uint64)
        h = (h * np.uint64(2654435761)) % np.uint64(2 ** 32)
        chans.append(V + (h >> np.uint64(27)).astype(np.int64) - 16)
    img = np.stack(chans, axis=-1)
    assert img.min() >= 0 and img.max() <= 255
    return img.astype(np.uint8)


def preprocess(img):
    """Both conventions from a uint8 RGB [H,W,3] image; float64 math, returned as float32."""
    t = torch.from_numpy(img.astype(np.float64)).permute(2, 0, 1).unsqueeze(0)  # [1,3,H,W] RGB
    mean = torch.tensor(PYTORCH_MEAN, dtype=F64).view(1, 3, 1, 1)
    std = torch.tensor(PYTORCH_STD, dtype=F64).view(1, 3, 1, 1)
    pt = (t / 255.0 - mean) / std
    bgr = t[:, [2, 1, 0]]
    cf = bgr - torch.tensor(CAFFE_MEAN_BGR, dtype=F64).view(1, 3, 1, 1)
    return pt.float(), cf.float()


def make_preprocess(W32):
    taps4 = ["conv5_1", "pool4", "conv3_3", "pool2"]
    for k in range(0, 5000):
        img = synthetic_image(k)
        pt, cf = preprocess(img)
        if all(well_conditioned(W32, x, None, G2M, taps4, TIE_MARGIN_IMAGE) for x in (pt, cf)):
            break
    else:
        raise RuntimeError("no image knob passes the tie margin")
    png = os.path.join(OUT, "image_224x256.png")
    Image.fromarray(img, mode="RGB").save(png, format="PNG")
    back = np.asarray(Image.open(png).convert("RGB"))
    assert back.shape == (224, 256, 3) and (back == img).all()
    print("  wrote %-34s %10d bytes" % ("image_224x256.png", os.path.getsize(png)))
    out = OrderedDict([("pytorch_input", pt), ("caffe_input", cf)])
    for prefix, x in (("pytorch.", pt), ("caffe.", cf)):
        t, _, _ = map_case(W32, x, None, G2M, prefix=prefix, check_taps=taps4)
        for name, v in t.items():
            if ".map." in name and name.split(".")[2] not in taps4:
                continue
            out[name] = v
    save("preprocess.safetensors", out, metadata(
        "image_224x256.png (RGB uint8, formula in synthetic_image, knob k) -> pytorch_input "
        "(RGB, /255, mean %s, std %s) and caffe_input (BGR, 0-255, minus BGR mean %s); "
        "target = argmax; maps of the 4 G2M methods at %s"
        % (PYTORCH_MEAN, PYTORCH_STD, CAFFE_MEAN_BGR, ",".join(taps4)),
        image_knob_k=str(k), tie_margin=str(TIE_MARGIN_IMAGE)))


def naive_adapool(x, n=7):
    N, C, H, Wd = x.shape
    y = torch.zeros(N, C, n, n, dtype=F64)
    for i in range(n):
        h0, h1 = (i * H) // n, -((-(i + 1) * H) // n)
        for j in range(n):
            w0, w1 = (j * Wd) // n, -((-(j + 1) * Wd) // n)
            y[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(dim=(2, 3))
    return y


def naive_adapool_backward(dy, shape, n=7):
    """Each output bin spreads dy / (bin size) over its (possibly overlapping) input bin."""
    N, C, H, Wd = shape
    dx = torch.zeros(N, C, H, Wd, dtype=F64)
    for i in range(n):
        h0, h1 = (i * H) // n, -((-(i + 1) * H) // n)
        for j in range(n):
            w0, w1 = (j * Wd) // n, -((-(j + 1) * Wd) // n)
            dx[:, :, h0:h1, w0:w1] += (dy[:, :, i, j] / ((h1 - h0) * (w1 - w0)))[:, :, None, None]
    return dx


def naive_maxpool(x):
    """Forward value and row-major flat index of the FIRST maximum of each 2x2 window."""
    N, C, H, Wd = x.shape
    y = torch.zeros(N, C, H // 2, Wd // 2, dtype=F64)
    arg = {}
    for a in range(N):
        for b in range(C):
            for i in range(H // 2):
                for j in range(Wd // 2):
                    best, where = None, None
                    for di in range(2):
                        for dj in range(2):
                            v = x[a, b, 2 * i + di, 2 * j + dj].item()
                            if best is None or v > best:
                                best, where = v, (2 * i + di, 2 * j + dj)
                    y[a, b, i, j] = best
                    arg[(a, b, i, j)] = where
    return y, arg


def make_ops():
    g = torch.Generator().manual_seed(424242)

    def rnd(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g, dtype=F64) * scale).float().to(F64)

    out = OrderedDict()
    # adaptive average pool to 7x7
    for shape in ([2, 3, 5, 9], [1, 2, 13, 10], [1, 1, 7, 7], [1, 2, 1, 1], [1, 1, 30, 17]):
        case = "x".join(str(s) for s in shape)
        x = rnd(*shape).requires_grad_(True)
        y = F.adaptive_avg_pool2d(x, (7, 7))
        dy = rnd(*y.shape)
        dx, = torch.autograd.grad(y, x, dy)
        assert rel_err(y, naive_adapool(x.detach())) <= 1e-14, case
        assert rel_err(dx, naive_adapool_backward(dy, shape)) <= 1e-14, case
        for k, v in (("x", x), ("y", y), ("dy", dy), ("dx", dx)):
            out["adapool.%s.%s" % (case, k)] = f32(v)
    # 2x2 max pool with ties (small integers, all-zero and all-equal windows, odd sizes)
    mp_cases = []
    x = torch.randint(0, 3, (1, 2, 7, 9), generator=g).to(F64)
    x[0, 0, 0:2, 0:2] = 0
    x[0, 1, 2:4, 4:6] = 0
    x[0, 0, 4:6, 2:4] = 2
    x[0, 1, 6, :] = 5     # the dropped row (floor mode) holds the largest values
    x[0, 0, :, 8] = 5     # the dropped column too
    mp_cases.append(x)
    mp_cases.append(torch.randint(-2, 3, (2, 3, 8, 6), generator=g).to(F64))
    mp_cases.append(torch.zeros(1, 1, 5, 5, dtype=F64))
    for x in mp_cases:
        case = "x".join(str(s) for s in x.shape)
        x = x.requires_grad_(True)
        y = F.max_pool2d(x, 2, 2)
        dy = rnd(*y.shape)
        dx, = torch.autograd.grad(y, x, dy)
        yn, arg = naive_maxpool(x.detach())
        assert (y.detach() == yn).all(), case
        dxn = torch.zeros_like(dx)
        for (a, b, i, j), (r, s) in arg.items():
            dxn[a, b, r, s] += dy[a, b, i, j]
        assert (dx == dxn).all(), "PyTorch max-pool tie rule is not first-in-row-major: " + case
        for k, v in (("x", x), ("y", y), ("dy", dy), ("dx", dx)):
            out["maxpool.%s.%s" % (case, k)] = f32(v)
    # conv 3x3 pad 1 forward and backward-data
    x = rnd(2, 3, 9, 11).requires_grad_(True)
    w, b = rnd(5, 3, 3, 3), rnd(5)
    y = F.conv2d(x, w, b, padding=1)
    dy = rnd(*y.shape)
    dx, = torch.autograd.grad(y, x, dy)
    assert rel_err(dx, F.conv_transpose2d(dy, w, padding=1)) <= 1e-14
    for k, v in (("x", x), ("w", w), ("b", b), ("y", y), ("dy", dy), ("dx", dx)):
        out["conv." + k] = f32(v)
    # relu backward: dx = dy where y > 0, else 0 (x holds exact zeros)
    x = rnd(2, 3, 4, 5)
    x[0, 0, 0, :] = 0
    x = x.requires_grad_(True)
    y = F.relu(x)
    dy = rnd(*y.shape)
    dx, = torch.autograd.grad(y, x, dy)
    assert (dx == torch.where(y > 0, dy, torch.zeros_like(dy))).all()
    for k, v in (("x", x), ("y", y), ("dy", dy), ("dx", dx)):
        out["relu." + k] = f32(v)
    # fully connected forward and backward-data
    x = rnd(3, 20).requires_grad_(True)
    w, b = rnd(6, 20), rnd(6)
    y = F.linear(x, w, b)
    dy = rnd(*y.shape)
    dx, = torch.autograd.grad(y, x, dy)
    for k, v in (("x", x), ("w", w), ("b", b), ("y", y), ("dy", dy), ("dx", dx)):
        out["fc." + k] = f32(v)
    # softmax (row 2 is large: needs max subtraction in float32)
    z = torch.cat([rnd(1, 10), rnd(1, 10, scale=5.0), rnd(1, 10, scale=30.0) + 1000.0])
    z = z.float().to(F64)
    out["softmax.z"] = f32(z)
    out["softmax.p"] = f32(torch.softmax(z, dim=1))
    # backward seeds: rows 0..2 e_c, rows 3..5 softmax(z) - 10 e_c
    z = rnd(3, 10, scale=3.0)
    cls = torch.tensor([int(z[0].argmax()), 4, 9])
    e = F.one_hot(cls, 10).to(F64)
    s = torch.cat([e, torch.softmax(z, dim=1) - 10.0 * e])
    out["seeds.z"] = f32(z)
    out["seeds.class"] = f32(cls.to(F64))
    out["seeds.s"] = f32(s)
    save("ops.safetensors", out, metadata(
        "op-level goldens, float64 computed from float32-representable inputs; case names are "
        "the input shape NxCxHxW; max-pool ties go to the first element in row-major window order"))


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    W32 = load_weights()
    print("torch %s, weights %s" % (torch.__version__, os.path.relpath(WEIGHTS, REPO)))
    make_ops()
    small = make_small(W32)
    make_dead(W32)
    make_nonsquare(W32)
    make_preprocess(W32)
    make_square(W32)
    make_layercam_loc(W32, *small)
    total = 0
    for name in sorted(os.listdir(OUT)):
        total += os.path.getsize(os.path.join(OUT, name))
    print("golden total: %d bytes (%.2f MB)" % (total, total / 1e6))


if __name__ == "__main__":
    main()
