"""Piecewise-linear units: the step, the identity, ReLU and its relatives.

Derivative convention at kinks: the value PyTorch's autograd returns (ReLU'(0) = 0, leaky'(0) =
slope, relu6'(6) = 0, shrink'(+-lambda) = 0), so actlab's gradients agree with torch bit for bit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mpmath import mp

from ._common import as_tensor, props, step
from .registry import register
from .spec import ActivationSpec, Param

register(ActivationSpec(
    name="heaviside", aliases=("step",), family="rectifiers",
    summary="Heaviside step: 0 for x < 0, 1 for x > 0, 1/2 at 0.",
    formula="H(x) = 1[x > 0] + ½·1[x = 0]",
    reference="McCulloch & Pitts 1943, the threshold unit of the first neuron model",
    fn=lambda x: (x > 0).to(x.dtype) + 0.5 * (x == 0).to(x.dtype),
    derivative=lambda x: torch.zeros_like(x),
    second_derivative=lambda x: torch.zeros_like(x),
    properties=props(monotone=True, convex=False, below=True, above=True, smooth=-1, phi0=0.5, dphi0=0.0),
    kinks=(0.0,),
    mpmath=lambda x: mp.mpf(1) if x > 0 else (mp.mpf(0) if x < 0 else mp.mpf(0.5)),
    notes="The derivative is 0 everywhere (a Dirac delta at 0 in the distributional sense): a step "
          "network cannot be trained by backpropagation, which is why smooth sigmoids replaced it.",
))

register(ActivationSpec(
    name="identity", aliases=("linear",), family="rectifiers",
    summary="The identity map; a network of linear layers with it stays linear.",
    formula="φ(x) = x",
    reference="—",
    fn=lambda x: x.clone(),
    derivative=lambda x: torch.ones_like(x),
    second_derivative=lambda x: torch.zeros_like(x),
    properties=props(monotone=True, convex=True, below=False, above=False, zero_centred=True, dphi0=1.0),
    mpmath=lambda x: x,
))

register(ActivationSpec(
    name="relu", family="rectifiers",
    summary="Rectified linear unit.",
    formula="ReLU(x) = max(0, x)",
    reference="Nair & Hinton 2010; Glorot, Bordes & Bengio 2011",
    fn=torch.relu,
    derivative=lambda x: step(x > 0, x),
    second_derivative=lambda x: torch.zeros_like(x),
    properties=props(monotone=True, convex=True, below=True, above=False, smooth=0, dphi0=0.0),
    kinks=(0.0,),
    mpmath=lambda x: max(x, mp.mpf(0)),
    torch_functional=F.relu, torch_module="ReLU",
))

register(ActivationSpec(
    name="relu6", family="rectifiers",
    summary="ReLU capped at 6 (MobileNet's quantisation-friendly rectifier).",
    formula="ReLU6(x) = min(max(0, x), 6)",
    reference="Krizhevsky 2010; Howard et al. 2017 (MobileNets)",
    fn=F.relu6,
    derivative=lambda x: step((x > 0) & (x < 6), x),
    second_derivative=lambda x: torch.zeros_like(x),
    properties=props(monotone=True, convex=False, below=True, above=True, smooth=0, dphi0=0.0),
    kinks=(0.0, 6.0),
    mpmath=lambda x: min(max(x, mp.mpf(0)), mp.mpf(6)),
    torch_functional=F.relu6, torch_module="ReLU6",
))


def _leaky_props(negative_slope):
    a = float(negative_slope)
    return props(monotone=a >= 0, convex=a <= 1, below=a <= 0, above=False, smooth=0 if a != 1 else float("inf"),
                 zero_centred=a > 0, dphi0=a)


def _leaky(x, negative_slope):
    return torch.where(x > 0, x, x * as_tensor(negative_slope, x))


def _leaky_d1(x, negative_slope):
    return torch.where(x > 0, torch.ones_like(x), as_tensor(negative_slope, x).expand_as(x))


register(ActivationSpec(
    name="leaky_relu", aliases=("lrelu",), family="rectifiers",
    summary="ReLU with a small fixed slope for negative inputs.",
    formula="LeakyReLU(x) = x for x > 0, a·x otherwise",
    reference="Maas, Hannun & Ng 2013",
    params=(Param("negative_slope", 0.01, "slope a for x < 0 (PyTorch's default 0.01; TensorFlow/Keras use 0.2/0.3)",
                  lower=0.0, upper=1.0),),
    fn=_leaky, derivative=_leaky_d1,
    second_derivative=lambda x, negative_slope: torch.zeros_like(x),
    properties=_leaky_props,
    kinks=(0.0,),
    mpmath=lambda x, negative_slope: x if x > 0 else negative_slope * x,
    torch_functional=F.leaky_relu, torch_module="LeakyReLU",
))

register(ActivationSpec(
    name="prelu", family="rectifiers",
    summary="Parametric ReLU: the negative slope is learned (shared or one per channel).",
    formula="PReLU(x) = x for x > 0, a·x otherwise, a learned",
    reference="He, Zhang, Ren & Sun 2015 (Delving deep into rectifiers)",
    params=(Param("negative_slope", 0.25, "initial slope a for x < 0 (He et al. and torch.nn.PReLU use 0.25)",
                  learnable=True, learn_by_default=True),),
    fn=_leaky, derivative=_leaky_d1,
    second_derivative=lambda x, negative_slope: torch.zeros_like(x),
    properties=_leaky_props,
    kinks=(0.0,),
    mpmath=lambda x, negative_slope: x if x > 0 else negative_slope * x,
    torch_functional=lambda x: F.prelu(x, torch.tensor([0.25], dtype=x.dtype)), torch_module="PReLU",
    notes="Use .module(num_parameters=C) for one slope per channel (dimension 1 of the input).",
))

register(ActivationSpec(
    name="hardtanh", family="rectifiers",
    summary="Piecewise-linear tanh: the identity clipped to [min_val, max_val].",
    formula="HardTanh(x) = min(max(x, min_val), max_val)",
    reference="Collobert 2004",
    params=(Param("min_val", -1.0, "lower clip"), Param("max_val", 1.0, "upper clip")),
    constraint=lambda min_val, max_val: None if min_val < max_val else f"min_val={min_val} must be below max_val={max_val}",
    fn=lambda x, min_val, max_val: torch.clamp(x, min_val, max_val),
    derivative=lambda x, min_val, max_val: step((x > min_val) & (x < max_val), x),
    second_derivative=lambda x, min_val, max_val: torch.zeros_like(x),
    properties=lambda min_val, max_val: props(
        monotone=True, convex=False, below=True, above=True, smooth=0,
        zero_centred=min_val < 0 < max_val, phi0=min(max(0.0, min_val), max_val),
        dphi0=1.0 if min_val < 0 < max_val else 0.0),
    kinks=lambda min_val, max_val: (min_val, max_val),
    mpmath=lambda x, min_val, max_val: min(max(x, min_val), max_val),
    torch_functional=F.hardtanh, torch_module="Hardtanh",
))

register(ActivationSpec(
    name="relu_squared", aliases=("squared_relu",), family="rectifiers",
    summary="Squared ReLU, found by architecture search for Transformer feed-forward blocks.",
    formula="φ(x) = max(0, x)²",
    reference="So et al. 2021 (Primer)",
    fn=lambda x: torch.relu(x).square(),
    derivative=lambda x: 2 * torch.relu(x),
    second_derivative=lambda x: 2 * step(x > 0, x),
    properties=props(monotone=True, convex=True, below=True, above=False, smooth=1, dphi0=0.0),
    kinks=(0.0,),
    mpmath=lambda x: max(x, mp.mpf(0)) ** 2,
))

register(ActivationSpec(
    name="softshrink", family="rectifiers",
    summary="Soft thresholding: shrinks towards 0 by lambd (the proximal map of the L1 norm).",
    formula="φ(x) = x − λ for x > λ, x + λ for x < −λ, 0 otherwise",
    reference="Donoho 1995 (de-noising by soft-thresholding)",
    params=(Param("lambd", 0.5, "threshold λ", lower=0.0),),
    fn=lambda x, lambd: F.softshrink(x, lambd),
    derivative=lambda x, lambd: step(x.abs() > lambd, x),
    second_derivative=lambda x, lambd: torch.zeros_like(x),
    properties=lambda lambd: props(monotone=True, convex=False, below=False, above=False, smooth=0 if lambd > 0 else float("inf"),
                                   zero_centred=True, dphi0=0.0 if lambd > 0 else 1.0),
    kinks=lambda lambd: (-lambd, lambd) if lambd > 0 else (),
    mpmath=lambda x, lambd: x - lambd if x > lambd else (x + lambd if x < -lambd else mp.mpf(0)),
    torch_functional=F.softshrink, torch_module="Softshrink",
))

register(ActivationSpec(
    name="hardshrink", family="rectifiers",
    summary="Hard thresholding: zero inside [−λ, λ], the identity outside.",
    formula="φ(x) = x for |x| > λ, 0 otherwise",
    reference="Donoho & Johnstone 1994",
    params=(Param("lambd", 0.5, "threshold λ", lower=0.0, lower_open=True),),
    fn=lambda x, lambd: F.hardshrink(x, lambd),
    derivative=lambda x, lambd: step(x.abs() > lambd, x),
    second_derivative=lambda x, lambd: torch.zeros_like(x),
    properties=props(monotone=True, convex=False, below=False, above=False, smooth=-1, zero_centred=True, dphi0=0.0),
    kinks=lambda lambd: (-lambd, lambd),
    mpmath=lambda x, lambd: x if abs(x) > lambd else mp.mpf(0),
    torch_functional=F.hardshrink, torch_module="Hardshrink",
))
