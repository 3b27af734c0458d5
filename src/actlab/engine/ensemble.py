"""Vectorised ensembles: many small models of one architecture trained as one batched program.

:class:`Ensemble` takes ``E`` models built by the same :mod:`actlab.models` builder (any seeds, any
pointwise activations) and stacks their weights: ``Linear`` layers become one ``baddbmm`` over
``(E, B, features)``, ``Conv1d`` layers one im2col + ``bmm`` over ``(E, B, length, channels)``.
Each model sees its own minibatch.  Activations are applied model by model, each on its own slice
(each with its own learned parameters, PReLU's slope): one call per model and layer is what keeps a
model's bits the same in any group (see :meth:`Ensemble._activate`).

Why hand-written batched ops rather than ``torch.func.vmap(functional_call)``: on CPU the stacked
``baddbmm``/im2col program is faster (``benchmarks/bench_ensemble.py`` measures both), and it
mixes activations in one batch without one ``vmap`` per activation.

Training is exactly independent per model: the loss is the sum of per-model mean losses, so each
model's gradient is its own, and Adam is elementwise, so each model's update is what it would be alone
(``tests/engine/test_engine_ensemble.py``; ``tests/engine/test_train.py`` holds a unit alone and in
any group bit for bit, for every activation of the default set).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..nn import ActivationModule

__all__ = ["Ensemble", "can_stack"]


def _signature(model: nn.Module) -> list[tuple]:
    sig = []
    for layer in model:
        if isinstance(layer, nn.Linear):
            sig.append(("linear", tuple(layer.weight.shape), layer.bias is not None))
        elif isinstance(layer, nn.Conv1d) and layer.dilation == (1,) and layer.groups == 1 \
                and isinstance(layer.padding, tuple) and layer.padding_mode == "zeros":
            sig.append(("conv1d", tuple(layer.weight.shape), layer.stride, layer.padding, layer.dilation,
                        layer.groups, layer.bias is not None))
        elif isinstance(layer, ActivationModule) and not layer.activation.is_gated \
                and getattr(layer, "num_parameters", 1) == 1:  # per-channel parameters index dim 1: train alone
            sig.append(("act",))
        elif isinstance(layer, nn.Flatten) and layer.start_dim == 1 and layer.end_dim == -1:
            sig.append(("flatten",))
        elif isinstance(layer, nn.Unflatten) and layer.dim == 1:
            sig.append(("unflatten", tuple(layer.unflattened_size)))
        else:
            return [("unsupported", type(layer).__name__)]
    return sig


def can_stack(models: Sequence[nn.Module]) -> bool:
    """True if the models are ``nn.Sequential`` s of supported layers with identical shapes."""
    if not models or not all(isinstance(m, nn.Sequential) for m in models):
        return False
    sig = _signature(models[0])
    return all(s[0] != "unsupported" for s in sig) and all(_signature(m) == sig for m in models[1:])


class Ensemble(nn.Module):
    """``E`` models as one module: ``forward(x)`` maps ``(E, B, *in)`` to ``(E, B, *out)``.

    The models' current parameters are copied (not shared); :meth:`unstack` gives model ``i`` back as
    an ordinary module with the trained weights.
    """

    def __init__(self, models: Sequence[nn.Module]):
        super().__init__()
        if not can_stack(models):
            raise ValueError("Ensemble needs nn.Sequential models of one architecture built from Linear, Conv1d, "
                             "Flatten, Unflatten and pointwise activation modules")
        self.n = len(models)
        self._templates = [m for m in models]
        self.layers = nn.ModuleList()
        self._plan: list[tuple] = []
        for i, layer in enumerate(models[0]):
            group = [m[i] for m in models]
            if isinstance(layer, (nn.Linear, nn.Conv1d)):
                holder = nn.Module()
                holder.weight = nn.Parameter(torch.stack([g.weight.detach() for g in group]).clone())
                holder.bias = nn.Parameter(torch.stack([g.bias.detach() for g in group]).clone()) if layer.bias is not None else None
                self.layers.append(holder)
                kind = "linear" if isinstance(layer, nn.Linear) else "conv1d"
                extra = (layer.stride[0], layer.padding[0]) if kind == "conv1d" else ()
                self._plan.append((kind, len(self.layers) - 1, extra))
            elif isinstance(layer, ActivationModule):
                acts = nn.ModuleList([_copy_act(g) for g in group])
                self.layers.append(acts)
                self._plan.append(("act", len(self.layers) - 1, ()))
            elif isinstance(layer, nn.Flatten):
                self._plan.append(("flatten", -1, ()))
            else:
                self._plan.append(("unflatten", -1, tuple(layer.unflattened_size)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        E = self.n
        h = x  # (E, B, F) for dense layers; (E, B, L, C) (channels last) inside a convolutional block
        for kind, idx, extra in self._plan:
            if kind == "linear":
                p = self.layers[idx]
                wt = p.weight.transpose(1, 2)
                h = torch.baddbmm(p.bias.unsqueeze(1), h, wt) if p.bias is not None else torch.bmm(h, wt)
            elif kind == "unflatten":
                h = h.reshape(*h.shape[:2], *extra).transpose(2, 3)
            elif kind == "conv1d":
                h = self._conv(h, self.layers[idx], *extra)
            elif kind == "flatten":
                h = h.transpose(2, 3).flatten(2)  # back to PyTorch's (C, L) flattening order
            else:
                h = self._activate(h, self.layers[idx], extra)
        return h

    @staticmethod
    def _conv(h: torch.Tensor, p: nn.Module, stride: int, padding: int) -> torch.Tensor:
        """A stride/padding 1-D convolution of E models as one im2col + ``bmm``.

        On CPU this beats a grouped convolution (``groups=E``) by a wide margin for these small shapes.
        """
        E, B, L, C = h.shape
        out, k = p.weight.shape[1], p.weight.shape[3]
        h = F.pad(h, (0, 0, padding, padding))
        Lp = (L + 2 * padding - k) // stride + 1
        # im2col from k strided slices: cheaper to differentiate than Tensor.unfold on CPU
        cols = torch.cat([h[:, :, j: j + stride * (Lp - 1) + 1: stride] for j in range(k)], dim=3)
        cols = cols.reshape(E, B * Lp, k * C)
        w = p.weight.permute(0, 1, 3, 2).reshape(E, out, k * C).transpose(1, 2)
        y = torch.baddbmm(p.bias.unsqueeze(1), cols, w) if p.bias is not None else torch.bmm(cols, w)
        return y.view(E, B, Lp, out)

    def _activate(self, h: torch.Tensor, acts: nn.ModuleList, _: tuple = ()) -> torch.Tensor:
        """Each model's activation on its own slice, always.

        One call over a run of models that share an activation would be fewer calls, but it is not
        bit-identical to the model alone: torch's CPU kernels compute the vectorised body with SIMD
        code and the last ``n mod (2 x vector width)`` elements with the scalar code, whose ``exp`` and
        ``log1p`` differ in the last bit (measured: softplus, silu, elu, sigmoid, tanh-GELU), so which
        elements fall in the tail would depend on the group.  Per-model slices keep every element at
        the same place as in an ensemble of one, so a unit's numbers never depend on its group.  One
        split (its backward is one cat) rather than slicing: each slice's backward would fill a
        zero tensor of the full size.
        """
        if self.n == 1:
            return acts[0](h)
        return torch.cat([acts[i](part) for i, part in enumerate(h.split(1, 0))], 0)

    def unstack(self, i: int) -> nn.Module:
        """Model ``i`` as an ordinary module carrying the ensemble's current weights."""
        import copy

        model = copy.deepcopy(self._templates[i])
        with torch.no_grad():
            for j, (kind, idx, _) in enumerate(self._plan):
                if kind in ("linear", "conv1d"):
                    model[j].weight.copy_(self.layers[idx].weight[i])
                    if model[j].bias is not None:
                        model[j].bias.copy_(self.layers[idx].bias[i])
                elif kind == "act":
                    model[j].load_state_dict(self.layers[idx][i].state_dict())
        return model


def _copy_act(m: ActivationModule) -> ActivationModule:
    import copy

    return copy.deepcopy(m)
