"""The demo network: VGG16's topology (13 convolutions 3x3 in blocks of 2-2-3-3-3 with 2x2 max
pools, adaptive average pool to 7x7, fc6, fc7, fc8) at narrow widths, for the 10 demo classes.

It trains with batch normalisation after every convolution (a plain 16-layer stack from scratch is
slow and fragile to train); `torchvision_state_dict` folds each BN into its convolution, so the
exported network is exactly VGG16 (conv + bias, ReLU) under torchvision's names
(features.N.weight, classifier.0/3/6), which the engine's converter reads.
"""
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

WIDTHS = [8, 8, 16, 16, 32, 32, 32, 64, 64, 64, 64, 64, 64]   # conv1_1 ... conv5_3
BLOCKS = [2, 2, 3, 3, 3]
FC = 128
NUM_CLASSES = 10
FEATURE_INDEX = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]   # torchvision vgg16().features
CLASSIFIER_INDEX = [0, 3, 6]
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class DemoVgg16(nn.Module):
    def __init__(self, widths=WIDTHS, fc=FC, classes=NUM_CLASSES, dropout=0.1):
        super().__init__()
        self.convs = nn.ModuleList()
        self.bns = nn.ModuleList()
        cin = 3
        for w in widths:
            self.convs.append(nn.Conv2d(cin, w, 3, padding=1))
            self.bns.append(nn.BatchNorm2d(w))
            cin = w
        self.fc6 = nn.Linear(cin * 49, fc)
        self.fc7 = nn.Linear(fc, fc)
        self.fc8 = nn.Linear(fc, classes)
        self.dropout = dropout
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.fc8.weight, std=0.01)

    def forward(self, x):
        i = 0
        for n in BLOCKS:
            for _ in range(n):
                x = F.relu(self.bns[i](self.convs[i](x)))
                i += 1
            x = F.max_pool2d(x, 2, 2)
        x = torch.flatten(F.adaptive_avg_pool2d(x, (7, 7)), 1)
        x = F.dropout(F.relu(self.fc6(x)), self.dropout, self.training)
        x = F.dropout(F.relu(self.fc7(x)), self.dropout, self.training)
        return self.fc8(x)


def torchvision_state_dict(model):
    """float32 state dict of the BN-folded network under torchvision's VGG16 names:
    w' = w * gamma / sqrt(var + eps), b' = (b - mean) * gamma / sqrt(var + eps) + beta."""
    sd = OrderedDict()
    with torch.no_grad():
        for i, (conv, bn) in enumerate(zip(model.convs, model.bns)):
            k = (bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps))
            w = conv.weight.double() * k.view(-1, 1, 1, 1)
            b = (conv.bias.double() - bn.running_mean.double()) * k + bn.bias.double()
            sd["features.%d.weight" % FEATURE_INDEX[i]] = w.float().contiguous()
            sd["features.%d.bias" % FEATURE_INDEX[i]] = b.float().contiguous()
        for j, fc in zip(CLASSIFIER_INDEX, (model.fc6, model.fc7, model.fc8)):
            sd["classifier.%d.weight" % j] = fc.weight.detach().float().clone().contiguous()
            sd["classifier.%d.bias" % j] = fc.bias.detach().float().clone().contiguous()
    return sd


CONV_NAMES = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3",
              "conv4_1", "conv4_2", "conv4_3", "conv5_1", "conv5_2", "conv5_3"]


def engine_names(sd):
    """torchvision names -> the engine's (conv1_1.weight ... fc8.bias), same tensors."""
    out = OrderedDict()
    for i, n in enumerate(CONV_NAMES):
        for p in ("weight", "bias"):
            out["%s.%s" % (n, p)] = sd["features.%d.%s" % (FEATURE_INDEX[i], p)]
    for j, n in zip(CLASSIFIER_INDEX, ("fc6", "fc7", "fc8")):
        for p in ("weight", "bias"):
            out["%s.%s" % (n, p)] = sd["classifier.%d.%s" % (j, p)]
    return out


def preprocess(img_u8):
    """uint8 RGB [H,W,3] (numpy) -> float32 [3,H,W]: /255, ImageNet mean and std (the engine's
    default for torchvision weights)."""
    t = torch.from_numpy(np.array(img_u8, dtype=np.uint8)).permute(2, 0, 1).float() / 255.0
    return (t - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)
