#!/usr/bin/env python3
"""Goldens for PxAP (pixel average precision, Choe et al. 2020) in g2m.eval, following the semantics
of wsolevaluation's MaskEvaluator / get_mask (read, not copied), at the picture's size as the engine
computes it:

    /usr/bin/python3 tools/reference/pxap_reference.py     # (re)writes engine/src/test/resources/eval/maskset/ and pxap.json

Semantics restated:
  * ground truth of a picture: the union of its object masks (a mask pixel is set when its
    cv2.imread(..., IMREAD_GRAYSCALE) value is > 0.5), "ignored" where the ignore mask is set and no
    object mask is, background elsewhere; a mask of another size than the picture is resized to it
    with cv2.INTER_NEAREST (wsolevaluation resizes masks and score map to 224x224 instead);
  * score map: the protocol's 256x256 canvas resized to the picture with float32 cv2.INTER_CUBIC,
    min-max normalised (the MaxBoxAccV2 score map of eval_reference.py);
  * thresholds t_k = k * 0.01, k = 0..99, then 1 and 2; over the whole dataset, for each threshold
    TP = object pixels with score >= t, FP = background pixels with score >= t (ignored pixels
    never count), precision = TP / (TP + FP), recall = TP / (all object pixels);
  * PxAP = 100 * sum over thresholds from high to low, where TP + FP > 0, of
    precision_j * (recall_j - recall_{j-1}), the sum taken with np.sum.
The engine keeps per picture the histograms of scores in [t_k, t_k+1) (then [1, 2), [2, 3]) for
object and background pixels; here the counts are computed both ways (direct comparisons and
histograms) and must agree.

Files (engine/src/test/resources/eval/):
  maskset/             a small generated dataset in wsolevaluation's OpenImages layout:
                       metadata/test/{image_ids,class_labels,localization}.txt and
                       test/<class>/<id>.(png|jpg), <id>_m<class>_<n>.png (1-bit PNG, one per object),
                       <id>_ignore.png (RGB PNG); one mask at twice the picture's size, one picture
                       whose ignore region overlaps an object, one with an empty ignore mask
  pxap.json            "cases": hand-made score maps and masks (values on and next to the thresholds,
                       1.0, ignored pixels) with their histograms and PxAP; "e2e": the whole protocol
                       on maskset with the tiny fixture network (as eval_reference.py's e2e: PyTorch
                       preprocessing, float64 network, float32 maps, taps conv5_1 and conv3_3, the four
                       G2M methods): per picture Top-5, the boxes of its masks, and per (tap, method)
                       box, IoU, MaxBoxAccV2 hits and PxAP histograms; per (tap, method) the table
                       counts, MaxBoxAccV2 and PxAP.
"""
import json
import os
import sys

import cv2
import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import eval_reference as er  # noqa: E402  (the protocol steps, shared with eval_reference.py's e2e)

OUT = er.OUT
SET = os.path.join(OUT, 'maskset')
THRESHOLDS = [k * 0.01 for k in range(100)]            # the values of np.arange(0, 1, 0.01)
EDGES = np.array(THRESHOLDS + [1.0, 2.0, 3.0], dtype=np.float64)
BINS = len(EDGES) - 1


# ------------------------------------------------------------------------------- PxAP

def histogram(scores):
    """Counts per bin [e_k, e_k+1), the last one closed, by direct comparison in float64."""
    v = np.asarray(scores, dtype=np.float32).astype(np.float64).ravel()
    h = np.zeros(BINS, dtype=np.int64)
    for k in range(BINS):
        hi = (v <= EDGES[k + 1]) if k == BINS - 1 else (v < EDGES[k + 1])
        h[k] = int(np.count_nonzero((v >= EDGES[k]) & hi))
    check, _ = np.histogram(v, bins=EDGES)
    assert (check == h).all()
    return h


def pixel_hist(scoremap, classes):
    """[object-pixel bins..., background-pixel bins...] of one picture (classes: 0 bg, 1 object, 2 ignored)."""
    return np.concatenate([histogram(scoremap[classes == 1]), histogram(scoremap[classes == 0])])


def pxap(hist):
    """AP in percent from summed histograms; None without object pixels."""
    true_h, false_h = hist[:BINS].astype(np.float64), hist[BINS:].astype(np.float64)
    n_true = true_h.sum()
    if n_true <= 0:
        return None
    tp = np.cumsum(true_h[::-1])          # scores >= 2, >= 1, >= 0.99, ..., >= 0
    fp = np.cumsum(false_h[::-1])
    with np.errstate(invalid='ignore', divide='ignore'):
        precision = tp / (tp + fp)
        recall = tp / (tp + (n_true - tp))
    keep = (tp + fp)[1:] != 0
    return float(np.sum((precision[1:] * (recall[1:] - recall[:-1]))[keep]) * 100)


def pxap_direct(scoremaps, classes_list):
    """The same AP from per-threshold counts by comparison (no histograms), as a cross-check."""
    ts = [2.0, 1.0] + THRESHOLDS[::-1]
    tp = np.array([sum(int(np.count_nonzero(s[c == 1].astype(np.float64) >= t)) for s, c in zip(scoremaps, classes_list)) for t in ts], np.float64)
    fp = np.array([sum(int(np.count_nonzero(s[c == 0].astype(np.float64) >= t)) for s, c in zip(scoremaps, classes_list)) for t in ts], np.float64)
    n_true = float(sum(int(np.count_nonzero(c == 1)) for c in classes_list))
    with np.errstate(invalid='ignore', divide='ignore'):
        precision, recall = tp / (tp + fp), tp / n_true
    keep = (tp + fp)[1:] != 0
    return float(np.sum((precision[1:] * (recall[1:] - recall[:-1]))[keep]) * 100)


# ------------------------------------------------------------------------------- masks

def read_mask(path, w, h):
    m = np.float32(cv2.imread(path, cv2.IMREAD_GRAYSCALE))
    if m.shape != (h, w):
        m = cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST)
    return m > 0.5


def ground_truth(root, masks, ignore, w, h):
    """classes [h, w] (0 bg, 1 object, 2 ignored) and each mask's inclusive bounding box."""
    objs = [read_mask(os.path.join(root, m), w, h) for m in masks]
    fg = np.stack(objs).any(axis=0)
    classes = fg.astype(np.uint8)
    if ignore:
        ign = read_mask(os.path.join(root, ignore), w, h) & ~fg
        classes[ign] = 2
    boxes = []
    for o in objs:
        ys, xs = np.nonzero(o)
        if len(xs):
            boxes.append([int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())])
    return classes, boxes


# ------------------------------------------------------------------------------- the mask set

# (class folder, id, ext, w, h, objects, ignore kind, mask scale)
SPECS = [('01aaa1', '1a2b3c4d5e6f7081', 'png', 160, 120, 1, 'box', 1),
         ('01aaa1', '2b3c4d5e6f708192', 'jpg', 200, 150, 2, 'overlap', 1),
         ('02bbb2', '3c4d5e6f708192a3', 'png', 120, 160, 1, 'empty', 2),
         ('02bbb2', '4d5e6f708192a3b4', 'png', 180, 180, 2, 'box', 1),
         ('03ccc3', '5e6f708192a3b4c5', 'jpg', 150, 100, 1, 'box', 1)]


def write_set():
    rng = np.random.default_rng(41)
    meta = os.path.join(SET, 'metadata', 'test')
    os.makedirs(meta, exist_ok=True)
    ids, labels, loc = [], [], []
    items = []
    for i, (cls, iid, ext, w, h, n, ign_kind, scale) in enumerate(SPECS):
        folder = os.path.join(SET, 'test', cls)
        os.makedirs(folder, exist_ok=True)
        pic = er.synthetic_picture(rng, w, h, 0)[0].astype(np.float64)
        yy, xx = np.mgrid[0:h * scale, 0:w * scale].astype(np.float64) / scale
        masks = []
        for k in range(n):
            rx, ry = rng.uniform(0.15, 0.3) * w, rng.uniform(0.15, 0.3) * h
            cx, cy = rng.uniform(rx, w - rx), rng.uniform(ry, h - ry)
            inside = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
            small = inside if scale == 1 else inside[::scale, ::scale]
            pic[small] = rng.uniform(0, 255, 3) + rng.normal(scale=4, size=(int(small.sum()), 3))
            masks.append(inside)
        ignore = np.zeros((h * scale, w * scale), dtype=bool)
        if ign_kind == 'box':            # an unannotated instance's box, apart from the objects
            x0, y0 = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
            ignore[y0 * scale:(y0 + h // 4) * scale, x0 * scale:(x0 + w // 4) * scale] = True
        elif ign_kind == 'overlap':      # a box over part of the first object: the object wins
            ys, xs = np.nonzero(masks[0])
            ignore[int(ys.mean()):int(ys.max()) + 6, max(0, int(xs.min()) - 4):int(xs.mean())] = True
        name = 'test/%s/%s.%s' % (cls, iid, ext)
        im = Image.fromarray(np.clip(np.round(pic), 0, 255).astype(np.uint8))
        im.save(os.path.join(SET, name), **({'quality': 90} if ext == 'jpg' else {'optimize': True}))
        mask_names = []
        for k, m in enumerate(masks):
            mn = 'test/%s/%s_m%s_%d.png' % (cls, iid, cls, k)
            Image.fromarray(m).convert('1').save(os.path.join(SET, mn))       # 1-bit, as OpenImages' masks
            mask_names.append(mn)
        ig = 'test/%s/%s_ignore.png' % (cls, iid)
        Image.fromarray((ignore * 255).astype(np.uint8)).convert('RGB').save(os.path.join(SET, ig))   # RGB, as theirs
        label = (3 * i + 1) % 10
        ids.append(name)
        labels.append('%s,%d' % (name, label))
        for k, mn in enumerate(mask_names):
            loc.append('%s,%s,%s' % (name, mn, ig if k == 0 else ''))
        items.append((name, label, mask_names, ig, w, h))
    for fname, lines in (('image_ids.txt', ids), ('class_labels.txt', labels), ('localization.txt', loc)):
        with open(os.path.join(meta, fname), 'w') as f:
            f.writelines(l + '\n' for l in lines)
    return items


# ------------------------------------------------------------------------------- goldens

def cases():
    """Hand-made score maps against masks, one dataset: values exactly on thresholds (as float32),
    just below and above them, 0 and 1, and ignored pixels."""
    rng = np.random.default_rng(43)
    out = []
    maps, cls_list = [], []
    for c in range(4):
        h, w = 9 + c, 13
        s = rng.random((h, w)).astype(np.float32)
        k = rng.integers(0, 100, size=(h, w))
        on = rng.random((h, w)) < 0.3
        s[on] = (k[on] * 0.01).astype(np.float32)                            # float32(k * 0.01): often just below the edge
        s[0, :3] = [0.0, 1.0, np.nextafter(np.float32(0.5), np.float32(1))]
        s = s / s.max() if c else s
        classes = (rng.random((h, w)) < 0.35).astype(np.uint8)
        classes[rng.random((h, w)) < 0.15] = 2
        hist = pixel_hist(s, classes)
        maps.append(s)
        cls_list.append(classes)
        out.append({'w': w, 'h': h, 'score': [float(v) for v in s.ravel()], 'classes': [int(v) for v in classes.ravel()],
                    'hist': [int(v) for v in hist], 'pxap': pxap(hist)})
    total = np.sum([np.array(c['hist']) for c in out], axis=0)
    value = pxap(total)
    assert abs(value - pxap_direct(maps, cls_list)) <= 1e-12 * abs(value)
    return {'images': out, 'pxap': value}


def e2e(items):
    import importlib.util
    spec = importlib.util.spec_from_file_location('g2m_reference', os.path.join(HERE, 'g2m_reference.py'))
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    W64 = ref.to64(ref.read_safetensors(er.TINY_WEIGHTS))
    images = []
    keys = ['%s/%s' % (t, m) for t in er.E2E_TAPS for m in er.E2E_METHODS]
    counts = {k: {'top1_loc': 0, 'top5_loc': 0, 'gt_known_loc': 0, 'top1_cls': 0, 'top5_cls': 0, 'iou_sum': 0.0,
                  'maxbox': {lv: np.zeros(100, dtype=np.int64) for lv in (30, 50, 70)}, 'px': np.zeros(2 * BINS, np.int64),
                  'maps': [], 'classes': []} for k in keys}
    for name, label, mask_names, ig, w, h in items:
        pic = np.asarray(Image.open(os.path.join(SET, name)).convert('RGB'))
        assert pic.shape[:2] == (h, w)
        classes, gts = ground_truth(SET, mask_names, ig, w, h)
        r256 = np.asarray(Image.fromarray(pic).resize((er.RESIZE, er.RESIZE), Image.BILINEAR))
        x = np.stack([((c.astype(np.float32) / 255 - np.array(er.MEAN, np.float32)) / np.array(er.STD, np.float32)).transpose(2, 0, 1)
                      for c in er.ten_crop(r256)]).astype(np.float32)
        z, _, taps = ref.gradients(W64, torch.from_numpy(x).to(torch.float64), cls=[label] * 10)
        s = z.to(torch.float32).sum(dim=0)
        top5 = [int(v) for v in torch.sort(-s)[1][:5]]
        entry = {'name': name, 'label': label, 'top5': top5, 'gt_boxes': gts,
                 'classes_count': [int(np.count_nonzero(classes == v)) for v in (0, 1, 2)], 'maps': {}}
        for t in er.E2E_TAPS:
            A, g1, g2 = taps[t]
            for m in er.E2E_METHODS:
                maps = ref.compute_map(m, A, g1, g2).to(torch.float32).numpy()
                cv = er.canvas(maps)
                hm = er.heat(cv.copy(), w, h)
                mask = er.grabcut(pic, hm) if er.TAP_SIDE[t] >= 56 else hm
                _, box = er.layercam_box(mask)
                iou = max(er.bb_iou(g, box)[0] for g in gts)
                sm = er.normalize_scoremap(cv2.resize(cv, (w, h), interpolation=cv2.INTER_CUBIC))
                best = [max(er.voc_iou(b, g) for b in bs for g in gts) for bs in er.wsol_boxes(sm, THRESHOLDS)]
                hits = {str(lv): [k for k in range(100) if best[k] >= lv / 100] for lv in (30, 50, 70)}
                px = pixel_hist(sm, classes)
                key = '%s/%s' % (t, m)
                entry['maps'][key] = {'box': box, 'iou': iou, 'hits': hits, 'px': [int(v) for v in px]}
                c = counts[key]
                c['top1_cls'] += top5[0] == label
                c['top5_cls'] += label in top5
                c['iou_sum'] += iou
                if iou >= 0.5:
                    c['gt_known_loc'] += 1
                    c['top1_loc'] += top5[0] == label
                    c['top5_loc'] += label in top5
                for lv in (30, 50, 70):
                    c['maxbox'][lv][hits[str(lv)]] += 1
                c['px'] += px
                c['maps'].append(sm)
                c['classes'].append(classes)
        images.append(entry)
    n = len(items)
    table = []
    for key in keys:
        c = counts[key]
        accs = [float((c['maxbox'][lv] * 100. / float(n)).max()) for lv in (30, 50, 70)]
        value = pxap(c['px'])
        assert abs(value - pxap_direct(c['maps'], c['classes'])) <= 1e-12 * abs(value), key
        t, m = key.split('/')
        table.append({'layer': t, 'method': m, 'images': n,
                      'counts': {k: int(c[k]) for k in ('top1_loc', 'top5_loc', 'gt_known_loc', 'top1_cls', 'top5_cls')},
                      'percent': {k: er.percent(int(c[k]), n) for k in ('top1_loc', 'top5_loc', 'gt_known_loc', 'top1_cls', 'top5_cls')},
                      'mean_iou': c['iou_sum'] / float(n), 'max_box_acc': accs, 'maxboxacc_v2': float(np.average(accs)), 'pxap': value})
    return {'taps': er.E2E_TAPS, 'methods': er.E2E_METHODS, 'images': images, 'table': table}


def main():
    items = write_set()
    doc = {'edges': [float(e) for e in EDGES], 'cases': cases(), 'e2e': e2e(items)}
    with open(os.path.join(OUT, 'pxap.json'), 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print('wrote %d pictures to %s and pxap.json' % (len(items), SET))


if __name__ == '__main__':
    main()
