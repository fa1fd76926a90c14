#!/usr/bin/env python3
"""Goldens for the engine's g2m.image and g2m.overlay tests, made with PIL, OpenCV-Python and numpy.

    /usr/bin/python3 tools/reference/image_reference.py            # (re)writes engine/src/test/resources/images/
    /usr/bin/python3 tools/reference/image_reference.py --measure [PHOTO ...]
                                                                    # the resize comparison of RESIZE.md

Debian packages: python3-pil python3-opencv python3-numpy. Deterministic: every picture is
synthesised from fixed seeds (no downloads), so re-running it with the same library versions
rewrites identical files. What each file is for:

  dec_*.png|jpg + dec_*.{png,jpg}.npy  a source and the RGB pixels (uint8, H x W x 3) the loader
                                       must produce: PIL's Image.open(f).convert('RGB'), except
                                       16-bit grayscale (see DECODE_RULE_16BIT_GRAY)
  rs_*_src.png, rs_*_pil.png,          resize sources, PIL's bilinear result (the reference) and
  rs_*_cv.png                          the engine's OpenCV recipe done in OpenCV-Python
  ov_image.png, ov_map.npy,            the overlay: photo (RGB), a float32 7x9 map with negative
  ov_heat.npy, ov_expected.png         values, its normalised uint8 heat and the blended overlay
  npy_golden.npy                       numpy's own .npy for a float32 (3, 5) array
  manifest.txt                         library versions and the measured differences
"""
import argparse
import io
import math
import os
import sys

import cv2
import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'engine', 'src', 'test', 'resources', 'images')
SHORT = 224


# ---------------------------------------------------------------- synthetic "natural" pictures

def natural(h, w, seed, noise=2.0):
    """1/f-spectrum colour texture, a disc and an oblique edge, mild grain: photo-like statistics."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    f = np.sqrt(fx ** 2 + fy ** 2)
    f[0, 0] = 1
    out = np.zeros((h, w, 3))
    for c in range(3):
        spec = (rng.normal(size=(h, w)) + 1j * rng.normal(size=(h, w))) / f ** 1.1
        t = np.real(np.fft.ifft2(spec))
        out[..., c] = (t - t.mean()) / t.std()
    out = out @ np.array([[1, .6, .3], [.5, 1, .4], [.2, .5, 1]])
    yy, xx = np.mgrid[0:h, 0:w]
    out[..., 0] += 1.5 * ((xx - w * .3) ** 2 + (yy - h * .6) ** 2 < (min(h, w) * .2) ** 2)
    out[..., 2] -= 1.2 * (xx + 0.5 * yy > w * .8)
    out = 128 + 40 * out + rng.normal(scale=noise, size=out.shape)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- the engine's recipes, in Python

def target_size(w, h, short=SHORT):
    """torchvision Resize(int): shorter side -> short, longer -> int(short * long / short_side)."""
    s, l = (w, h) if w <= h else (h, w)
    if s == short:
        return w, h
    nl = int(short * l / s)
    return (short, nl) if w <= h else (nl, short)


def cv_resize(rgb, tw, th):
    """The engine's resize (g2m.image.Resizer): same size = untouched; if an axis shrinks, a
    Gaussian blur along each shrinking axis (sigma = scale / sqrt(12), BORDER_REFLECT) then
    INTER_AREA; otherwise INTER_LINEAR_EXACT."""
    h, w = rgb.shape[:2]
    if (tw, th) == (w, h):
        return rgb.copy()
    if tw < w or th < h:
        sx, sy = w / tw / math.sqrt(12), h / th / math.sqrt(12)
        ksize = lambda s: int(round(s * 3 * 2 + 1)) | 1       # what OpenCV derives from sigma for 8-bit
        if tw < w and th < h:
            blurred = cv2.GaussianBlur(rgb, (0, 0), sigmaX=sx, sigmaY=sy, borderType=cv2.BORDER_REFLECT)
        elif tw < w:
            blurred = cv2.GaussianBlur(rgb, (ksize(sx), 1), sigmaX=sx, sigmaY=1, borderType=cv2.BORDER_REFLECT)
        else:
            blurred = cv2.GaussianBlur(rgb, (1, ksize(sy)), sigmaX=1, sigmaY=sy, borderType=cv2.BORDER_REFLECT)
        return cv2.resize(blurred, (tw, th), interpolation=cv2.INTER_AREA)
    return cv2.resize(rgb, (tw, th), interpolation=cv2.INTER_LINEAR_EXACT)


def pil_resize(rgb, tw, th):
    return np.asarray(Image.fromarray(rgb).resize((tw, th), Image.BILINEAR))


def overlay(rgb, cam):
    """The spec's overlay, blended in ONE colour order (BGR here, as imwrite wants)."""
    h, w = rgb.shape[:2]
    m = cv2.resize(cam, (w, h), interpolation=cv2.INTER_CUBIC)
    m = m - m.min()
    m = m / (m.max() + 1e-8)
    heat8 = np.uint8(255 * m)                       # numpy float32 -> uint8: truncation
    heat = cv2.applyColorMap(heat8, cv2.COLORMAP_JET)   # BGR
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    blend = np.clip(np.round(0.3 * bgr.astype(np.float64) + 0.7 * heat.astype(np.float64)), 0, 255).astype(np.uint8)
    return heat8, blend


# ---------------------------------------------------------------- measurement (RESIZE.md)

CANDIDATES = {
    'INTER_LINEAR': lambda a, tw, th: cv2.resize(a, (tw, th), interpolation=cv2.INTER_LINEAR),
    'INTER_LINEAR_EXACT': lambda a, tw, th: cv2.resize(a, (tw, th), interpolation=cv2.INTER_LINEAR_EXACT),
    'INTER_AREA': lambda a, tw, th: cv2.resize(a, (tw, th), interpolation=cv2.INTER_AREA),
    'INTER_CUBIC': lambda a, tw, th: cv2.resize(a, (tw, th), interpolation=cv2.INTER_CUBIC),
    'INTER_LANCZOS4': lambda a, tw, th: cv2.resize(a, (tw, th), interpolation=cv2.INTER_LANCZOS4),
    'engine (blur+AREA / LINEAR_EXACT)': cv_resize,
}


def measure(photos):
    sources = [('natural 500x375', natural(375, 500, 11)), ('natural 333x500', natural(500, 333, 12)),
               ('natural 1200x900', natural(900, 1200, 13)), ('natural 160x120', natural(120, 160, 14)),
               ('natural 200x150', natural(150, 200, 15))]
    for p in photos:
        src = np.asarray(Image.open(p).convert('RGB'))
        sources.append((os.path.basename(p) + ' %dx%d' % (src.shape[1], src.shape[0]), src))
        for short in (300, 380, 670):    # the photo at other sizes, to vary the scale factor
            w = int(round(short * src.shape[1] / src.shape[0]))
            sources.append(('  same at %dx%d' % (w, short), np.asarray(Image.fromarray(src).resize((w, short), Image.LANCZOS))))
    print('| source -> target | ' + ' | '.join(CANDIDATES) + ' |')
    print('|---|' + '---|' * len(CANDIDATES))
    for name, a in sources:
        h, w = a.shape[:2]
        tw, th = target_size(w, h)
        ref = pil_resize(a, tw, th).astype(int)
        cells = []
        for fn in CANDIDATES.values():
            d = np.abs(fn(a, tw, th).astype(int) - ref)
            cells.append('%.2f / %d' % (d.mean(), d.max()))
        print('| %s -> %dx%d | %s |' % (name, tw, th, ' | '.join(cells)))


# ---------------------------------------------------------------- goldens

def pil_rgb(path):
    return np.asarray(Image.open(path).convert('RGB'))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--measure', action='store_true', help='print the resize comparison table and exit')
    ap.add_argument('--out', default=OUT)
    ap.add_argument('photos', nargs='*', help='extra photographs for --measure')
    args = ap.parse_args()
    if args.measure:
        measure(args.photos)
        return
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):      # only what this script writes
        if f.startswith(('dec_', 'rs_', 'ov_', 'npy_')) or f == 'manifest.txt':
            os.remove(os.path.join(out, f))
    P = lambda n: os.path.join(out, n)
    notes = ['# written by tools/reference/image_reference.py',
             'versions: Pillow %s, OpenCV-Python %s, numpy %s' % (Image.__version__, cv2.__version__, np.__version__)]

    # ---- decode + convert('RGB')
    base = natural(32, 48, 1)
    rng = np.random.default_rng(2)
    lum = np.asarray(Image.fromarray(base).convert('L'))
    alpha = rng.integers(0, 256, size=lum.shape, dtype=np.uint8)
    alpha[:4, :] = 0

    Image.fromarray(base).save(P('dec_rgb.png'))
    Image.fromarray(lum, 'L').save(P('dec_gray.png'))
    Image.fromarray(np.dstack([base, alpha]), 'RGBA').save(P('dec_rgba.png'))
    Image.fromarray(np.dstack([lum, alpha]), 'LA').save(P('dec_la.png'))
    pal = Image.fromarray(base).quantize(colors=200, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    pal.info['transparency'] = 3       # a tRNS chunk: PIL's convert('RGB') ignores it, so must we
    pal.save(P('dec_palette.png'), transparency=3)
    Image.fromarray((lum > 128).astype(np.uint8) * 255, 'L').convert('1').save(P('dec_1bit.png'))
    g16 = (lum.astype(np.uint16) * 257 + rng.integers(0, 257, size=lum.shape)).astype(np.uint16)
    cv2.imwrite(P('dec_gray16.png'), g16)
    c16 = (base.astype(np.uint16) * 257 + rng.integers(0, 257, size=base.shape)).astype(np.uint16)
    cv2.imwrite(P('dec_rgb16.png'), np.ascontiguousarray(c16[..., ::-1]))           # cv2 wants BGR
    a16 = (alpha.astype(np.uint16) * 257)
    cv2.imwrite(P('dec_rgba16.png'), np.dstack([c16[..., ::-1], a16]))
    Image.fromarray(base).save(P('dec_photo.jpg'), quality=90)                       # 4:2:0
    Image.fromarray(lum, 'L').save(P('dec_gray.jpg'), quality=90)
    cmyk = np.asarray(Image.fromarray(base).convert('CMYK')).copy()
    cmyk[..., 3] = rng.integers(0, 96, size=lum.shape)                               # some black ink
    Image.fromarray(cmyk, 'CMYK').save(P('dec_cmyk.jpg'), quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6                   # "rotate 90 CW to display": PIL's Image.open ignores it
    Image.fromarray(base).save(P('dec_exif6.jpg'), quality=90, exif=exif.tobytes())

    for name in ['dec_rgb.png', 'dec_gray.png', 'dec_rgba.png', 'dec_la.png', 'dec_palette.png', 'dec_1bit.png',
                 'dec_rgb16.png', 'dec_rgba16.png', 'dec_photo.jpg', 'dec_gray.jpg', 'dec_cmyk.jpg', 'dec_exif6.jpg']:
        im = Image.open(P(name))
        exp = pil_rgb(P(name))
        np.save(P(name + '.npy'), exp)
        cv = cv2.imread(P(name), cv2.IMREAD_UNCHANGED)
        if cv.dtype == np.uint16:
            cv = (cv >> 8).astype(np.uint8)
        cv = cv2.cvtColor(cv, cv2.COLOR_GRAY2RGB) if cv.ndim == 2 else cv[..., 2::-1]
        d = np.abs(cv.astype(int) - exp)
        notes.append('%-16s PIL mode %-5s  OpenCV-Python IMREAD_UNCHANGED vs PIL convert(RGB): mean %.3f max %d'
                     % (name, im.mode, d.mean(), d.max()))
    # 16-bit grayscale: PIL opens it as mode I and convert('RGB') CLIPS at 255 (all but black
    # becomes white); the engine keeps the high byte (v >> 8), as PIL itself does for 16-bit RGB.
    exp = np.repeat((g16 >> 8).astype(np.uint8)[..., None], 3, axis=2)
    np.save(P('dec_gray16.png.npy'), exp)
    d = np.abs(pil_rgb(P('dec_gray16.png')).astype(int) - exp)
    notes.append('dec_gray16.png   PIL mode %-5s  expected = high byte; PIL convert(RGB) clips instead: mean %.1f max %d away'
                 % (Image.open(P('dec_gray16.png')).mode, d.mean(), d.max()))

    # ---- resize
    cases = {'down': natural(375, 500, 21, noise=1.0), 'tall': natural(360, 240, 22, noise=1.0),
             'up': natural(100, 150, 23, noise=1.0)}
    for name, src in cases.items():
        Image.fromarray(src).save(P('rs_%s_src.png' % name), optimize=True)
        h, w = src.shape[:2]
        tw, th = target_size(w, h)
        pil = pil_resize(src, tw, th)
        cv = cv_resize(src, tw, th)
        Image.fromarray(pil).save(P('rs_%s_pil.png' % name), optimize=True)
        Image.fromarray(cv).save(P('rs_%s_cv.png' % name), optimize=True)
        d = np.abs(cv.astype(int) - pil)
        notes.append('rs_%-5s %dx%d -> %dx%d  engine recipe (OpenCV-Python) vs PIL bilinear: mean %.3f max %d'
                     % (name, w, h, tw, th, d.mean(), d.max()))

    # ---- overlay
    img = natural(90, 120, 31)
    Image.fromarray(img).save(P('ov_image.png'))
    yy, xx = np.mgrid[0:7, 0:9]
    cam = (np.exp(-((yy - 2.5) ** 2 + (xx - 5.5) ** 2) / 6.0) * 3.0 - 0.8
           + 0.3 * np.sin(xx * 1.3 + yy * 0.7)).astype(np.float32)           # range about [-1.1, 2.5]
    np.save(P('ov_map.npy'), cam)
    heat8, blend = overlay(img, cam)
    np.save(P('ov_heat.npy'), heat8)
    cv2.imwrite(P('ov_expected.png'), blend)         # BGR in memory -> a normal RGB PNG on disk

    # ---- npy
    np.save(P('npy_golden.npy'), (np.arange(15, dtype=np.float32).reshape(3, 5) * 0.25 - 1.5))

    total = sum(os.path.getsize(P(f)) for f in os.listdir(out))
    notes.append('total size of %s: %d bytes' % (os.path.relpath(out), total))
    with open(P('manifest.txt'), 'w') as f:
        f.write('\n'.join(notes) + '\n')
    print('\n'.join(notes))
    if total > 2_000_000:
        sys.exit('goldens exceed 2 MB')


if __name__ == '__main__':
    main()
