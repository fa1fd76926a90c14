#!/usr/bin/env python3
"""The tiny ILSVRC-layout test set's boxes (engine/src/test/resources/eval/tinyset, written by
eval_reference.py) in the two other forms WSOL researchers have them, for the engine's readers:

    /usr/bin/python3 tools/reference/annotation_files_reference.py

  tinyset/val_box.mat      layercam_loc's data/ILSVRC/val_box.mat layout: the ground-truth cache the
                           ILSVRC devkit's MATLAB evaluation (eval_clsloc.m) saves, a 1xN struct array
                           `rec`, entry i = picture i, with one field `objects`, a 1xK struct array
                           with fields `label` (1x1 double) and `bbox` (1x4 double [xmin ymin xmax
                           ymax], the XML's numbers unchanged). MATLAB level-5, uncompressed (scipy's
                           savemat default).
  tinyset/val_box_v7.mat   the same, zlib-compressed elements (what MATLAB's default save -v7 writes).
  tinyset/wsol/            wsolevaluation's metadata/<dataset>/<split>/ layout for the same pictures,
                           ids relative to tinyset/: image_ids.txt (<id>), class_labels.txt (<id>,<label>),
                           image_sizes.txt (<id>,<w>,<h>), localization.txt (<id>,x0,y0,x1,y1, one line
                           per box).

Both .mat files are checked here by reading them back with scipy.io.loadmat and indexing them as
layercam_loc's scripts/test.py does (rec[0][i][0][0][j][1][0]); the result must equal the XML boxes.
The header's creation date is replaced by a fixed text so that a rerun writes the same bytes.
Sources followed (read, not copied): PengtaoJiang/layercam_loc scripts/test.py; the ILSVRC devkit's
evaluation/eval_clsloc.m and VOCreadrecxml.m; clovaai/wsolevaluation data_loaders.py.
"""
import os
import xml.etree.ElementTree as ET

import numpy as np
import scipy.io

SET = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'engine', 'src', 'test', 'resources', 'eval', 'tinyset')
HEADER_TEXT = b'MATLAB 5.0 MAT-file, written by tools/reference/annotation_files_reference.py'


def xml_boxes(path):
    root = ET.parse(path).getroot()
    out = []
    for o in root.iter('object'):
        b = o.find('bndbox')
        out.append([int(float(b.find(t).text)) for t in ('xmin', 'ymin', 'xmax', 'ymax')])
    return out


def listed():
    items = []
    with open(os.path.join(SET, 'val.txt')) as f:
        for line in f:
            if line.strip():
                name, label = line.split()
                stem = os.path.splitext(name)[0]
                items.append((name, int(label), xml_boxes(os.path.join(SET, 'boxes', stem + '.xml'))))
    return items


def rec_array(items):
    rec = np.zeros((1, len(items)), dtype=[('objects', 'O')])
    for i, (_, label, boxes) in enumerate(items):
        objs = np.zeros((1, len(boxes)), dtype=[('label', 'O'), ('bbox', 'O')])
        for j, b in enumerate(boxes):
            objs[0, j]['label'] = np.array([[float(label + 1)]])      # the devkit's 1-based class id
            objs[0, j]['bbox'] = np.array([[float(v) for v in b]])
        rec[0, i]['objects'] = objs
    return rec


def fix_header(path):
    with open(path, 'r+b') as f:
        head = f.read(116)
        assert head.startswith(b'MATLAB 5.0 MAT-file')
        f.seek(0)
        f.write(HEADER_TEXT.ljust(116, b' '))


def layercam_loc_read(path):
    """scripts/test.py's reading of val_box.mat, restated."""
    annotations = scipy.io.loadmat(path)['rec'][0]
    out = []
    for ia in range(len(annotations)):
        out.append([annotations[ia][0][0][bb][1][0].tolist() for bb in range(len(annotations[ia][0][0]))])
    return out


def main():
    items = listed()
    rec = rec_array(items)
    for name, compress in (('val_box.mat', False), ('val_box_v7.mat', True)):
        path = os.path.join(SET, name)
        scipy.io.savemat(path, {'rec': rec}, do_compression=compress)
        fix_header(path)
        got = layercam_loc_read(path)
        assert got == [[[float(v) for v in b] for b in boxes] for _, _, boxes in items], name
    from PIL import Image
    wsol = os.path.join(SET, 'wsol')
    os.makedirs(wsol, exist_ok=True)
    ids = ['images/' + name for name, _, _ in items]
    with open(os.path.join(wsol, 'image_ids.txt'), 'w') as f:
        f.writelines(i + '\n' for i in ids)
    with open(os.path.join(wsol, 'class_labels.txt'), 'w') as f:
        f.writelines('%s,%d\n' % (i, label) for i, (_, label, _) in zip(ids, items))
    with open(os.path.join(wsol, 'image_sizes.txt'), 'w') as f:
        for i in ids:
            w, h = Image.open(os.path.join(SET, i)).size
            f.write('%s,%d,%d\n' % (i, w, h))
    with open(os.path.join(wsol, 'localization.txt'), 'w') as f:
        for i, (_, _, boxes) in zip(ids, items):
            for b in boxes:
                f.write('%s,%d,%d,%d,%d\n' % (i, b[0], b[1], b[2], b[3]))
    print('wrote', len(items), 'entries to val_box.mat, val_box_v7.mat and wsol/')


if __name__ == '__main__':
    main()
