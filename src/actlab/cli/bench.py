"""``actlab bench``: speed, bandwidth, saved bytes and GatedMLP step memory of the kernels."""

from __future__ import annotations

from typing import Optional

import typer

from ._common import console, fail, guard, print_json

_DEFAULT_OPS = ("relu", "silu", "gelu", "squareplus", "swiglu", "geglu", "reglu", "glu", "bilinear")
_DTYPES = ("float32", "float64", "float16", "bfloat16")


def register(app: typer.Typer) -> None:
    @app.command()
    def bench(
        device: str = typer.Option("cpu", help="cpu or cuda"),
        ops: Optional[str] = typer.Option(None, help="comma-separated activations and gated units"),
        numel: int = typer.Option(1 << 22, help="elements per op (gated: per output)"),
        dtype: str = typer.Option("float32", help="one of " + ", ".join(_DTYPES)),
        reps: int = typer.Option(10, help="timed repetitions (the minimum is reported)"),
        compile: bool = typer.Option(False, "--compile", help="also time torch.compile (slow to compile)"),
        mlp: bool = typer.Option(True, "--mlp/--no-mlp", help="measure a GatedMLP training step's peak memory"),
        tokens: int = typer.Option(4096, help="tokens in the GatedMLP step"),
        json: bool = typer.Option(False, "--json", help="machine-readable output"),
    ) -> None:
        """Time each op forward / backward / both against eager PyTorch, with GB/s and bytes kept."""
        import torch

        from ..kernels import bench as B

        if device not in ("cpu", "cuda"):
            fail(f"--device {device!r}: use cpu or cuda")
        if device == "cuda" and not torch.cuda.is_available():
            fail("--device cuda: no CUDA GPU is visible to torch here; use --device cpu")
        if dtype not in _DTYPES:
            fail(f"--dtype {dtype!r}: use one of {', '.join(_DTYPES)}")
        if numel < 1 or reps < 1 or tokens < 1:
            fail("--numel, --reps and --tokens must be positive")
        dt = getattr(torch, dtype)
        acts = guard(lambda: B.parse_ops(ops, _DEFAULT_OPS))
        out: dict = {"machine": B.machine(device), "numel": numel, "dtype": dtype}
        with console.status("measuring copy bandwidth", spinner="dots") as status:
            copy = B.copy_bandwidth(numel, dt, device, reps)
            out["copy_GBps"] = copy
            rows = []
            for i, act in enumerate(acts):
                status.update(f"[{i + 1}/{len(acts)}] {act.name}")
                rows += B.bench_op(act, numel, dt, device, reps=reps, compile=compile, copy_gbs=copy)
            out["ops"] = rows
            if mlp:
                shapes = [(1024, 2816)] if device == "cpu" else [(4096, 11008), (4096, 14336)]
                out["mlp"] = []
                for h, f in shapes:
                    status.update(f"GatedMLP step h={h} f={f}")
                    out["mlp"] += B.mlp_step_memory(h, f, tokens, device, dt)
        if json:
            print_json(out)
            return
        _print(out)


def _print(out: dict) -> None:
    from rich.table import Table

    m = out["machine"]
    console.print(f"[bold]{m.get('gpu', m['cpu'])}[/] · torch {m['torch']} · {m['threads']} threads · "
                  f"{out['numel']} elements {out['dtype']} · copy {out['copy_GBps']:.1f} GB/s")
    t = Table(title="ops (time: min over reps; ratios are speed, > 1 is faster than eager PyTorch)")
    compiled = any("speedup_vs_compile" in r for r in out["ops"])
    cols = ("op", "impl", "fwd ms", "bwd ms", "fwd+bwd ms", "GB/s", "fwd vs eager", "f+b vs eager",
            *(("vs compile",) if compiled else ()), "kept B/elem")
    for c in cols:
        t.add_column(c, justify="left" if c in ("op", "impl") else "right")
    for r in out["ops"]:
        vs_compile = (f"{r['speedup_vs_compile']:.2f}x",) if compiled else ()
        t.add_row(r["op"], r["impl"], f"{r['forward_ms']:.2f}", f"{r['backward_ms']:.2f}", f"{r['fwd_bwd_ms']:.2f}",
                  f"{r['fwd_bwd_GBps']:.1f}", f"{r['forward_vs_eager']:.2f}x",
                  f"{r['speedup_vs_eager']:.2f}x",
                  *vs_compile, f"{r['saved_bytes_per_elem']:.0f}")
    console.print(t)
    if out.get("mlp"):
        t = Table(title="GatedMLP training step")
        for c in ("impl", "shape", "peak MiB", "vs eager", "ffn tensors kept"):
            t.add_column(c)
        for r in out["mlp"]:
            if not r.get("available"):
                t.add_row(r["impl"], "", "not available on this machine", "", r.get("reason", ""))
                continue
            t.add_row(r["impl"], f"h={r['hidden']} f={r['ffn']} tokens={r['tokens']}", f"{r['peak_MiB']:.1f}",
                      f"{r['peak_vs_eager']:.2f}x", str(r["ffn_tensors_kept"]))
        console.print(t)
