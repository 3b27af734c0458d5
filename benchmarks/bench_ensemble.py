"""Vectorised ensembles vs one model at a time: the C01 MNIST-1D MLP sweep (13 activations x 5 seeds).

    python benchmarks/bench_ensemble.py                 # 1000 steps per model (the ratio does not depend on it)
    python benchmarks/bench_ensemble.py --steps 6000    # the full C01 schedule
    python benchmarks/bench_ensemble.py --vmap          # also torch.func.vmap(functional_call), per activation

All ways run in this process on the same data with the same seeds and ``--threads`` torch threads
(default 2: the target machine's two cores).  Prints wall times, the speed-up and how far the metrics
of the two ways are apart (float32: Adam amplifies rounding differences over many steps, so single
runs differ by a little while means agree; ``tests/engine`` holds the two to 1e-9 in float64).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
import torch.nn.functional as F

from actlab.data import load
from actlab.engine import Schedule, build, fit, fit_many
from actlab.engine.train import _indices
from actlab.models import mlp
from actlab.studies import DEFAULT_SET


def _vmap_sweep(units, data, sched):
    """Per activation: stack the seeds' weights and train them with vmap(functional_call)."""
    from torch.func import functional_call, stack_module_state, vmap

    accs = {}
    groups: dict[str, list[int]] = {}
    for i, (a, _) in enumerate(units):
        groups.setdefault(a, []).append(i)
    for a, idx in groups.items():
        models = [build(lambda: mlp(a, 40, 10), units[i][1]) for i in idx]
        params, buffers = stack_module_state(models)
        base = copy.deepcopy(models[0]).to("meta")

        def f(p, b, x):
            return functional_call(base, (p, b), (x,))

        batched = vmap(f)
        opt = torch.optim.Adam(params.values(), lr=sched.lr)
        bidx = torch.stack([_indices(units[i][1], len(data.x_train), sched) for i in idx], 1)
        for t in range(sched.steps):
            b = bidx[t]
            out = batched(params, buffers, data.x_train[b])
            per = F.cross_entropy(out.flatten(0, 1), data.y_train[b].flatten(), reduction="none").view(len(idx), -1).mean(1)
            opt.zero_grad(set_to_none=True)
            per.sum().backward()
            opt.step()
        with torch.no_grad():
            xt = data.x_test.unsqueeze(0).expand(len(idx), *data.x_test.shape)
            acc = (batched(params, buffers, xt).argmax(-1) == data.y_test).float().mean(1).tolist()
        for i, v in zip(idx, acc):
            accs[i] = v
    return [accs[i] for i in range(len(units))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vmap", action="store_true", help="also time torch.func.vmap(functional_call)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load("mnist1d")
    sched = Schedule(steps=args.steps, eval_every=max(1, args.steps // 4))
    units = [(a, s) for a in DEFAULT_SET for s in range(args.seeds)]
    print(f"C01 MNIST-1D MLP sweep: {len(DEFAULT_SET)} activations x {args.seeds} seeds = {len(units)} models, "
          f"{args.steps} steps, torch {torch.__version__}, {args.threads} thread(s)")

    t0 = time.perf_counter()
    single = [fit(build(lambda: mlp(a, 40, 10), s), s, data, sched) for a, s in units]
    t_single = time.perf_counter() - t0
    print(f"one model at a time : {t_single:8.2f} s")

    t0 = time.perf_counter()
    many = fit_many([build(lambda: mlp(a, 40, 10), s) for a, s in units], [s for _, s in units], data, sched)
    t_many = time.perf_counter() - t0
    print(f"vectorised ensemble : {t_many:8.2f} s   speed-up {t_single / t_many:5.2f}x")

    if args.vmap:
        t0 = time.perf_counter()
        vm = _vmap_sweep(units, data, sched)
        t_vmap = time.perf_counter() - t0
        print(f"vmap per activation : {t_vmap:8.2f} s   speed-up {t_single / t_vmap:5.2f}x")
        print(f"  vmap vs single |test acc| max diff {max(abs(a.metrics['test_acc'] - v) for a, v in zip(single, vm)):.4f}")

    da = [abs(a.metrics["test_acc"] - b.metrics["test_acc"]) for a, b in zip(single, many)]
    dl = [abs(a.metrics["final_train_loss"] - b.metrics["final_train_loss"]) for a, b in zip(single, many)]
    print(f"|test acc| difference per model: mean {statistics.mean(da):.4f}, max {max(da):.4f}; "
          f"|final train loss| max {max(dl):.4f}")
    print(f"mean test acc: single {statistics.mean(a.metrics['test_acc'] for a in single):.4f}, "
          f"ensemble {statistics.mean(b.metrics['test_acc'] for b in many):.4f}")


if __name__ == "__main__":
    main()
