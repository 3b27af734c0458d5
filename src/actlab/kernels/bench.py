"""Measurements behind ``actlab bench`` and ``benchmarks/``: times, bandwidth, saved bytes, peak memory.

Everything is measured side by side in one run (never compared with numbers from another run):

* times are the minimum over ``reps`` runs after a warm-up (CUDA: synchronised), taken round-robin:
  each repetition runs every implementation once in turn, so load changes on a shared machine hit
  them alike instead of skewing the ratios;
* achieved GB/s uses the *minimum* bytes an op must move (pointwise: read x, write y forward; read
  x, dy, write dx backward; gated: 3 forward + 5 backward element-passes), so an implementation
  that moves more than the minimum shows a lower number;
* the copy bandwidth is ``dst.copy_(src)`` on the same number of elements, measured in the same run;
* bytes kept for backward are counted with ``torch.autograd.graph.saved_tensors_hooks`` (distinct
  storages, so a tensor saved twice counts once);
* peak memory of a training step: on CUDA ``torch.cuda.max_memory_allocated``; on CPU the allocator's
  own events recorded by ``torch.profiler`` (``profile_memory=True``): every allocation and free,
  in order, summed into a live-bytes curve whose maximum above the starting level is the peak.
"""

from __future__ import annotations

import platform
import time
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch.autograd.graph import saved_tensors_hooks

from ..zoo import get
from ..zoo.activation import Activation
from . import _cpu
from .gated import TRITON_DTYPES, gated, triton_args
from .mlp import GatedMLP, gated_mlp

__all__ = ["machine", "copy_bandwidth", "bench_op", "mlp_step_memory", "liger_silu_mul"]


def machine(device: str) -> dict[str, Any]:
    """A description of the machine, written beside every result table."""
    info: dict[str, Any] = {"device": device, "torch": torch.__version__, "python": platform.python_version(),
                            "cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads()}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
    return info


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_fn(fn: Callable[[], Any], device: str, reps: int = 10) -> float:
    """Minimum wall time in seconds over ``reps`` runs after one warm-up."""
    fn()
    _sync(device)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def copy_bandwidth(numel: int, dtype: torch.dtype, device: str, reps: int = 10) -> float:
    """GB/s of ``dst.copy_(src)`` (read + write) on ``numel`` elements."""
    src = torch.randn(numel, device=device).to(dtype)
    dst = torch.empty_like(src)
    t = time_fn(lambda: dst.copy_(src), device, reps)
    return 2 * numel * src.element_size() / t / 1e9


def saved_bytes(fn: Callable[[], Any]) -> int:
    """Bytes of the distinct storages autograd keeps for backward while ``fn()`` runs."""
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        s = t.untyped_storage()
        seen[s.data_ptr()] = s.nbytes()
        return t

    with saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values())


def _eager_gate(gate: Activation) -> Callable[[torch.Tensor], torch.Tensor]:
    """What a user writes in eager PyTorch: the native functional where torch has one, else the formula."""
    s = gate.spec
    if s.torch_functional is not None and gate.params == s.defaults:
        return s.torch_functional
    if s.name == "gelu":
        ap = gate.params["approximate"]
        return lambda x: F.gelu(x, approximate=ap)
    params = dict(gate.params)
    return lambda x: s.fn(x, **params)  # type: ignore[misc]


def _impls(act: Activation, device: str = "cpu",
           dtype: torch.dtype = torch.float32) -> dict[str, Callable[..., torch.Tensor]]:
    """name -> f(*inputs) for one op: actlab's paths on this device and the eager PyTorch one."""
    if act.is_gated:
        eg = _eager_gate(act.gate)
        impls: dict[str, Callable[..., torch.Tensor]] = {}
        if device == "cpu" and _cpu.available() and _cpu.gate_args(act.gate) is not None:
            impls["actlab cpp"] = lambda a, b: gated(act, a, b, backend="cpp")  # what "auto" takes on CPU
        elif device != "cpu" and dtype in TRITON_DTYPES and triton_args(act.gate) is not None:
            impls["actlab triton"] = lambda a, b: gated(act, a, b)  # "auto": Triton for CUDA float32/16/bf16
        impls["actlab torch"] = lambda a, b: gated(act, a, b, backend="torch")
        impls["eager"] = lambda a, b: eg(a) * b
        return impls
    return {"actlab": act, "eager": _eager_gate(act)}


class _Runs:
    """One implementation's three timed runs: forward without grad, backward alone, forward+backward."""

    def __init__(self, f: Callable[..., torch.Tensor], inputs: list[torch.Tensor], dy: torch.Tensor, device: str):
        self.f, self.inputs, self.dy, self.device = f, inputs, dy, device
        self.leaves = [t.detach().requires_grad_(True) for t in inputs]

    def fwd(self) -> torch.Tensor:
        return self.f(*self.leaves)

    def time(self, what: int) -> float:
        """Seconds of one run of: 0 forward (no grad), 1 backward (after an untimed forward), 2 both."""
        if what == 1:
            y = self.fwd()
            _sync(self.device)
        t0 = time.perf_counter()
        if what == 0:
            with torch.no_grad():
                self.f(*self.inputs)
        elif what == 1:
            torch.autograd.grad(y, self.leaves, self.dy)
        else:
            torch.autograd.grad(self.fwd(), self.leaves, self.dy)
        _sync(self.device)
        return time.perf_counter() - t0


def bench_op(act: Activation, numel: int, dtype: torch.dtype, device: str, *, reps: int = 10,
             compile: bool = False, copy_gbs: float | None = None) -> list[dict[str, Any]]:
    """Forward / backward / forward+backward of ``act`` on ``numel`` elements for each implementation."""
    gen = torch.Generator(device="cpu").manual_seed(0)
    n_in = 2 if act.is_gated else 1
    inputs = [torch.randn(numel, generator=gen).to(device=device, dtype=dtype) for _ in range(n_in)]
    dy = torch.randn(numel, generator=gen).to(device=device, dtype=dtype)
    item = inputs[0].element_size()
    passes = (3, 5) if act.is_gated else (2, 3)
    impls = _impls(act, device, dtype)
    if compile:
        # a fresh dynamo cache per op: the gated eager lambdas share one code object, so without a reset
        # every op is a recompilation of the last and past dynamo's recompile limit (8) the "compiled"
        # column would silently run eager
        torch._dynamo.reset()
        impls["torch.compile"] = torch.compile(impls["eager"], dynamic=False)
    if copy_gbs is None:
        copy_gbs = copy_bandwidth(numel, dtype, device, reps)
    # Round-robin: every repetition times each implementation once, in turn, so a change in the
    # machine's load during the run hits all of them alike (the ratios are what we report).
    runs = {name: _Runs(f, inputs, dy, device) for name, f in impls.items()}
    best = {name: [float("inf")] * 3 for name in impls}
    for _ in range(reps + 1):  # the first round is the warm-up
        for what in range(3):
            for name, r in runs.items():
                best[name][what] = min(best[name][what], r.time(what))
    rows = []
    for name, r in runs.items():
        t_f, t_b, t_fb = best[name]
        kept = saved_bytes(r.fwd)
        gbs = (passes[0] + passes[1]) * numel * item / t_fb / 1e9
        rows.append({"op": act.name, "impl": name, "numel": numel, "dtype": str(dtype).replace("torch.", ""),
                     "forward_ms": t_f * 1e3, "backward_ms": t_b * 1e3, "fwd_bwd_ms": t_fb * 1e3,
                     "fwd_bwd_GBps": gbs, "frac_of_copy": gbs / copy_gbs,
                     "saved_bytes_per_elem": kept / numel})
    base = {r["impl"]: r for r in rows}
    for r in rows:
        # speed ratios (> 1: faster than eager), side by side from the same round-robin run
        r["speedup_vs_eager"] = base["eager"]["fwd_bwd_ms"] / r["fwd_bwd_ms"]
        r["forward_vs_eager"] = base["eager"]["forward_ms"] / r["forward_ms"]
        r["backward_vs_eager"] = base["eager"]["backward_ms"] / r["backward_ms"]
        if "torch.compile" in base:
            r["speedup_vs_compile"] = base["torch.compile"]["fwd_bwd_ms"] / r["fwd_bwd_ms"]
            r["forward_vs_compile"] = base["torch.compile"]["forward_ms"] / r["forward_ms"]
    return rows


# -- GatedMLP step memory ---------------------------------------------------------------------------
def liger_silu_mul() -> tuple[Callable[..., torch.Tensor] | None, str]:
    """Liger-Kernel's fused SiLU-mul, or None with the reason it cannot be used here."""
    try:
        from liger_kernel.ops.swiglu import LigerSiLUMulFunction  # type: ignore[import-not-found]
    except Exception as e:  # noqa: BLE001 -- any import failure means "not available"
        return None, f"liger-kernel not importable ({type(e).__name__})"
    return LigerSiLUMulFunction.apply, "ok"


class _EagerMLP(torch.nn.Module):
    """The eager reference: Hugging Face Llama's ``down(act(gate(x)) * up(x))`` (or Liger's fused mul)."""

    def __init__(self, m: GatedMLP, mul: Callable[..., torch.Tensor] | None = None):
        super().__init__()
        self.m, self.mul = m, mul
        self.gate_fn = _eager_gate(m.activation.gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.m.gate_proj(x), self.m.up_proj(x)
        h = self.mul(a, b) if self.mul is not None else self.gate_fn(a) * b
        return self.m.down_proj(h)


class _TorchPathMLP(torch.nn.Module):
    """The same GatedMLP forced onto the torch-ops path (what ``auto`` gives without the C++ kernels)."""

    def __init__(self, m: GatedMLP):
        super().__init__()
        self.m = m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g, u, d = self.m.gate_proj, self.m.up_proj, self.m.down_proj
        return gated_mlp(x, g.weight, u.weight, d.weight, g.bias, u.bias, d.bias, activation=self.m.activation,
                         backend="torch")


def _cpu_peak(fn: Callable[[], Any]) -> int:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events: list[tuple[int, int]] = []
    stack = list(prof.profiler.kineto_results.experimental_event_tree())  # type: ignore[union-attr]
    while stack:
        node = stack.pop()
        if type(node.extra_fields).__name__ == "_ExtraFields_Allocation":
            events.append((node.start_time_ns, node.extra_fields.alloc_size))
        stack.extend(node.children)
    events.sort()
    live = peak = 0
    for _, size in events:
        live += size
        peak = max(peak, live)
    return peak


def mlp_step_memory(hidden: int, ffn: int, tokens: int, device: str, dtype: torch.dtype = torch.float32,
                    activation: str = "swiglu", reps: int = 5) -> list[dict[str, Any]]:
    """Peak memory above the inputs and weights, tensors kept for backward, and time (min of ``reps``)
    of one training step."""
    torch.manual_seed(0)
    m = GatedMLP(hidden, ffn, activation, device=device, dtype=dtype)
    x = torch.randn(tokens, hidden, device=device, dtype=dtype)
    act_bytes = tokens * ffn * x.element_size()
    impls: dict[str, Any] = {"eager": _EagerMLP(m), "actlab": m, "actlab torch": _TorchPathMLP(m)}
    liger, why = liger_silu_mul()
    rows: list[dict[str, Any]] = []
    if liger is not None and activation == "swiglu":
        impls["liger"] = _EagerMLP(m, liger)
    for name, mod in impls.items():
        def step() -> None:
            xx = x.detach().requires_grad_(True)
            mod(xx).sum().backward()
            m.zero_grad(set_to_none=True)

        try:
            step()  # warm-up (and the check that it runs here)
            counts: list[int] = []

            def pack(t: torch.Tensor) -> torch.Tensor:
                if t.numel() == tokens * ffn:
                    counts.append(t.untyped_storage().data_ptr())
                return t

            with saved_tensors_hooks(pack, lambda t: t):
                mod(x.detach().requires_grad_(True))
            if device == "cuda":
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
                base = torch.cuda.memory_allocated()
                step()
                peak = torch.cuda.max_memory_allocated() - base
            else:
                peak = _cpu_peak(step)
            step_s = time_fn(step, device, reps)
        except Exception as e:  # noqa: BLE001 -- a third-party kernel that cannot run here is reported
            rows.append({"impl": name, "available": False, "reason": f"{type(e).__name__}: {str(e)[:120]}"})
            continue
        rows.append({"impl": name, "available": True, "hidden": hidden, "ffn": ffn, "tokens": tokens,
                     "dtype": str(dtype).replace("torch.", ""), "peak_MiB": peak / 2**20, "step_ms": step_s * 1e3,
                     "ffn_tensors_kept": len(set(counts)), "peak_in_ffn_tensors": peak / act_bytes})
    if liger is None:
        rows.append({"impl": "liger", "available": False, "reason": why})
    eager = next(r for r in rows if r["impl"] == "eager")
    for r in rows:
        if r.get("available"):
            r["peak_vs_eager"] = r["peak_MiB"] / eager["peak_MiB"]
            r["speedup_vs_eager"] = eager["step_ms"] / r["step_ms"]
    return rows


def parse_ops(text: str | None, default: tuple[str, ...]) -> list[Activation]:
    names = default if not text else tuple(p for p in _split(text) if p)
    return [get(n) for n in names]


def _split(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        depth += (ch == "(") - (ch == ")")
        cur += ch
    parts.append(cur.strip())
    return parts
