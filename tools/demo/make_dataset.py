#!/usr/bin/env python3
"""The demo's procedurally generated localization dataset: one object of 10 classes per picture
(shapes and textures at a random position, scale, tilt and colour) on a cluttered background,
with the object's exact box.

    /usr/bin/python3 tools/demo/make_dataset.py samples          # the jar's bundled samples (committed)
    /usr/bin/python3 tools/demo/make_dataset.py heldout --n 500  # a held-out set, tools/demo/build/heldout/
    /usr/bin/python3 tools/demo/make_dataset.py preview          # a contact sheet, tools/demo/build/preview.png

The training set is not written anywhere: train.py renders it on the fly from the same function
(`render`), picture i of split s always from the seed (BASE_SEED, s, i), so every set can be
regenerated bit for bit. Splits never share a seed.

Picture = background (two-colour gradient, soft colour blobs, thin random lines), then the object
(anti-aliased mask, alpha-blended), then 0-2 thin lines across everything (occluders), then Gaussian
pixel noise. The clutter has no sharp closed shapes and no textured regions, so it carries no class
cue; the object's colours are random (never a class cue either). Box = the bounding box of the mask
pixels with coverage >= 1/2, inclusive pixel coordinates (PASCAL VOC convention, 0-based columns and
rows: xmax is the last covered column). Objects are entirely inside the picture and their box covers
roughly 10-45 % of it.

Files written by `samples` / `heldout` (the layouts the engine's WSOL evaluation reads):
  images/<stem>.png   RGB, 8 bit, shorter side 224 (the engine does not resample them)
  boxes/<stem>.xml    PASCAL VOC / ILSVRC2012-validation-style annotation, one <object> per picture
  val.txt             "<file name> <class index>" per line (Caffe val.txt layout)
  classes.txt         class names, one per line in class-index order (the main job's --class-names)
"""
import argparse
import os
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(HERE, "build")
SAMPLES_DIR = os.path.join(REPO, "cli", "src", "main", "resources", "g2m", "demo")

CLASSES = ["disk", "ring", "triangle", "star", "cross", "striped_square", "checkered_ellipse",
           "crescent", "spotted_diamond", "arrow"]
BASE_SEED = 20261126
SPLITS = {"train": 1, "heldout": 2, "samples": 3, "preview": 4}
AREA_RANGE = (0.10, 0.45)      # target box area / picture area
MAX_TILT = 25.0                # degrees; objects are upright or upside down, tilted at most this much

cv2.setNumThreads(1)


# ------------------------------------------------------------------------------------ shapes

def _circle(r=1.0, cx=0.0, cy=0.0, n=96):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1)


def _regular(n, r=1.0, phase=-np.pi / 2):
    t = phase + np.arange(n) * 2 * np.pi / n
    return np.stack([r * np.cos(t), r * np.sin(t)], 1)


def shape_polygons(cls, rng):
    """Outline of class `cls` in local coordinates (object radius ~1): a list of (polygon, value)
    drawn in order (value 255 fills, 0 cuts a hole), and the texture kind."""
    if cls == 0:    # disk
        return [(_circle(), 255)], None
    if cls == 1:    # ring
        return [(_circle(), 255), (_circle(rng.uniform(0.45, 0.68)), 0)], None
    if cls == 2:    # triangle (regular, stretched a little)
        p = _regular(3)
        p[:, 1] *= rng.uniform(0.85, 1.2)
        return [(p, 255)], None
    if cls == 3:    # five-pointed star
        outer, inner = _regular(5), _regular(5, rng.uniform(0.38, 0.5), -np.pi / 2 + np.pi / 5)
        p = np.empty((10, 2))
        p[0::2], p[1::2] = outer, inner
        return [(p, 255)], None
    if cls == 4:    # cross (plus sign)
        w = rng.uniform(0.24, 0.36)
        p = np.array([[-w, -1], [w, -1], [w, -w], [1, -w], [1, w], [w, w], [w, 1], [-w, 1], [-w, w],
                      [-1, w], [-1, -w], [-w, -w]])
        return [(p, 255)], None
    if cls == 5:    # striped square
        a = rng.uniform(0.8, 1.0)
        return [(np.array([[-1, -a], [1, -a], [1, a], [-1, a]]), 255)], "stripes"
    if cls == 6:    # checkered ellipse
        p = _circle()
        p[:, 1] *= rng.uniform(0.55, 0.8)
        return [(p, 255)], "checker"
    if cls == 7:    # crescent
        return [(_circle(), 255), (_circle(rng.uniform(0.8, 0.95), rng.uniform(0.4, 0.6), 0.0), 0)], None
    if cls == 8:    # spotted diamond
        b = rng.uniform(0.65, 0.9)
        return [(np.array([[-1, 0], [0, -b], [1, 0], [0, b]]), 255)], "dots"
    if cls == 9:    # block arrow
        s, h, x = rng.uniform(0.2, 0.3), rng.uniform(0.55, 0.7), rng.uniform(-0.05, 0.2)
        p = np.array([[-1, -s], [x, -s], [x, -h], [1, 0], [x, h], [x, s], [-1, s]])
        return [(p, 255)], None
    raise ValueError(cls)


# ------------------------------------------------------------------------------------ colours

def _random_colour(rng, sat=(0.3, 1.0), val=(0.25, 1.0)):
    hsv = np.uint8([[[rng.integers(0, 180), int(255 * rng.uniform(*sat)), int(255 * rng.uniform(*val))]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def _dist(a, b):
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


# ------------------------------------------------------------------------------------ background

def background(rng, h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a, b = _random_colour(rng, (0.0, 0.8)), _random_colour(rng, (0.0, 0.8))
    th = rng.uniform(0, 2 * np.pi)
    t = (np.cos(th) * xx + np.sin(th) * yy)
    t = (t - t.min()) / max(t.max() - t.min(), 1e-6)
    img = a * (1 - t[..., None]) + b * t[..., None]
    # soft colour blobs: drawn at quarter resolution and blurred, so they have no sharp edges
    hs, ws = h // 4, w // 4
    for _ in range(int(rng.integers(2, 6))):
        m = np.zeros((hs, ws), np.float32)
        c = (int(rng.integers(0, ws)), int(rng.integers(0, hs)))
        ax = (int(rng.integers(4, ws // 3)), int(rng.integers(4, hs // 3)))
        cv2.ellipse(m, c, ax, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
        m = cv2.GaussianBlur(m, (0, 0), float(rng.uniform(3, 6)))
        m = cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR) * rng.uniform(0.3, 0.7)
        img = img * (1 - m[..., None]) + _random_colour(rng) * m[..., None]
    lines(img, rng, int(rng.integers(3, 11)))
    return img


def lines(img, rng, n):
    """n thin straight lines of random colours; may cross the whole picture."""
    h, w = img.shape[:2]
    for _ in range(n):
        p0 = (int(rng.integers(-w // 4, w + w // 4)) * 16, int(rng.integers(-h // 4, h + h // 4)) * 16)
        p1 = (int(rng.integers(-w // 4, w + w // 4)) * 16, int(rng.integers(-h // 4, h + h // 4)) * 16)
        cv2.line(img, p0, p1, tuple(float(v) for v in _random_colour(rng)), int(rng.integers(1, 3)),
                 cv2.LINE_AA, 4)


# ------------------------------------------------------------------------------------ textures

def texture(kind, rng, u, v, scale):
    """Blend factor 0..1 between the two object colours, from local coordinates u, v (pixels,
    along the object's axes); edges about one pixel soft."""
    if kind == "stripes":
        p = scale * rng.uniform(0.3, 0.5)
        s = np.sin(2 * np.pi * (u + rng.uniform(0, p)) / p)
        return np.clip(0.5 + s * p / 6.0, 0, 1)
    if kind == "checker":
        c = scale * rng.uniform(0.25, 0.4)
        s = np.sin(np.pi * u / c) * np.sin(np.pi * v / c)
        return np.clip(0.5 + s * c / 4.0, 0, 1)
    if kind == "dots":
        sp = scale * rng.uniform(0.3, 0.45)
        r = sp * rng.uniform(0.25, 0.33)
        du = np.mod(u, sp) - sp / 2
        dv = np.mod(v + (np.floor(u / sp) % 2) * sp / 2, sp) - sp / 2   # staggered rows
        return np.clip(r - np.sqrt(du * du + dv * dv) + 0.5, 0, 1)
    raise ValueError(kind)


# ------------------------------------------------------------------------------------ one picture

def rng_for(split, index):
    return np.random.default_rng([BASE_SEED, SPLITS[split], int(index)])


def render(split, index, h=224, w=224, cls=None):
    """Picture `index` of `split`: (uint8 RGB [h,w,3], box [xmin, ymin, xmax, ymax] inclusive,
    class). Deterministic in (split, index, h, w, cls); cls None = drawn from the seed."""
    rng = rng_for(split, index)
    cls_drawn = int(rng.integers(0, len(CLASSES)))
    cls = cls_drawn if cls is None else int(cls)
    img = background(rng, h, w)

    polys, tex = shape_polygons(cls, rng)
    th = np.deg2rad(rng.uniform(-MAX_TILT, MAX_TILT)) + (np.pi if rng.random() < 0.5 else 0.0)
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    outer = polys[0][0] @ rot.T
    bw, bh = outer[:, 0].ptp(), outer[:, 1].ptp()
    area = rng.uniform(*AREA_RANGE) * h * w
    s = min(np.sqrt(area / (bw * bh)), (w - 6) / bw, (h - 6) / bh)
    x0 = rng.uniform(2 - outer[:, 0].min() * s, w - 3 - outer[:, 0].max() * s)
    y0 = rng.uniform(2 - outer[:, 1].min() * s, h - 3 - outer[:, 1].max() * s)

    mask = np.zeros((h, w), np.uint8)
    for poly, val in polys:
        p = (poly @ rot.T) * s + np.array([x0, y0])
        cv2.fillPoly(mask, [np.round(p * 16).astype(np.int32)], val, cv2.LINE_AA, 4)
    cover = mask >= 128
    ys, xs = np.nonzero(cover)
    box = [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]

    # colours: far enough from the background under the object, so it can be seen
    under = img[box[1]:box[3] + 1, box[0]:box[2] + 1][cover[box[1]:box[3] + 1, box[0]:box[2] + 1]].mean(0)
    for _ in range(50):
        c1 = _random_colour(rng)
        if _dist(c1, under) >= 60:
            break
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (xx - x0) * np.cos(th) + (yy - y0) * np.sin(th)
    v = -(xx - x0) * np.sin(th) + (yy - y0) * np.cos(th)
    if tex is None:
        # solid, with mild shading along a random direction
        g = rng.uniform(-25, 25) * np.clip((u * np.cos(th) + v * np.sin(th)) / s, -1, 1)
        obj = c1 + g[..., None]
    else:
        for _ in range(50):
            c2 = _random_colour(rng)
            if _dist(c1, c2) >= 90:
                break
        t = texture(tex, rng, u, v, s)
        obj = c1 * (1 - t[..., None]) + c2 * t[..., None]
    a = (mask.astype(np.float32) / 255.0)[..., None]
    img = img * (1 - a) + obj * a
    lines(img, rng, int(rng.integers(0, 3)))   # occluders over the object too
    img += rng.normal(0, rng.uniform(3, 12), img.shape).astype(np.float32)
    return np.clip(np.round(img), 0, 255).astype(np.uint8), box, cls


# ------------------------------------------------------------------------------------ files

VOC = """<annotation>
\t<folder>demo</folder>
\t<filename>{stem}</filename>
\t<source>
\t\t<database>g2m-engine demo (tools/demo/make_dataset.py, split {split}, index {index})</database>
\t</source>
\t<size>
\t\t<width>{w}</width>
\t\t<height>{h}</height>
\t\t<depth>3</depth>
\t</size>
\t<segmented>0</segmented>
\t<object>
\t\t<name>{name}</name>
\t\t<pose>Unspecified</pose>
\t\t<truncated>0</truncated>
\t\t<difficult>0</difficult>
\t\t<bndbox>
\t\t\t<xmin>{b[0]}</xmin>
\t\t\t<ymin>{b[1]}</ymin>
\t\t\t<xmax>{b[2]}</xmax>
\t\t\t<ymax>{b[3]}</ymax>
\t\t</bndbox>
\t</object>
</annotation>
"""


def write_png(path, img):
    # PNG via OpenCV (BGR in memory); fixed compression, no timestamps: byte-identical reruns
    if not cv2.imwrite(path, np.ascontiguousarray(img[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise IOError("cannot write " + path)


def write_set(out, split, specs, prefix):
    """specs: list of (index, h, w, cls or None). Writes images/, boxes/, val.txt, classes.txt."""
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    os.makedirs(os.path.join(out, "boxes"), exist_ok=True)
    rows = []
    for index, h, w, cls in specs:
        img, box, c = render(split, index, h, w, cls)
        stem = "%s_%04d" % (prefix, index)
        write_png(os.path.join(out, "images", stem + ".png"), img)
        with open(os.path.join(out, "boxes", stem + ".xml"), "w") as f:
            f.write(VOC.format(stem=stem, split=split, index=index, w=w, h=h, name=CLASSES[c], b=box))
        rows.append("%s.png %d" % (stem, c))
    with open(os.path.join(out, "val.txt"), "w") as f:
        f.write("\n".join(rows) + "\n")
    with open(os.path.join(out, "classes.txt"), "w") as f:
        f.write("\n".join(CLASSES) + "\n")
    return rows


def heldout_specs(n):
    """Classes in turn (balanced); 80 % 224x224, 10 % 224x288 (H x W), 10 % 288x224."""
    specs = []
    for i in range(n):
        k = (i // 10) % 10          # independent of the class (i % 10)
        h, w = (224, 288) if k == 3 else (288, 224) if k == 7 else (224, 224)
        specs.append((i, h, w, i % len(CLASSES)))
    return specs


def sample_specs():
    """The bundled samples: one of each class, then two more; three of them not square. The
    first renders of the 'samples' split in this order, not picked by how well they do."""
    sizes = {2: (224, 288), 6: (288, 224), 11: (224, 288)}
    return [(i, *sizes.get(i, (224, 224)), i % len(CLASSES)) for i in range(12)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("samples", help="the bundled samples, into the engine's resources")
    s.add_argument("--out", default=SAMPLES_DIR)
    s = sub.add_parser("heldout", help="a held-out set on disk")
    s.add_argument("--n", type=int, default=500)
    s.add_argument("--out", default=os.path.join(BUILD, "heldout"))
    s = sub.add_parser("preview", help="a contact sheet of training pictures with their boxes")
    s.add_argument("--n", type=int, default=40)
    s.add_argument("--out", default=os.path.join(BUILD, "preview.png"))
    a = ap.parse_args(argv)
    if a.cmd == "samples":
        rows = write_set(a.out, "samples", sample_specs(), "demo")
        print("wrote %d samples to %s" % (len(rows), os.path.relpath(a.out, REPO)))
    elif a.cmd == "heldout":
        rows = write_set(a.out, "heldout", heldout_specs(a.n), "heldout")
        print("wrote %d held-out pictures to %s" % (len(rows), a.out))
    else:
        tiles = []
        for i in range(a.n):
            img, b, c = render("preview", i, cls=i % len(CLASSES))
            img = np.ascontiguousarray(img[..., ::-1])
            cv2.rectangle(img, (b[0], b[1]), (b[2], b[3]), (0, 255, 0), 1)
            cv2.putText(img, CLASSES[c], (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)
            tiles.append(img)
        rows = [np.concatenate(tiles[r:r + 10], 1) for r in range(0, len(tiles), 10)]
        os.makedirs(os.path.dirname(a.out), exist_ok=True)
        cv2.imwrite(a.out, np.concatenate(rows, 0))
        print("wrote", a.out)


if __name__ == "__main__":
    sys.exit(main())
