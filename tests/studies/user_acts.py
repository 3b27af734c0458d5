"""A user's activation as a researcher writes it: a plain function, nothing declared (no properties, no
derivatives), addressed as ``user_acts:swishlike``.  Every study must run it and compare it."""

import torch


def swishlike(x):
    return x * torch.sigmoid(1.5 * x)
