"""Vectorised ensembles vs one model at a time: the C01 MNIST-1D MLP sweep (13 activations x 5 seeds).

    python benchmarks/bench_ensemble.py                 # 1000 steps per model (the ratio does not depend on it)
    python benchmarks/bench_ensemble.py --steps 6000    # the full C01 schedule
    python benchmarks/bench_ensemble.py --vmap          # also torch.func.vmap(functional_call), per activation

All ways run in this process on the same data with the same seeds and ``--threads`` torch threads
(default 1: the engine runs one thread per unit):

* plain per-model loop -- ``nn.Sequential`` forward, cross-entropy, Adam, one model after the other
  (the baseline the issue's ">= 4x" target is measured against; it evaluates nothing but the last step);
* one model at a time through :func:`actlab.engine.train.train` -- an ensemble of one;
* vectorised -- one ``train`` call for all units (one ensemble per stackable group);
* ``--compile`` -- the plain loop's step under ``torch.compile`` (forward, backward and Adam), per model;
* ``--compile-ensemble`` -- the vectorised step (the ensemble's forward, the loss, backward and Adam) as one
  ``torch.compile`` d function, timed after its first call (the compile time is printed beside it).  The
  engine does not use it: it compiles once per group composition (minutes on 2 cores) and inductor's
  fused kernels see the whole stacked tensor, so a unit's bits could depend on its group.

A unit's numbers do not depend on its group, so the two must agree bit for bit (checked and printed;
``tests/engine/test_train.py`` holds it too).  ``--vmap`` also times ``torch.func.vmap(functional_call)``
per activation (its numbers differ by float32 rounding, amplified by Adam).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
import torch.nn.functional as F

from actlab.data import load
from actlab.engine import Classification, Schedule, build, train
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


def _compiled_ensemble(units, task, sched):
    """(seconds for the steps after the first, seconds of compiling and the first step) of the compiled step."""
    from actlab.engine.ensemble import Ensemble

    net = Ensemble([build(lambda a=a: mlp(a, 40, 10), s) for a, s in units])
    opt = torch.optim.Adam(net.parameters(), lr=sched.lr)
    idx = torch.stack([_indices(s, task.n_train, sched) for _, s in units], 1)

    def step(x, y):
        per = task.loss(net(x), y)
        opt.zero_grad(set_to_none=True)
        per.sum().backward()
        opt.step()
        return per.detach()

    f = torch.compile(step)
    t0 = time.perf_counter()
    f(*task.batch(idx[0]))
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    for t in range(1, sched.steps):
        f(*task.batch(idx[t]))
    return (time.perf_counter() - t0) * sched.steps / max(1, sched.steps - 1), warm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--compile", action="store_true", help="also time the plain step under torch.compile")
    ap.add_argument("--vmap", action="store_true", help="also time torch.func.vmap(functional_call)")
    ap.add_argument("--compile-ensemble", action="store_true",
                    help="also time the vectorised step compiled as one function (forward, backward, Adam)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load("mnist1d")
    task = Classification(data)
    sched = Schedule(steps=args.steps, eval_every=max(1, args.steps // 4))
    units = [(a, s) for a in DEFAULT_SET for s in range(args.seeds)]
    print(f"C01 MNIST-1D MLP sweep: {len(DEFAULT_SET)} activations x {args.seeds} seeds = {len(units)} models, "
          f"{args.steps} steps, torch {torch.__version__}, {args.threads} thread(s)")

    def plain(a, s, step):
        model = build(lambda: mlp(a, 40, 10), s)
        opt = torch.optim.Adam(model.parameters(), lr=sched.lr)
        idx = _indices(s, len(data.x_train), sched)
        for t in range(sched.steps):
            step(model, opt, data.x_train[idx[t]], data.y_train[idx[t]])
        return model

    def eager_step(model, opt, x, y):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t0 = time.perf_counter()
    for a, s in units:
        plain(a, s, eager_step)
    t_plain = time.perf_counter() - t0
    print(f"plain per-model loop: {t_plain:8.2f} s")
    if args.compile:
        step = torch.compile(eager_step)
        t0 = time.perf_counter()
        for a, s in units:
            plain(a, s, step)
        t_comp = time.perf_counter() - t0
        print(f"compiled plain step : {t_comp:8.2f} s   vs plain {t_plain / t_comp:5.2f}x (includes compiling)")

    t0 = time.perf_counter()
    single = [train([build(lambda: mlp(a, 40, 10), s)], [s], task, sched)[0] for a, s in units]
    t_single = time.perf_counter() - t0
    print(f"ensemble of one each: {t_single:8.2f} s   vs plain {t_plain / t_single:5.2f}x")

    t0 = time.perf_counter()
    many = train([build(lambda a=a: mlp(a, 40, 10), s) for a, s in units], [s for _, s in units], task, sched)
    t_many = time.perf_counter() - t0
    print(f"vectorised ensemble : {t_many:8.2f} s   vs plain {t_plain / t_many:5.2f}x, vs ensemble of one "
          f"{t_single / t_many:5.2f}x (includes validation every {sched.eval_every} steps)")

    if args.compile_ensemble:
        t_ce, t_warm = _compiled_ensemble(units, task, sched)
        print(f"compiled vectorised step: {t_ce:8.2f} s   vs plain {t_plain / t_ce:5.2f}x (no validation; compiling and "
              f"the first step took {t_warm:.0f} s more)")

    if args.vmap:
        t0 = time.perf_counter()
        vm = _vmap_sweep(units, data, sched)
        t_vmap = time.perf_counter() - t0
        print(f"vmap per activation : {t_vmap:8.2f} s   speed-up {t_single / t_vmap:5.2f}x")
        print(f"  vmap vs single |test acc| max diff {max(abs(a.metrics['test_acc'] - v) for a, v in zip(single, vm)):.4f}")

    same = sum((a.status, a.metrics, a.curves) == (b.status, b.metrics, b.curves) for a, b in zip(single, many))
    print(f"bit-identical units (one at a time vs vectorised): {same} of {len(units)}")
    print(f"mean test acc: {statistics.mean(a.metrics['test_acc'] for a in single if 'test_acc' in a.metrics):.4f}")
    if same != len(units):
        raise SystemExit("a unit's numbers depend on its group: see tests/engine/test_train.py")


if __name__ == "__main__":
    main()
