"""Piecewise-linear units: the step, the identity, ReLU and its relatives.

Derivative convention at kinks: the value PyTorch's autograd returns (ReLU'(0) = 0, leaky'(0) =
slope, relu6'(6) = 0, shrink'(+-lambda) = 0), so actlab's gradients agree with torch bit for bit.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from mpmath import mp

from ._common import as_tensor, f32, props, step
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


def _rrelu_slope(lower, upper):
    return (lower + upper) / 2


register(ActivationSpec(
    name="rrelu", family="rectifiers",
    summary="Randomised leaky ReLU; as a deterministic map, its evaluation form: the mean slope (l + u)/2.",
    formula="RReLU(x) = x for x ≥ 0, a·x otherwise; training: a ~ U(l, u) per element, evaluation: a = (l + u)/2",
    reference="Xu, Wang, Chen & Li 2015 (Empirical evaluation of rectified activations in convolutional network)",
    params=(Param("lower", 1 / 8, "lower end l of the slope's range (torch's default 1/8)", lower=0.0, upper=1.0),
            Param("upper", 1 / 3, "upper end u of the slope's range (torch's default 1/3)", lower=0.0, upper=1.0)),
    constraint=lambda lower, upper: None if lower <= upper else f"lower={lower} must not exceed upper={upper}",
    fn=lambda x, lower, upper: _leaky(x, _rrelu_slope(lower, upper)),
    derivative=lambda x, lower, upper: _leaky_d1(x, _rrelu_slope(lower, upper)),
    second_derivative=lambda x, lower, upper: torch.zeros_like(x),
    properties=lambda lower, upper: _leaky_props(_rrelu_slope(lower, upper)),
    kinks=(0.0,),
    mpmath=lambda x, lower, upper: x if x > 0 else (lower + upper) / 2 * x,
    torch_functional=F.rrelu, torch_module="RReLU",
    notes="The zoo's contract (values, derivatives, references) is for a deterministic map, so the spec is "
          "RReLU's evaluation form, exactly torch.nn.functional.rrelu(training=False). The training-time "
          "noise (a fresh slope U(l, u) for every negative element) is torch.nn.RReLU's; actlab's own "
          "modules do not draw it.",
))


def _threshold_props(threshold, value):
    t, v = float(threshold), float(value)
    phi0 = 0.0 if 0 > t else v
    return props(monotone=v <= t, convex=v == t, below=True, above=False, smooth=0 if v == t else -1,
                 zero_centred=phi0 == 0 and (t < 0 or v < 0), phi0=phi0, dphi0=1.0 if 0 > t else 0.0)


register(ActivationSpec(
    name="threshold", aliases=("thresholded_relu",), family="rectifiers",
    summary="Thresholded identity: x above the threshold θ, a constant below (Keras' ThresholdedReLU).",
    formula="φ(x) = x for x > θ, v otherwise",
    reference="Konda, Memisevic & Krueger 2015 (Zero-bias autoencoders and the benefits of co-adapting features; "
              "thresholded ReLU, θ = 1); torch.nn.Threshold",
    params=(Param("threshold", 1.0, "threshold θ (Keras' ThresholdedReLU default θ = 1)"),
            Param("value", 0.0, "value v below the threshold")),
    fn=lambda x, threshold, value: torch.where(x > threshold, x, torch.full_like(x, value)),
    derivative=lambda x, threshold, value: step(x > threshold, x),
    second_derivative=lambda x, threshold, value: torch.zeros_like(x),
    properties=_threshold_props,
    kinks=lambda threshold, value: (threshold,),
    mpmath=lambda x, threshold, value: x if x > threshold else mp.mpf(value),
    torch_functional=lambda x: F.threshold(x, 1.0, 0.0), torch_module="Threshold",
    notes="Discontinuous unless v = θ (then it is max(x, θ)); the jump carries no gradient.",
))


def _pos_base(x):
    return torch.where(x > 0, x, torch.ones_like(x))  # the branch not taken never sees 0 ** (negative)


def _relu_power_props(k):
    return props(monotone=True, convex=True, below=True, above=False,
                 smooth=k - 1 if float(k).is_integer() else math.floor(k), dphi0=0.0)


register(ActivationSpec(
    name="relu_power", aliases=("repu", "relu_k"), family="rectifiers",
    summary="Rectified power unit ReLU(x)^k: C^(k−1) at 0, polynomial growth.",
    formula="φ(x) = max(0, x)^k",
    reference="Li, Tang & Yu 2019 (PowerNet: rectified power units); Mhaskar 1993 (ReLU^k approximation)",
    params=(Param("k", 3.0, "power k ≥ 1 (k = 1 is ReLU, k = 2 is relu_squared)", lower=1.0),),
    fn=lambda x, k: torch.where(x > 0, _pos_base(x) ** k, torch.zeros_like(x)),
    derivative=lambda x, k: torch.where(x > 0, k * _pos_base(x) ** (k - 1), torch.zeros_like(x)),
    second_derivative=lambda x, k: torch.where(x > 0, k * (k - 1) * _pos_base(x) ** (k - 2), torch.zeros_like(x)),
    properties=_relu_power_props,
    kinks=(0.0,),
    mpmath=lambda x, k: x**k if x > 0 else mp.mpf(0),
    notes="For integer k the k-th derivative jumps at 0 (C^(k−1)); for fractional k it is C^⌊k⌋ and the "
          "(⌊k⌋+1)-th derivative blows up at 0⁺. φ'(0) = 0 for every k (ReLU's convention at k = 1).",
))

# StarReLU's constants standardise relu(z)² for z ~ N(0, 1): E relu² = 1/2, E relu⁴ = 3/2, so the
# standard deviation is √(3/2 − 1/4) = √5/2 (Yu et al. 2022, sec. 3.2).
_STAR_SCALE = f32(1 / math.sqrt(1.5 - 0.25))  # float32-exact: see _common.f32
_STAR_BIAS = f32(-0.5 / math.sqrt(1.5 - 0.25))


def _star_props(scale, bias):
    s = float(scale)
    return props(monotone=s >= 0, convex=s >= 0, below=s >= 0, above=s <= 0, smooth=1 if s != 0 else float("inf"),
                 phi0=bias, dphi0=0.0)


register(ActivationSpec(
    name="star_relu", aliases=("starrelu",), family="rectifiers",
    summary="StarReLU s·ReLU(x)² + b of the MetaFormer baselines: squared ReLU with learned scale and bias.",
    formula="φ(x) = s·max(0, x)² + b",
    reference="Yu et al. 2022 (MetaFormer baselines for vision)",
    params=(Param("scale", _STAR_SCALE, "scale s (default 2/√5 = 1/std of relu(z)² for z ~ N(0, 1))",
                  learnable=True, learn_by_default=True),
            Param("bias", _STAR_BIAS, "bias b (default −E[relu(z)²]·s = −1/√5)", learnable=True, learn_by_default=True)),
    fn=lambda x, scale, bias: as_tensor(scale, x) * torch.relu(x).square() + as_tensor(bias, x),
    derivative=lambda x, scale, bias: 2 * as_tensor(scale, x) * torch.relu(x),
    second_derivative=lambda x, scale, bias: 2 * as_tensor(scale, x) * step(x > 0, x),
    properties=_star_props,
    kinks=lambda scale, bias: (0.0,) if scale != 0 else (),
    mpmath=lambda x, scale, bias: scale * max(x, mp.mpf(0)) ** 2 + bias,
))


def _smelu(x, beta):
    u = torch.clamp(x, -beta, beta)  # the quadratic piece never sees the tails (no inf in its gradient)
    return torch.where(x >= beta, x, (u + beta).square() / (4 * beta))


def _smelu_d1(x, beta):
    return torch.where(x >= beta, torch.ones_like(x), (torch.clamp(x, -beta, beta) + beta) / (2 * beta))


def _smelu_props(beta):
    return props(monotone=True, convex=True, below=True, above=False, smooth=1, phi0=beta / 4, dphi0=0.5)


register(ActivationSpec(
    name="smelu", family="rectifiers",
    summary="Smooth reproducible ReLU: a quadratic joint of width 2β between 0 and the identity (C¹).",
    formula="SmeLU(x) = 0 for x ≤ −β, (x + β)²/(4β) for |x| < β, x for x ≥ β",
    reference="Shamir, Lin & Coviello 2020 (Smooth activations and reproducibility in deep networks)",
    params=(Param("beta", 2.0, "half-width β of the quadratic joint (a hyperparameter in the paper; 2 here)", lower=0.0, lower_open=True),),
    fn=_smelu, derivative=_smelu_d1,
    second_derivative=lambda x, beta: step((x > -beta) & (x < beta), x) / (2 * beta),
    properties=_smelu_props,
    kinks=lambda beta: (-beta, beta),
    mpmath=lambda x, beta: mp.mpf(0) if x <= -beta else (x if x >= beta else (x + beta) ** 2 / (4 * beta)),
    notes="sparse_plus is SmeLU with β = 1.",
))

register(ActivationSpec(
    name="sparse_plus", family="rectifiers",
    summary="JAX's sparse_plus: the sparse counterpart of softplus, exactly 0 below −1 and x above 1.",
    formula="φ(x) = 0 for x ≤ −1, (x + 1)²/4 for |x| < 1, x for x ≥ 1",
    reference="Blondel, Martins & Niculae 2020 (Learning with Fenchel-Young losses); jax.nn.sparse_plus",
    fn=lambda x: _smelu(x, 1.0), derivative=lambda x: _smelu_d1(x, 1.0),
    second_derivative=lambda x: step((x > -1) & (x < 1), x) / 2,
    properties=_smelu_props(1.0),
    kinks=(-1.0, 1.0),
    mpmath=lambda x: mp.mpf(0) if x <= -1 else (x if x >= 1 else (x + 1) ** 2 / 4),
    notes="Its derivative is sparse_sigmoid; it equals smelu(beta=1).",
))
