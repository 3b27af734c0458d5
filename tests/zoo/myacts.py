"""A user's learnable activation as a researcher writes it (addressed as ``myacts:LearnableSwish``)."""

import torch
import torch.nn as nn


class LearnableSwish(nn.Module):
    """x * sigmoid(beta * x) with a trained beta."""

    def __init__(self, beta: float = 1.0):
        super().__init__()
        self.beta = nn.Parameter(torch.tensor(float(beta)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.beta * x)


def swishlike(x):
    return x * torch.sigmoid(1.5 * x)
