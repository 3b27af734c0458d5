"""Theory speed benchmark (a script, not a timed test).

Targets from issue 3: all moments of one activation in < 10 ms; a 50-point edge-of-chaos curve in < 2 s
on one core.  Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_theory.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from actlab.theory.moments import moments
from actlab.theory.propagation import edge_of_chaos
from actlab.zoo import DEFAULT_SET


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def main() -> None:
    torch.set_num_threads(1)
    print(f"torch threads: {torch.get_num_threads()}")
    print("all moments (E[phi], E[phi^2], E[phi'], E[phi'^2], E[t phi], E[t phi phi']) of one activation, N(0, 1):")
    worst = 0.0
    for name in DEFAULT_SET:
        moments(name)  # warm up
        best, med = best_of(lambda: moments(name), 20)
        worst = max(worst, best)
        print(f"  {name:28s} best {best * 1e3:7.2f} ms   median {med * 1e3:7.2f} ms")
    print(f"  slowest best time: {worst * 1e3:.2f} ms (target < 10 ms)")
    sbs = np.linspace(0.01, 2.0, 50)
    for name in ["tanh", "elu", "silu"]:
        edge_of_chaos(name, sbs)
        best, med = best_of(lambda: edge_of_chaos(name, sbs), 3)
        print(f"50-point edge-of-chaos curve, {name:5s}: best {best:.3f} s   median {med:.3f} s (target < 2 s)")


if __name__ == "__main__":
    main()
