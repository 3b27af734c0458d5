"""Pointwise activations against torch's native kernels (issue 15): writes
benchmarks/results/pointwise_<device>.{md,json}.

    .venv/bin/python benchmarks/bench_pointwise.py [--sizes 65536,1048576,16777216] [--reps 8] [--compile]

For every activation torch has a native kernel for (``torch_functional``), actlab's ``act(x)`` and
torch's function are timed side by side (round-robin, minimum of ``--reps``), forward alone (no
grad) and forward+backward, at each size; ``--compile`` adds ``torch.compile`` of each (the
conventions are then part of the compiled graph).  Ratios are speed ratios, > 1 is faster than torch.
Expected runtime on a 2-core CPU: ~3 minutes with the defaults (+1-2 min with --compile).
"""

from __future__ import annotations

import argparse
import os
import json
import pathlib
import sys

import torch

import actlab
from actlab.cli._common import jsonable
from actlab.kernels import bench as B
from actlab.zoo import all_specs


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--sizes", default=f"{1 << 16},{1 << 20},{1 << 24}")
    p.add_argument("--reps", type=int, default=8)
    p.add_argument("--compile", action="store_true")
    p.add_argument("--ops", default=None, help="comma-separated names (default: every spec with a torch function)")
    a = p.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    names = a.ops.split(",") if a.ops else [s.name for s in all_specs() if s.kind == "pointwise" and s.torch_functional]
    out = {"machine": B.machine(a.device), "sizes": sizes, "rows": []}
    for n in sizes:
        for name in names:
            print(f"{name} {n}", file=sys.stderr)
            rows = {r["impl"]: r for r in B.bench_op(actlab.get(name), n, torch.float32, a.device, reps=a.reps,
                                                       compile=a.compile)}
            r = rows["actlab"]
            out["rows"].append({"op": name, "numel": n, "forward_vs_torch": r["forward_vs_eager"],
                                "fwd_bwd_vs_torch": r["speedup_vs_eager"],
                                "forward_vs_compile": r.get("forward_vs_compile"),
                                "fwd_bwd_vs_compile": r.get("speedup_vs_compile"),
                                "torch_forward_ms": rows["eager"]["forward_ms"],
                                "torch_fwd_bwd_ms": rows["eager"]["fwd_bwd_ms"]})
    res = pathlib.Path(__file__).parent / "results"
    res.mkdir(exist_ok=True)
    (res / f"pointwise_{a.device}.json").write_text(json.dumps(jsonable(out), indent=2))
    m = out["machine"]
    out["loadavg_after"] = os.getloadavg()  # the machine is shared: how busy it was
    cmp = a.compile
    lines = [f"# Pointwise activations vs torch ({a.device}, float32)", "",
             f"Machine: {m.get('gpu', m['cpu'])}, {m['threads']} torch threads, torch {m['torch']}.  Speed ratios "
             f"(> 1: actlab faster), minimum of {a.reps} round-robin repetitions, measured side by side in one run "
             f"on a shared machine (load average {out['loadavg_after'][1]:.1f} over the last 5 min on "
             f"{os.cpu_count()} cores at the end).  actlab keeps its conventions (NaN in, NaN out; +-inf give the limits; "
             "backward = the closed-form derivative, exact in the tails), which torch's kernels do not.", "",
             "| op | elements | fwd vs torch | fwd+bwd vs torch |" + (" fwd vs compiled | fwd+bwd vs compiled |" if cmp else "")
             + " torch fwd ms | torch fwd+bwd ms |",
             "|---|---:|---:|---:|" + ("---:|---:|" if cmp else "") + "---:|---:|"]
    for r in out["rows"]:
        c = f" {r['forward_vs_compile']:.2f}x | {r['fwd_bwd_vs_compile']:.2f}x |" if cmp else ""
        lines.append(f"| {r['op']} | {r['numel']} | {r['forward_vs_torch']:.2f}x | {r['fwd_bwd_vs_torch']:.2f}x |{c} "
                     f"{r['torch_forward_ms']:.2f} | {r['torch_fwd_bwd_ms']:.2f} |")
    (res / f"pointwise_{a.device}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
