#!/usr/bin/env python3
"""Goldens for the engine's g2m.eval tests: each step of the layercam_loc WSOL protocol
and of MaxBoxAccV2, done the way the two reference codes do it (PIL, torch, numpy, OpenCV-Python).

    /usr/bin/python3 tools/reference/eval_reference.py      # (re)writes engine/src/test/resources/eval/

Debian packages: python3-opencv python3-numpy python3-pil python3-torch (torchvision is not needed:
its TenCrop is four lines, restated in ten_crop() below from torchvision.transforms.functional).
Deterministic: every input is synthesised from fixed seeds, torch runs on one thread, and GrabCut's
random generator is reset (cv2.setRNGSeed(GRABCUT_SEED)) before every call.

Sources followed (read, not copied):
  PengtaoJiang/layercam_loc  scripts/test.py (layercam()), utils/mydataset.py (dataset_caffe),
                             utils/imutils.py (bb_IOU, large_rect)
  clovaai/wsolevaluation     evaluation.py (compute_bboxes_from_scoremaps, calculate_multiple_iou,
                             BoxEvaluator, resize_bbox), inference.py (normalize_scoremap, CAMComputer's
                             224x224 resize), main.py (np.average)

Files (engine/src/test/resources/eval/):
  picture.png          synthetic RGB picture, W=300 H=200 (shapes, gradient, mild grain)
  resized256.png       PIL's picture.resize((256, 256), BILINEAR) = torchvision Resize((256, 256))
  resized256.rs_down.png  the same resize of ../images/rs_down_src.png (500x375, both axes shrink:
                       the typical ILSVRC picture) and resized256.tall.png of its 180x375 left part
                       (one axis grows, one shrinks)
  tencrop.safetensors  crops [10,3] (x, y, flipped) in TenCrop order; for the PyTorch
                       preprocessing of resized256.png: input_sub = input[:, :, ::8, ::8]
                       [10,3,28,28] and input_sum [10,3] (F64, sum over each crop and channel)
  maps.safetensors     map.<n> [10,n,n] (n = 14, 28, 56) per-crop maps in TenCrop order;
                       up_src [2,5,7] and up [2,33,50] (align-corners upsample of a non-square,
                       non-224 case); canvas.<n> [256,256] (float32, as layercam_loc's
                       torch code sums them); (canvas.14 resized bicubic
                       float32 to 150x100 then min-max normalised: maxbox scoremap.6)
  heat.<n>.png         8-bit gray 300x200: clamp, /(max+1e-8), x255, np.uint8, INTER_CUBIC to 300x200
  grabcut.<n>.png      8-bit gray 300x200 for n = 28, 56: one GrabCut iteration, 0/255
  boxes.json           contour boxes (RETR_TREE order) and the chosen box for every heat and
                       grabcut mask and for hand-made binary patterns; IoU cases; outcome and
                       accuracy cases; MaxBoxAccV2 per-image hits and final numbers
  maxbox.safetensors   scoremap.<i> (F32 [h,w]) for the MaxBoxAccV2 images
  outcomes.safetensors logits [37,10,12] of the synthetic outcome set (boxes.json "outcomes")
  tinyset/             a small generated ILSVRC-layout dataset: val.txt (<file> <class>), images/
                       (PNG and JPEG pictures of several sizes, one object or two each on a textured
                       background), boxes/<stem>.xml (PASCAL VOC, the objects' exact boxes)
  e2e.json             the whole protocol on tinyset with the tiny fixture network (PyTorch
                       preprocessing, float64 network, float32 maps as the engine's, taps conv5_1 and conv3_3, the four G2M methods):
                       per image Top-5 and per (tap, method) the box, best IoU and MaxBoxAccV2 hits;
                       the table's counts
  e2e.layercam_loc.json  the same with layercam_loc's gradient source (g2m_reference.layercam_loc_gradients:
                       hooks on the ReLU and the next max-pool, the pool's gradient upsampled with
                       align-corners) at conv5_3, conv4_3, conv3_3; no per-threshold IoUs
  e2e.wsol224.json     e2e.json's taps with MaxBoxAccV2 in wsolevaluation's own frame (score map resized to
                       224x224, GT boxes through resize_bbox, int() truncation), and resize_bbox cases
  manifest.txt         library versions

    /usr/bin/python3 tools/reference/eval_reference.py --synthetic-set DIR N [W H]
writes N pictures (JPEG, default 500x375) in the same layout to DIR, for timing runs.
"""
import argparse
import json
import os
from fractions import Fraction

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures'))
from tiny_vgg import write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'engine', 'src', 'test', 'resources', 'eval')
W, H = 300, 200
RESIZE, CROP = 256, 224
GRABCUT_SEED = 0          # cv::RNG(0) has state 0xffffffff: a fresh thread's default generator
THRESH = 0.15 * 255
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

torch.set_num_threads(1)
cv2.setNumThreads(1)


# ------------------------------------------------------------------------------- inputs

def picture():
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    img = np.zeros((H, W, 3))
    img[..., 0] = 60 + 80 * xx / W
    img[..., 1] = 90 + 60 * yy / H
    img[..., 2] = 140 - 50 * xx / W
    ell = ((xx - 90) / 50) ** 2 + ((yy - 110) / 40) ** 2 < 1
    img[ell] = (210, 40, 40)
    rect = (xx >= 180) & (xx < 260) & (yy >= 40) & (yy < 120)
    img[rect] = (40, 60, 200)
    tri = (yy > 140) & (yy < 190) & (np.abs(xx - 230) < (yy - 140) * 0.8)
    img[tri] = (50, 180, 60)
    img += rng.normal(scale=3.0, size=img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def ten_crop_positions():
    """torchvision five_crop / ten_crop(vertical_flip=False) on a 256x256 picture: tl, tr, bl, br,
    centre (top = int(round((256-224)/2.)) = 16), then the same five of the h-flipped picture."""
    d = RESIZE - CROP
    c = int(round(d / 2.0))
    five = [(0, 0), (d, 0), (0, d), (d, d), (c, c)]
    return [(x, y, 0) for x, y in five] + [(x, y, 1) for x, y in five]


def ten_crop(img256):
    out = []
    for x, y, f in ten_crop_positions():
        src = img256[:, ::-1] if f else img256
        out.append(src[y:y + CROP, x:x + CROP])
    return out


def field(kind):
    """A 256x256 'object' field in the canvas frame, from which the ten crop maps are cut."""
    yy, xx = np.mgrid[0:RESIZE, 0:RESIZE].astype(np.float64)
    sx, sy = RESIZE / W, RESIZE / H

    def blob(cx, cy, rx, ry, a=1.0):
        return a * np.exp(-0.5 * (((xx - cx * sx) / (rx * sx)) ** 2 + ((yy - cy * sy) / (ry * sy)) ** 2))
    if kind == 14:      # the rectangle, and a weaker second object (two contours)
        return blob(220, 80, 35, 35) + 0.6 * blob(60, 160, 25, 20)
    if kind == 28:      # a ring around the triangle: an outer and an inner contour
        r = np.sqrt(((xx - 230 * sx) / (40 * sx)) ** 2 + ((yy - 160 * sy) / (30 * sy)) ** 2)
        return np.exp(-0.5 * ((r - 1.0) / 0.25) ** 2) + 0.3 * blob(100, 60, 30, 30)
    if kind == 56:      # the ellipse, off-centre so that a wrong flip would show
        return blob(95, 110, 40, 32) + 0.25 * blob(200, 60, 40, 30)
    raise ValueError(kind)


def crop_maps(n, seed):
    """[10, n, n] float32: each crop's region of the field (flipped for flipped crops), block-averaged
    to n x n, plus noise that goes below zero."""
    rng = np.random.default_rng(seed)
    fld = field(n)
    k = CROP // n
    maps = []
    for x, y, f in ten_crop_positions():
        src = fld[:, ::-1] if f else fld
        reg = src[y:y + CROP, x:x + CROP].reshape(n, k, n, k).mean(axis=(1, 3))
        maps.append(reg * (1 + 0.2 * rng.random()) + rng.normal(scale=0.05, size=(n, n)) - 0.02)
    return np.stack(maps).astype(np.float32)


# ------------------------------------------------------------------------------- protocol steps

def upsample(maps, oh, ow):
    """F.interpolate(bilinear, align_corners=True) on CPU, float32: [N,h,w] -> [N,oh,ow]."""
    t = torch.from_numpy(np.ascontiguousarray(maps))[:, None]
    return F.interpolate(t, size=(oh, ow), mode='bilinear', align_corners=True)[:, 0].numpy()


def canvas(maps):
    """layercam_loc: upsample to 224, F.pad into 256 (flipped crops: pad, then flip the padded
    map horizontally), sum in crop order into a float32 zero canvas."""
    t = torch.from_numpy(np.ascontiguousarray(maps))[:, None]
    up = F.interpolate(t, size=(CROP, CROP), mode='bilinear', align_corners=True).squeeze(0)   # [10,1,224,224]
    pads = [(0, 32, 0, 32), (32, 0, 0, 32), (0, 32, 32, 0), (32, 0, 32, 0), (16, 16, 16, 16)] * 2
    cam = torch.zeros((RESIZE, RESIZE), dtype=torch.float32)
    for i in range(10):
        p = F.pad(up[i], pad=pads[i])
        if i >= 5:
            p = p.flip([2])
        cam += p[0]
    return cam.numpy()


def heat(cam, w, h):
    cam = np.maximum(cam, 0)
    cam /= (cam.max() + 1e-8)
    cam = np.uint8(cam * 255)
    return cv2.resize(cam, (w, h), interpolation=cv2.INTER_CUBIC)


def grabcut(rgb, cam):
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    mask = np.zeros(cam.shape, dtype=np.uint8)
    mask[cam > THRESH] = cv2.GC_FGD
    mask[cam <= THRESH] = cv2.GC_PR_BGD
    if not (mask == cv2.GC_FGD).any() or not (mask == cv2.GC_PR_BGD).any():
        return np.where(cam > THRESH, 255, 0).astype(np.uint8)     # the engine's documented fallback
    cv2.setRNGSeed(GRABCUT_SEED)
    out, _, _ = cv2.grabCut(bgr, mask, None, np.zeros((1, 65)), np.zeros((1, 65)), 1, cv2.GC_INIT_WITH_MASK)
    return (np.where((out == cv2.GC_BGD) | (out == cv2.GC_PR_BGD), 0, 1) * 255).astype(np.uint8)


def save_gray(name, a):
    Image.fromarray(a, mode='L').save(os.path.join(OUT, name), optimize=True)


def contour_rects(binary):
    contours, _ = cv2.findContours(binary, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    return [list(cv2.boundingRect(c)) for c in contours]


def layercam_box(cam):
    _, b = cv2.threshold(cam, THRESH, 255, cv2.THRESH_BINARY)
    rects = contour_rects(b)
    if not rects:
        return rects, [0, 0, 1, 1]
    best, area = 0, 0
    for i, r in enumerate(rects):        # large_rect: first strictly larger w*h wins
        if area < r[2] * r[3]:
            area, best = r[2] * r[3], i
    x, y, w, h = rects[best]
    return rects, [x, y, x + w, y + h]


def bb_iou(a, b):
    """layercam_loc utils/imutils.py bb_IOU(gt, estimate): (iou, recall); zero when xA >= xB or yA >= yB."""
    a = [float(v) for v in a]
    b = [float(v) for v in b]
    xa, ya, xb, yb = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    if xa >= xb or ya >= yb:
        return 0.0, 0.0
    inter = (xb - xa + 1) * (yb - ya + 1)
    aa = (a[2] - a[0] + 1) * (a[3] - a[1] + 1)
    ab = (b[2] - b[0] + 1) * (b[3] - b[1] + 1)
    return inter / float(aa + ab - inter), inter / float(aa)


def voc_iou(a, b):
    """wsolevaluation calculate_multiple_iou for one pair (integers, +1, degenerate -> 0)."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]) + 1)
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]) + 1)
    inter = ix * iy
    den = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1) - inter
    if den <= 0:
        return 0.0
    return float(np.float64(inter) / np.float64(den))


def normalize_scoremap(cam):
    cam = cam.copy()
    if np.isnan(cam).any() or cam.min() == cam.max():
        return np.zeros_like(cam)
    cam -= cam.min()
    cam /= cam.max()
    return cam


def wsol_boxes(scoremap, thresholds):
    """compute_bboxes_from_scoremaps(multi_contour_eval=True)."""
    h, w = scoremap.shape
    img = (scoremap.astype(np.float32) * 255).astype(np.uint8)     # float32 product, as wsolevaluation's float32 maps
    out = []
    for t in thresholds:
        _, b = cv2.threshold(img, int(t * np.max(img)), 255, cv2.THRESH_BINARY)
        contours = cv2.findContours(b, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)[0]
        if len(contours) == 0:
            out.append([[0, 0, 0, 0]])
            continue
        boxes = []
        for c in contours:
            x, y, bw, bh = cv2.boundingRect(c)
            boxes.append([x, y, min(x + bw, w - 1), min(y + bh, h - 1)])
        out.append(boxes)
    return out


def percent(count, n):
    """100 * count / n rounded exactly to two decimals, ties to even."""
    k = round(Fraction(100 * count, n) * 100)
    return "%d.%02d" % (k // 100, k % 100)


# ------------------------------------------------------------------------------- end to end

TINY_WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'weights-converter', 'src', 'test',
                            'resources', 'fixtures', 'tiny_vgg16_expected.safetensors')
E2E_TAPS = ['conv5_1', 'conv3_3']
E2E_METHODS = ['layercam', 'sgl-g1', 'sgl-g2', 'dgl']
TAP_SIDE = {'conv5_1': 14, 'conv5_3': 14, 'conv4_3': 28, 'conv3_3': 56}


def synthetic_picture(rng, w, h, objects):
    """A textured background with filled ellipses; returns the picture and the objects' inclusive boxes."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = rng.uniform(60, 190, 3)
    img = base + 40 * np.sin(xx[..., None] / rng.uniform(7, 19) + rng.uniform(0, 6, 3)) * np.cos(yy[..., None] / rng.uniform(9, 23))
    img += rng.normal(scale=6, size=img.shape)
    boxes = []
    for _ in range(objects):
        rx, ry = rng.uniform(0.12, 0.3) * w, rng.uniform(0.12, 0.3) * h
        cx, cy = rng.uniform(rx, w - rx), rng.uniform(ry, h - ry)
        inside = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
        img[inside] = rng.uniform(0, 255, 3) + rng.normal(scale=4, size=(int(inside.sum()), 3))
        ys, xs = np.nonzero(inside)
        boxes.append([int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())])
    return np.clip(np.round(img), 0, 255).astype(np.uint8), boxes


def voc_xml(stem, w, h, boxes):
    objs = ''.join('  <object>\n    <name>n%08d</name>\n    <pose>Unspecified</pose>\n    <truncated>0</truncated>\n'
                   '    <difficult>0</difficult>\n    <bndbox>\n      <xmin>%d</xmin>\n      <ymin>%d</ymin>\n'
                   '      <xmax>%d</xmax>\n      <ymax>%d</ymax>\n    </bndbox>\n  </object>\n' % (k, b[0], b[1], b[2], b[3])
                   for k, b in enumerate(boxes))
    return ('<annotation>\n  <folder>val</folder>\n  <filename>%s</filename>\n  <source>\n    <database>synthetic</database>\n'
            '  </source>\n  <size>\n    <width>%d</width>\n    <height>%d</height>\n    <depth>3</depth>\n  </size>\n'
            '  <segmented>0</segmented>\n%s</annotation>\n' % (stem, w, h, objs))


def write_set(root, specs, seed, classes):
    """specs: (file name, w, h, objects). Writes val.txt, images/, boxes/; returns [(name, label, boxes)]."""
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(root, 'images'), exist_ok=True)
    os.makedirs(os.path.join(root, 'boxes'), exist_ok=True)
    out = []
    lines = []
    for i, (name, w, h, objects) in enumerate(specs):
        pic, boxes = synthetic_picture(rng, w, h, objects)
        im = Image.fromarray(pic)
        if name.lower().endswith('.jpg') or name.lower().endswith('.jpeg'):
            im.save(os.path.join(root, 'images', name), quality=90)
        else:
            im.save(os.path.join(root, 'images', name), optimize=True)
        stem = os.path.splitext(name)[0]
        with open(os.path.join(root, 'boxes', stem + '.xml'), 'w') as f:
            f.write(voc_xml(stem, w, h, boxes))
        label = (3 * i + 1) % classes
        lines.append('%s %d\n' % (name, label))
        out.append((name, label, boxes))
    with open(os.path.join(root, 'val.txt'), 'w') as f:
        f.writelines(lines)
    return out


def load_g2m_reference():
    import importlib.util
    spec = importlib.util.spec_from_file_location('g2m_reference', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'g2m_reference.py'))
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    return ref


def resize_bbox(box, image_size, resize_size):
    """wsolevaluation evaluation.py resize_bbox: each coordinate times new/old size in Python floats, then int()."""
    x0, y0, x1, y1 = map(float, box)
    w, h = map(float, image_size)
    nw, nh = map(float, resize_size)
    return [int(x0 * nw / w), int(y0 * nh / h), int(x1 * nw / w), int(y1 * nh / h)]


def maxbox_best_ious(cv, gts, w, h, frame, thresholds):
    """Per map threshold, the best IoU of any box against any GT box, as wsolevaluation's BoxEvaluator
    (multi_contour_eval) computes it. frame 'picture': score map resized to the picture (w x h), GT boxes
    as given; frame 'wsol224': wsolevaluation's own protocol, score map resized to 224x224 (CAMComputer:
    cv2.resize(cam, image_size=(224, 224), INTER_CUBIC)) and GT boxes through resize_bbox to (224, 224)."""
    if frame == 'picture':
        size, boxes = (w, h), gts
    else:
        size, boxes = (CROP, CROP), [resize_bbox(g, (w, h), (CROP, CROP)) for g in gts]
    sm = normalize_scoremap(cv2.resize(cv, size, interpolation=cv2.INTER_CUBIC))
    bxs = wsol_boxes(sm, thresholds)
    return [max(voc_iou(b, g) for b in bs for g in boxes) for bs in bxs]


def protocol_run(ref, W64, root, items, taps_run, methods, gradients='tap', frame='picture', best_ious=True):
    """The whole protocol over a generated set: per image Top-5 and per (tap, method) box, IoU, MaxBoxAccV2
    hits (and per-threshold best IoUs); the table. gradients 'layercam_loc': at conv1_2 ... conv5_3 the maps
    use g2m_reference.layercam_loc_gradients (hooks on the ReLU and the next pool, as layercam_loc)."""
    thresholds = list(np.arange(0, 1, 0.01))
    images = []
    counts = {(t, m): {'top1_loc': 0, 'top5_loc': 0, 'gt_known_loc': 0, 'top1_cls': 0, 'top5_cls': 0, 'iou_sum': 0.0,
                       'maxbox': {lv: np.zeros(100, dtype=np.int64) for lv in (30, 50, 70)}} for t in taps_run for m in methods}
    for name, label, gts in items:
        pic = np.asarray(Image.open(os.path.join(root, 'images', name)).convert('RGB'))
        H, W_ = pic.shape[:2]
        r256 = np.asarray(Image.fromarray(pic).resize((RESIZE, RESIZE), Image.BILINEAR))
        x = np.stack([((c.astype(np.float32) / 255 - np.array(MEAN, np.float32)) / np.array(STD, np.float32)).transpose(2, 0, 1)
                      for c in ten_crop(r256)]).astype(np.float32)
        x64 = torch.from_numpy(x).to(torch.float64)
        z, _, taps = ref.gradients(W64, x64, cls=[label] * 10)
        if gradients == 'layercam_loc':
            _, _, ll = ref.layercam_loc_gradients(W64, x64, cls=[label] * 10)
            taps.update(ll)
        s = z.to(torch.float32).sum(dim=0)
        top5 = [int(v) for v in torch.sort(-s)[1][:5]]
        entry = {'name': name, 'label': label, 'top5': top5, 'maps': {}}
        for t in taps_run:
            A, g1, g2 = taps[t]
            for m in methods:
                maps = ref.compute_map(m, A, g1, g2).to(torch.float32).numpy()
                cv = canvas(maps)
                hm = heat(cv.copy(), W_, H)
                mask = grabcut(pic, hm) if TAP_SIDE[t] >= 56 else hm
                _, box = layercam_box(mask)
                res = [bb_iou(g, box) for g in gts]
                iou = max(r[0] for r in res)
                best = maxbox_best_ious(cv, gts, W_, H, frame, thresholds)
                hits = {str(lv): [k for k in range(100) if best[k] >= lv / 100] for lv in (30, 50, 70)}
                entry['maps']['%s/%s' % (t, m)] = {'box': box, 'iou': iou, 'hits': hits}
                if best_ious:
                    entry['maps']['%s/%s' % (t, m)]['best_iou'] = best
                c = counts[(t, m)]
                c['top1_cls'] += top5[0] == label
                c['top5_cls'] += label in top5
                c['iou_sum'] += iou
                if iou >= 0.5:
                    c['gt_known_loc'] += 1
                    c['top1_loc'] += top5[0] == label
                    c['top5_loc'] += label in top5
                for lv in (30, 50, 70):
                    c['maxbox'][lv][hits[str(lv)]] += 1
        images.append(entry)
    n = len(items)
    table = []
    for t in taps_run:
        for m in methods:
            c = counts[(t, m)]
            accs = [float((c['maxbox'][lv] * 100. / float(n)).max()) for lv in (30, 50, 70)]
            table.append({'layer': t, 'method': m, 'images': n,
                          'counts': {k: int(c[k]) for k in ('top1_loc', 'top5_loc', 'gt_known_loc', 'top1_cls', 'top5_cls')},
                          'percent': {k: percent(int(c[k]), n) for k in ('top1_loc', 'top5_loc', 'gt_known_loc', 'top1_cls', 'top5_cls')},
                          'mean_iou': c['iou_sum'] / float(n), 'max_box_acc': accs, 'maxboxacc_v2': float(np.average(accs))})
    return images, table


TINYSET_SPECS = [('synth_0001.png', 160, 120, 1), ('synth_0002.png', 120, 180, 1), ('synth_0003.jpg', 300, 140, 2),
                 ('synth_0004.png', 256, 256, 1), ('synth_0005.png', 100, 100, 1), ('synth_0006.png', 224, 200, 2)]


def e2e(doc):
    ref = load_g2m_reference()
    W64 = ref.to64(ref.read_safetensors(TINY_WEIGHTS))
    classes = W64['fc8.bias'].shape[0]
    root = os.path.join(OUT, 'tinyset')
    items = write_set(root, TINYSET_SPECS, 23, classes)
    images, table = protocol_run(ref, W64, root, items, E2E_TAPS, E2E_METHODS)
    with open(os.path.join(OUT, 'e2e.json'), 'w') as f:
        json.dump({'taps': E2E_TAPS, 'methods': E2E_METHODS, 'images': images, 'table': table}, f, separators=(',', ':'))
        f.write('\n')
    e2e_options(ref, W64, root, items)


def e2e_options(ref, W64, root, items):
    """The eval options on the same set: e2e.layercam_loc.json (layercam_loc's gradient source at the three
    deep taps before a pool) and e2e.wsol224.json (MaxBoxAccV2 in wsolevaluation's 224x224 frame, taps and
    gradients of e2e.json). Also prints how many boxes the gradient source and MaxBoxAccV2 values the frame move."""
    taps_ll = ['conv5_3', 'conv4_3', 'conv3_3']
    runs = {}
    for gradients in ('tap', 'layercam_loc'):
        runs[gradients] = protocol_run(ref, W64, root, items, taps_ll, E2E_METHODS, gradients=gradients, best_ious=False)
    images, table = runs['layercam_loc']
    with open(os.path.join(OUT, 'e2e.layercam_loc.json'), 'w') as f:
        json.dump({'taps': taps_ll, 'methods': E2E_METHODS, 'gradients': 'layercam_loc', 'maxboxacc_frame': 'picture',
                   'images': images, 'table': table}, f, separators=(',', ':'))
        f.write('\n')
    moved = {t: 0 for t in taps_ll}
    for a, b in zip(runs['tap'][0], runs['layercam_loc'][0]):
        for k in a['maps']:
            moved[k.split('/')[0]] += a['maps'][k]['box'] != b['maps'][k]['box']
    print('layercam_loc vs tap gradients, boxes moved of %d per tap: %s' % (len(items) * len(E2E_METHODS), moved))
    for ta, tb in zip(runs['tap'][1], runs['layercam_loc'][1]):
        if ta['counts'] != tb['counts']:
            print('  %s/%s GT-known %s -> %s' % (ta['layer'], ta['method'], ta['percent']['gt_known_loc'], tb['percent']['gt_known_loc']))

    images, table = protocol_run(ref, W64, root, items, E2E_TAPS, E2E_METHODS, frame='wsol224', best_ious=False)
    cases = []
    for name, w, h, _ in TINYSET_SPECS:
        for b in ([0, 0, w - 1, h - 1], [w // 3, h // 5, w - 7, h - 2], [1, 1, 2, 3]):
            cases.append({'box': b, 'size': [w, h], 'resized': resize_bbox(b, (w, h), (CROP, CROP))})
    for b, size in (([45, 49, 499, 162], (500, 375)), ([0, 17, 333, 499], (333, 500)), ([99, 7, 100, 8], (101, 9))):
        cases.append({'box': b, 'size': list(size), 'resized': resize_bbox(b, size, (CROP, CROP))})
    with open(os.path.join(OUT, 'e2e.wsol224.json'), 'w') as f:
        json.dump({'taps': E2E_TAPS, 'methods': E2E_METHODS, 'gradients': 'tap', 'maxboxacc_frame': 'wsol224',
                   'resize_bbox': cases, 'images': images, 'table': table}, f, separators=(',', ':'))
        f.write('\n')
    with open(os.path.join(OUT, 'e2e.json')) as f:
        picture = json.load(f)['table']
    for a, b in zip(picture, table):
        if a['maxboxacc_v2'] != b['maxboxacc_v2']:
            print('  MaxBoxAccV2 %s/%s picture %.2f -> wsol224 %.2f' % (a['layer'], a['method'], a['maxboxacc_v2'], b['maxboxacc_v2']))


def synthetic_set(root, n, w, h):
    specs = [('synth_%05d.jpg' % (i + 1), w, h, 1 + i % 2) for i in range(n)]
    write_set(root, specs, 31, 1000)


# ------------------------------------------------------------------------------- main

def main():
    os.makedirs(OUT, exist_ok=True)
    doc = {}

    pic = picture()
    Image.fromarray(pic).save(os.path.join(OUT, 'picture.png'), optimize=True)
    r256 = np.asarray(Image.fromarray(pic).resize((RESIZE, RESIZE), Image.BILINEAR))
    Image.fromarray(r256).save(os.path.join(OUT, 'resized256.png'), optimize=True)
    src = Image.open(os.path.join(OUT, '..', 'images', 'rs_down_src.png')).convert('RGB')
    src.resize((RESIZE, RESIZE), Image.BILINEAR).save(os.path.join(OUT, 'resized256.rs_down.png'), optimize=True)
    src.crop((0, 0, 180, 375)).resize((RESIZE, RESIZE), Image.BILINEAR).save(os.path.join(OUT, 'resized256.tall.png'), optimize=True)

    # step 1: ten-crop
    crops = ten_crop(r256)
    x = np.stack([((c.astype(np.float32) / 255 - np.array(MEAN, np.float32)) / np.array(STD, np.float32)).transpose(2, 0, 1)
                  for c in crops]).astype(np.float32)
    write_safetensors(os.path.join(OUT, 'tencrop.safetensors'), {
        'crops': torch.tensor(ten_crop_positions(), dtype=torch.float32),
        'input_sub': torch.from_numpy(np.ascontiguousarray(x[:, :, ::8, ::8])),
        'input_sum': torch.from_numpy(x.astype(np.float64).sum(axis=(2, 3))),
    })

    # steps 2-5
    maps = {n: crop_maps(n, 100 + n) for n in (14, 28, 56)}
    rng = np.random.default_rng(5)
    up_src = rng.normal(size=(2, 5, 7)).astype(np.float32)
    tensors = {'map.%d' % n: torch.from_numpy(m) for n, m in maps.items()}
    tensors['up_src'] = torch.from_numpy(up_src)
    tensors['up'] = torch.from_numpy(upsample(up_src, 33, 50))
    canvases = {n: canvas(m) for n, m in maps.items()}
    for n in (14, 28, 56):
        tensors['canvas.%d' % n] = torch.from_numpy(canvases[n])
    sm14 = normalize_scoremap(cv2.resize(canvases[14], (150, 100), interpolation=cv2.INTER_CUBIC))
    write_safetensors(os.path.join(OUT, 'maps.safetensors'), tensors)

    doc['boxes'] = {}
    heats = {}
    for n in (14, 28, 56):
        heats[n] = heat(canvases[n].copy(), W, H)
        save_gray('heat.%d.png' % n, heats[n])
        rects, box = layercam_box(heats[n])
        doc['boxes']['heat.%d' % n] = {'rects': rects, 'box': box}
    for n in (28, 56):
        g = grabcut(pic, heats[n])
        save_gray('grabcut.%d.png' % n, g)
        rects, box = layercam_box(g)
        doc['boxes']['grabcut.%d' % n] = {'rects': rects, 'box': box}

    # hand-made binary patterns for the contour step (uint8 0/255, row-major strings)
    patterns = {}
    p = np.zeros((30, 40), np.uint8)
    p[2:20, 3:30] = 255; p[6:14, 8:20] = 0; p[9:11, 12:14] = 255          # nested: outer, hole, island
    p[22:28, 30:39] = 255                                                 # touches no border
    p[25:30, 0:4] = 255                                                   # touches the border
    patterns['nested'] = p
    q = np.zeros((20, 30), np.uint8)
    q[2:6, 2:8] = 255; q[10:14, 20:26] = 255; q[15:19, 1:7] = 255          # equal areas: first wins
    patterns['ties'] = q
    d = np.zeros((16, 16), np.uint8)
    for i in range(3, 12):
        d[i, i] = 255                                                      # a diagonal line
    d[0, 15] = 255                                                         # a single corner pixel
    patterns['thin'] = d
    v = np.full((12, 10), 38, np.uint8); v[3:6, 2:5] = 39                   # 38 is not > 38.25, 39 is
    patterns['threshold'] = v
    patterns['empty'] = np.zeros((8, 9), np.uint8)
    doc['patterns'] = {}
    for k, pat in patterns.items():
        rects, box = layercam_box(pat)
        doc['patterns'][k] = {'h': pat.shape[0], 'w': pat.shape[1], 'data': pat.flatten().tolist(),
                              'rects': rects, 'box': box}

    # step 6: IoU cases
    rng = np.random.default_rng(11)
    cases = []
    for _ in range(200):
        a = rng.integers(0, 60, 4); b = rng.integers(0, 60, 4)
        a = [int(min(a[0], a[2])), int(min(a[1], a[3])), int(max(a[0], a[2])), int(max(a[1], a[3]))]
        b = [int(min(b[0], b[2])), int(min(b[1], b[3])), int(max(b[0], b[2])), int(max(b[1], b[3]))]
        cases.append((a, b))
    cases += [([0, 0, 9, 9], [9, 0, 19, 9]), ([0, 0, 9, 9], [0, 0, 9, 9]), ([5, 5, 5, 5], [5, 5, 5, 5]),
              ([0, 0, 1, 1], [0, 0, 1, 1]), ([0, 0, 9, 9], [10, 0, 19, 9])]
    doc['iou'] = [{'gt': a, 'est': b, 'layercam': bb_iou(a, b)[0], 'recall': bb_iou(a, b)[1], 'voc': voc_iou(a, b)}
                  for a, b in cases]

    # step 7: outcomes over a synthetic set
    rng = np.random.default_rng(13)
    C = 12
    outcomes = []
    all_logits = []
    all_iou = all_recall = 0.0
    cnt = {'cls1': 0, 'cls5': 0, 'gt': 0, 'loc1': 0, 'loc5': 0}
    N = 37
    for i in range(N):
        logits = rng.normal(size=(10, C)).astype(np.float32)
        label = int(rng.integers(0, C))
        if i % 3 == 0:
            logits[:, label] += 1.5
        s = torch.from_numpy(logits).sum(dim=0).unsqueeze(0)
        p = torch.softmax(s, dim=1)
        top1 = int(p.max(1)[1].item())
        top5 = [int(v) for v in torch.sort(-p, 1)[1][0, :5]]
        ngt = int(rng.integers(1, 4))
        gts = []
        for _ in range(ngt):
            x0, y0 = rng.integers(0, 200), rng.integers(0, 150)
            gts.append([int(x0), int(y0), int(x0 + rng.integers(5, 100)), int(y0 + rng.integers(5, 50))])
        g = gts[int(rng.integers(0, ngt))]
        jit = rng.integers(-25, 26, 4)
        est = [max(0, g[0] + int(jit[0])), max(0, g[1] + int(jit[1])), g[2] + int(jit[2]), g[3] + int(jit[3])]
        if est[2] < est[0]:
            est[2] = est[0]
        if est[3] < est[1]:
            est[3] = est[1]
        if i == 5:
            est = [0, 0, 1, 1]
        res = [bb_iou(gg, est) for gg in gts]
        ious = [r[0] for r in res]
        iou = max(ious)
        recall = res[ious.index(iou)][1]
        all_iou += iou
        all_recall += recall
        cnt['cls1'] += top1 == label
        cnt['cls5'] += label in top5
        if iou >= 0.5:
            cnt['gt'] += 1
            cnt['loc1'] += top1 == label
            cnt['loc5'] += label in top5
        all_logits.append(logits)
        outcomes.append({'label': label, 'top1': top1, 'top5': top5,
                         'gt': gts, 'est': est, 'iou': iou, 'recall': recall})
    doc['outcomes'] = {'classes': C, 'images': outcomes,
                       'counts': cnt,
                       'percent': {k: percent(v, N) for k, v in cnt.items()},
                       'mean_iou': all_iou / float(N), 'mean_recall': all_recall / float(N)}
    write_safetensors(os.path.join(OUT, 'outcomes.safetensors'), {'logits': torch.from_numpy(np.stack(all_logits))})
    doc['percent_cases'] = [[c, n, percent(c, n)] for c, n in
                            [(1, 8), (3, 8), (1, 800), (3, 800), (5, 800), (1, 3), (2, 3), (0, 5), (5, 5), (1, 6), (1, 7),
                             (12345, 50000), (40021, 50000), (1, 1600), (7, 1600)]]

    # step 8: MaxBoxAccV2
    thresholds = list(np.arange(0, 1, 0.01))
    iou_levels = [30, 50, 70]
    rng = np.random.default_rng(17)
    sms, gts_all = [], []
    for i in range(5):
        h, w = 48 + 4 * i, 64 - 2 * i
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        m = np.zeros((h, w))
        gts = []
        for _ in range(int(rng.integers(1, 4))):
            cx, cy = rng.uniform(8, w - 8), rng.uniform(8, h - 8)
            rx, ry = rng.uniform(3, 12), rng.uniform(3, 10)
            m += rng.uniform(0.4, 1.0) * np.exp(-0.5 * (((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2))
            j = rng.integers(-4, 5, 4) * (i % 2)
            gts.append([int(max(0, cx - 1.6 * rx + j[0])), int(max(0, cy - 1.6 * ry + j[1])),
                        int(min(w - 1, cx + 1.6 * rx + j[2])), int(min(h - 1, cy + 1.6 * ry + j[3]))])
        m += rng.normal(scale=0.03, size=(h, w))
        sms.append(normalize_scoremap(m.astype(np.float32)))
        gts_all.append(gts)
    sms.append(np.zeros((10, 12), np.float32))                  # constant map -> zeros -> box [0,0,0,0]
    gts_all.append([[0, 0, 3, 3]])
    sms.append(sm14)                                            # a protocol canvas, resized and normalised
    gts_all.append([[180 // 2, 40 // 2, 260 // 2, 120 // 2]])
    num_correct = {t: np.zeros(len(thresholds)) for t in iou_levels}
    per_image = []
    for sm, gts in zip(sms, gts_all):
        boxes = wsol_boxes(sm, thresholds)
        flat = np.array([b for bs in boxes for b in bs])
        nb = [len(bs) for bs in boxes]
        ious = np.array([[voc_iou(b, g) for g in gts] for b in flat])
        best, idx = [], 0
        for k in nb:
            best.append(float(max(ious.max(1)[idx:idx + k])))
            idx += k
        hits = {}
        for t in iou_levels:
            ok = np.where(np.asarray(best) >= (t / 100))[0]
            num_correct[t][ok] += 1
            hits[str(t)] = [int(v) for v in ok]
        per_image.append({'gt': gts, 'best_iou': best, 'hits': hits, 'boxes_at_50': boxes[50]})
    accs = [float((num_correct[t] * 100. / float(len(sms))).max()) for t in iou_levels]
    doc['maxbox'] = {'images': per_image,
                     'num_correct': {str(t): num_correct[t].astype(int).tolist() for t in iou_levels},
                     'max_box_acc': accs, 'value': float(np.average(accs))}
    write_safetensors(os.path.join(OUT, 'maxbox.safetensors'),
                      {'scoremap.%d' % i: torch.from_numpy(np.ascontiguousarray(s.astype(np.float32))) for i, s in enumerate(sms)})

    with open(os.path.join(OUT, 'boxes.json'), 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    e2e(doc)
    import PIL
    with open(os.path.join(OUT, 'manifest.txt'), 'w') as f:
        f.write('written by tools/reference/eval_reference.py\n')
        f.write('opencv-python %s, numpy %s, torch %s, Pillow %s\n' % (cv2.__version__, np.__version__, torch.__version__, PIL.__version__))
        f.write('grabcut seed %d (cv2.setRNGSeed before every call)\n' % GRABCUT_SEED)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        usage='%(prog)s [-h] [--synthetic-set DIR N [W H]]',
        description='Without options: (re)writes the eval goldens in ' + os.path.relpath(OUT)
                    + ' (deterministic). The module docstring lists the files.',
        epilog='--synthetic-set DIR N [W H]: instead writes N synthetic pictures (JPEG, default 500x375) '
               'with PASCAL-VOC boxes and val.txt in the tinyset layout to DIR, for timing runs.')
    p.add_argument('--synthetic-set', nargs='+', metavar='ARG', help='DIR N [W H] (see below)')
    args = p.parse_args(argv)
    if args.synthetic_set is not None:
        a = args.synthetic_set
        if len(a) not in (2, 4) or not all(v.isdigit() and int(v) > 0 for v in a[1:]):
            p.error('--synthetic-set takes DIR N [W H] (N, W, H positive integers), got: ' + ' '.join(a))
    return args


if __name__ == '__main__':
    ARGS = parse_args()
    if ARGS.synthetic_set is not None:
        d, n, *wh = ARGS.synthetic_set
        synthetic_set(d, int(n), *(int(v) for v in wh) if wh else (500, 375))
    else:
        main()
