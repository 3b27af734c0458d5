"""Users' functions for ``actlab similar`` (addressed as ``simfns:NAME``)."""

import torch
import torch.nn.functional as F


def xsig(x):
    return x * torch.sigmoid(x)


def quick(x):
    return x * torch.sigmoid(1.702 * x)


def tanh_half(x):
    return 2 * torch.tanh(x / 2)


def elu_moved(x):
    return 3 * F.elu(0.5 * x + 0.3) - 1


def softmax(x):
    return torch.softmax(x, dim=-1)


def blowup(x):
    return torch.exp(x * x)


def flat(x):
    return torch.zeros_like(x) + 2.0
