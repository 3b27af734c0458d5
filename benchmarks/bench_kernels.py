"""Kernels benchmark (issue 7): writes benchmarks/results/kernels_<device>.{md,json}.

    .venv/bin/python benchmarks/bench_kernels.py [--device cpu|cuda] [--numel N] [--compile]

Expected runtime on a 2-core CPU: about 4 minutes with the defaults (plus ~1 min the first time, to
build the C++ kernels; add --compile for the torch.compile column: +20 s of compilation per op).
Gated units are timed three ways in the same run: the C++ kernels (``actlab cpp``, what ``auto`` picks
on CPU), the cache-blocked torch path (``actlab torch``, the fallback) and eager ``gate(a) * b``.
Every time is the minimum of ``--reps`` runs (the machine is shared and noisy: the minimum is the run
least disturbed by other jobs), each repetition running every implementation once in turn; every ratio
is measured side by side in this run.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import torch

from actlab.cli._common import jsonable
from actlab.kernels import bench as B

OPS = ("relu", "silu", "gelu", "squareplus", "swiglu", "geglu", "geglu(approximate='tanh')", "reglu", "glu", "bilinear")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--numel", type=int, default=1 << 22)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--tokens", type=int, default=4096)
    p.add_argument("--compile", action="store_true")
    a = p.parse_args()
    dtypes = [torch.float32] + ([torch.bfloat16] if a.device == "cuda" else [])
    out = {"machine": B.machine(a.device), "numel": a.numel, "ops": [], "mlp": []}
    for dt in dtypes:
        copy = B.copy_bandwidth(a.numel, dt, a.device, a.reps)
        out.setdefault("copy_GBps", {})[str(dt)] = copy
        for name in OPS:
            print(f"{name} {dt}", file=sys.stderr)
            out["ops"] += B.bench_op(B.get(name), a.numel, dt, a.device, reps=a.reps, compile=a.compile, copy_gbs=copy)
    shapes = [(1024, 2816)] if a.device == "cpu" else [(4096, 11008), (4096, 14336)]
    for h, f in shapes:
        out["mlp"] += B.mlp_step_memory(h, f, a.tokens, a.device, reps=a.reps)
    res = pathlib.Path(__file__).parent / "results"
    res.mkdir(exist_ok=True)
    (res / f"kernels_{a.device}.json").write_text(json.dumps(jsonable(out), indent=2))
    m = out["machine"]
    lines = [f"# Kernels benchmark ({a.device})", "",
             f"Machine: {m.get('gpu', m['cpu'])}, {m['threads']} torch threads, torch {m['torch']}, "
             f"python {m['python']}.  Elements per op: {a.numel}.  Copy bandwidth: "
             + ", ".join(f"{k}: {v:.1f} GB/s" for k, v in out["copy_GBps"].items()) + ".",
             f"Times are the minimum of {a.reps} repetitions after a warm-up (a shared, noisy machine: the minimum "
             "is the least disturbed run), taken round-robin across implementations; ratios are measured side by "
             "side in this run.", "",
             "| op | dtype | impl | fwd ms | bwd ms | fwd+bwd ms | GB/s (min bytes) | of copy | vs eager | vs compile "
             "| kept B/elem |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in out["ops"]:
        vs_compile = f"{r['speedup_vs_compile']:.2f}x" if "speedup_vs_compile" in r else "not run"
        lines.append(f"| {r['op']} | {r['dtype']} | {r['impl']} | {r['forward_ms']:.2f} | {r['backward_ms']:.2f} | "
                     f"{r['fwd_bwd_ms']:.2f} | {r['fwd_bwd_GBps']:.1f} | {r['frac_of_copy']:.0%} | "
                     f"{r['speedup_vs_eager']:.2f}x | {vs_compile} | {r['saved_bytes_per_elem']:.0f} |")
    lines += ["", "GatedMLP training step (peak above inputs and weights; CPU: profiler allocator events; "
              "step time: min of the repetitions):", "",
              "| impl | shape | peak MiB | peak vs eager | ffn-sized tensors kept | step ms | speed vs eager |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for r in out["mlp"]:
        if r.get("available"):
            lines.append(f"| {r['impl']} | h={r['hidden']} f={r['ffn']} tokens={r['tokens']} | {r['peak_MiB']:.1f} | "
                         f"{r['peak_vs_eager']:.2f}x | {r['ffn_tensors_kept']} | {r['step_ms']:.1f} | "
                         f"{r['speedup_vs_eager']:.2f}x |")
        else:
            lines.append(f"| {r['impl']} | not available on this machine: {r['reason']} | | | | | |")
    (res / f"kernels_{a.device}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
